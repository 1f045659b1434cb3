"""Run every row of the keras-to-snn walkthrough with snnc and put it beside NengoDL's numbers.

Reads the rows NengoDL 3.6 ran (examples/mnist/nengodl_results.json, made by nengodl_table.py),
does the same with the `snnc` binary alone -- `snnc import` with the row's converter options,
then `snnc run --labels` on the same 400 images for the same number of steps -- and writes
examples/mnist/snnc_results.json plus a Markdown table (stdout) with both accuracies and times.
Usage: python tools/mnist/snnc_table.py [--snnc target/release/snnc] [--rows NAME,...]
Needs only the Python standard library (no NumPy, no TensorFlow).
"""

import argparse
import json
import os
import re
import subprocess
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MNIST = os.path.join(ROOT, "examples", "mnist")
SWAP = {"nengo.RectifiedLinear()": None, "nengo.SpikingRectifiedLinear()": "relu=spiking_relu"}


def import_flags(conv):
    flags = []
    swap = SWAP[conv["swap_activations"]["tf.nn.relu"]]
    if swap:
        # the spiking neurons start from the voltages NengoDL drew (nengodl_table.py saved them),
        # so both simulators run the same network from the same state
        flags += ["--swap", swap, "--initial-voltages",
                  os.path.join(MNIST, "nengodl_initial_voltages.npz")]
    if conv["scale_firing_rates"] != 1:
        flags += ["--scale-firing-rates", str(conv["scale_firing_rates"])]
    if conv["synapse"] is not None:
        flags += ["--synapse", str(conv["synapse"])]
    return flags


def run_row(snnc, row, work):
    snn = os.path.join(work, row["name"] + ".snn")
    model = os.path.join(MNIST, row["model"])
    imp = [snnc, "import", model, "-o", snn] + import_flags(row["converter"])
    run = [snnc, "run", snn, "--input", os.path.join(MNIST, "test_images.npy"),
           "--steps", str(row["n_steps"]), "--labels", os.path.join(MNIST, "test_labels.npy"),
           "-o", os.path.join(work, row["name"] + ".npz")]
    t0 = time.perf_counter()
    subprocess.run(imp, check=True, capture_output=True, text=True)
    t1 = time.perf_counter()
    out = subprocess.run(run, check=True, capture_output=True, text=True).stdout
    t2 = time.perf_counter()
    m = re.search(r"\((\d+)/(\d+)\)", out)
    correct, total = int(m.group(1)), int(m.group(2))
    def shown(cmd):
        return " ".join(cmd[1:]).replace(ROOT + "/", "").replace(work + "/", "OUT/")

    return dict(name=row["name"], import_cmd=shown(imp), run_cmd=shown(run),
                accuracy=correct / total,
                import_seconds=round(t1 - t0, 3), run_seconds=round(t2 - t1, 3),
                image_steps_per_second=round(total * row["n_steps"] / (t2 - t1), 1))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--snnc", default=os.path.join(ROOT, "target", "release", "snnc"))
    ap.add_argument("--rows", default="")
    args = ap.parse_args()
    dl = json.load(open(os.path.join(MNIST, "nengodl_results.json")))
    rows = [r for r in dl["rows"] if not args.rows or r["name"] in args.rows.split(",")]
    results = []
    with tempfile.TemporaryDirectory() as work:  # commands are recorded with OUT/ for it
        for row in rows:
            res = run_row(args.snnc, row, work)
            res["nengodl_accuracy"] = row["accuracy"]
            res["nengodl_seconds"] = row["wall_seconds"]
            results.append(res)
            print(json.dumps(res), flush=True)
    out = dict(description="snnc runs of the walkthrough rows (tools/mnist/snnc_table.py)",
               backend="interp", rows=results)
    with open(os.path.join(MNIST, "snnc_results.json"), "w") as f:
        json.dump(out, f, indent=1)
    print("| row | steps | NengoDL 3.6 | snnc | NengoDL s | snnc s |")
    print("|---|---|---|---|---|---|")
    for r, row in zip(results, rows):
        print(f"| {r['name']} | {row['n_steps']} | {100 * r['nengodl_accuracy']:.2f} % | "
              f"{100 * r['accuracy']:.2f} % | {r['nengodl_seconds']:.1f} | "
              f"{r['import_seconds'] + r['run_seconds']:.1f} |")


if __name__ == "__main__":
    main()
