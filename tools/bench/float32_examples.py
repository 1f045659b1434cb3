"""How far float32 runs drift from float64 over long runs of the spiking examples.

The conformance cases are short (at most 200 steps) and their float32 spike trains are identical
to Nengo's; this measures longer runs, with every neuron's spikes probed, to back the general
statements of docs/PRECISION.md. For each example: run `snnc run` in float32 and float64 with the
same seed, then compare spike trains (positions that differ, largest difference of a neuron's
spike count over the run and in any 200-step window) and the decoded outputs (largest difference
over the largest magnitude, RMS difference over RMS).

Usage: python tools/bench/float32_examples.py [--steps 5000] [--snnc PATH]   (numpy only)
"""

import argparse
import os
import subprocess
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

# example, extra probes of every neuron's spikes, input arrays
EXAMPLES = [
    ("communication_channel", ["a.neurons", "b.neurons"], {}),
    ("square", ["a.neurons", "b.neurons"],
     {"x": lambda: np.load(os.path.join(ROOT, "examples", "data", "square_x.npy"))}),
    ("integrator", ["integ.ens.neurons"], {}),
]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=5000)
    ap.add_argument("--snnc", default=None, help="snnc binary (default: cargo run --release)")
    opts = ap.parse_args()
    snnc = [opts.snnc] if opts.snnc else ["cargo", "run", "-q", "--release", "-p", "snnc", "--"]
    print(f"{'example':24} {'probe':18} {'result'}")
    with tempfile.TemporaryDirectory() as tmp:
        for name, spike_probes, inputs in EXAMPLES:
            with open(os.path.join(ROOT, "examples", f"{name}.snn")) as f:
                text = f.read()
            text += "".join(f"\nprobe s{i} = {p}" for i, p in enumerate(spike_probes)) + "\n"
            model = os.path.join(tmp, f"{name}.snn")
            with open(model, "w") as f:
                f.write(text)
            args = []
            for iname, make in inputs.items():
                path = os.path.join(tmp, f"{iname}.npy")
                np.save(path, make())
                args += ["--input", f"{iname}={path}"]
            out = {}
            for dtype in ["float32", "float64"]:
                path = os.path.join(tmp, f"{name}-{dtype}.npz")
                subprocess.run(snnc + ["run", model, "--steps", str(opts.steps), "--dtype", dtype,
                                       "-o", path] + args, check=True, cwd=ROOT)
                out[dtype] = np.load(path)
            for key in out["float64"].files:
                a = out["float32"][key].astype(np.float64)
                b = out["float64"][key]
                if key.startswith("s") and key[1:].isdigit():
                    unit = np.abs(b[b != 0]).min()
                    x, y = np.round(a / unit), np.round(b / unit)
                    steps = x.shape[1]
                    win = max(abs(x[:, w:w + 200].sum(1) - y[:, w:w + 200].sum(1)).max()
                              for w in range(0, steps, 200))
                    print(f"{name:24} {spike_probes[int(key[1:])]:18} {int(y.sum())} spikes of "
                          f"{y.shape[0] * y.shape[2]} neurons: {int((x != y).sum())} positions "
                          f"differ, count diff per neuron {int(abs(x.sum(1) - y.sum(1)).max())} "
                          f"over the run, {int(win)} per 200 steps")
                elif np.unique(b).size > 2:
                    scale = np.abs(b).max()
                    rms = np.sqrt(np.mean((a - b) ** 2) / np.mean(b ** 2))
                    print(f"{name:24} {key:18} max|d|/max {np.abs(a - b).max() / scale:.2e}, "
                          f"rms(d)/rms {rms:.2e}")


if __name__ == "__main__":
    sys.exit(main())
