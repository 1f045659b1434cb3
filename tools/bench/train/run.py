"""Seconds per training epoch, side by side on one machine in one run: snnc train, NengoDL 3.6
`Simulator.fit` and Keras `Model.fit` (TensorFlow CPU), on the autoencoder of NengoDL's "From
TensorFlow to NengoDL" tutorial (784-64-784 ReLU, RMSprop 1e-3, MSE, minibatch 50) over the
8,000 shipped training digits. Each tool trains `--epochs` epochs `--repeats` times; the table
gives the median epoch time (the first epoch of each repeat, which pays for graph building,
is reported apart). Writes tools/bench/train/results.{json,md}.

Usage: python tools/bench/train/run.py [--snnc target/release/snnc] [--repeats 3]
(run with the NengoDL venv of tools/requirements-nengo.txt)
"""

import argparse
import json
import os
import re
import statistics
import subprocess
import tempfile
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))


def snnc_epochs(snnc, epochs, threads):
    with tempfile.TemporaryDirectory() as d:
        out = subprocess.run(
            [snnc, "train", "examples/autoencoder/autoencoder.snn",
             "--data", "examples/mnist/train_8000_u8.npz", "--loss", "images=mse",
             "--epochs", str(epochs), "--batch-size", "50", "--optimizer", "rmsprop",
             "--learning-rate", "0.001", "--seed", "0", "--threads", str(threads),
             "-o", os.path.join(d, "ae.snn")],
            cwd=ROOT, capture_output=True, text=True, check=True).stdout
    return [float(m) for m in re.findall(r"\(([0-9.]+) s\)", out)]


def nengodl_epochs(epochs, data):
    import nengo
    import nengo_dl
    import tensorflow as tf
    with nengo.Network(seed=0) as net:
        a = nengo.Node(np.zeros(784))
        b = nengo.Ensemble(64, 1, neuron_type=nengo.RectifiedLinear(), gain=nengo.dists.Choice([1]), bias=nengo.dists.Choice([0]))
        c = nengo.Ensemble(784, 1, neuron_type=nengo.RectifiedLinear(), gain=nengo.dists.Choice([1]), bias=nengo.dists.Choice([0]))
        nengo.Connection(a, b.neurons, transform=nengo_dl.dists.Glorot(), synapse=None)
        nengo.Connection(b.neurons, c.neurons, transform=nengo_dl.dists.Glorot(), synapse=None)
        p = nengo.Probe(c.neurons)
    times = []
    with nengo_dl.Simulator(net, minibatch_size=50, progress_bar=False) as sim:
        sim.compile(optimizer=tf.optimizers.RMSprop(1e-3), loss=tf.losses.mse)
        for _ in range(epochs):
            t0 = time.perf_counter()
            sim.fit(data[:, None, :], data[:, None, :], epochs=1, verbose=0)
            times.append(time.perf_counter() - t0)
    return times


def keras_epochs(epochs, data):
    import tensorflow as tf
    inp = tf.keras.Input(shape=(784,))
    h = tf.keras.layers.Dense(64, activation=tf.nn.relu)(inp)
    out = tf.keras.layers.Dense(784, activation=tf.nn.relu)(h)
    model = tf.keras.Model(inp, out)
    model.compile(optimizer=tf.optimizers.RMSprop(1e-3), loss=tf.losses.mse)
    times = []
    for _ in range(epochs):
        t0 = time.perf_counter()
        model.fit(data, data, epochs=1, batch_size=50, verbose=0)
        times.append(time.perf_counter() - t0)
    return times


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--snnc", default=os.path.join(ROOT, "target", "release", "snnc"))
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    args = ap.parse_args()
    import tensorflow as tf
    data = np.load(os.path.join(ROOT, "examples", "mnist", "train_8000_u8.npz"))["images"]
    data = data.reshape((-1, 784)).astype(np.float32)
    runs = {"snnc": [], "nengodl": [], "keras": []}
    for _ in range(args.repeats):
        runs["snnc"].append(snnc_epochs(args.snnc, args.epochs, args.threads))
        runs["nengodl"].append(nengodl_epochs(args.epochs, data))
        runs["keras"].append(keras_epochs(args.epochs, data))
    rows = {}
    for tool, reps in runs.items():
        first = [r[0] for r in reps]
        later = [t for r in reps for t in r[1:]]
        rows[tool] = {"median_epoch_s": statistics.median(later), "median_first_epoch_s": statistics.median(first), "runs": reps}
    s = rows["snnc"]["median_epoch_s"]
    res = {
        "machine": f"{os.cpu_count()} cores; tensorflow {tf.__version__}",
        "threads": args.threads,
        "tools": rows,
        "speedup_vs_nengodl": rows["nengodl"]["median_epoch_s"] / s,
        "speedup_vs_keras": rows["keras"]["median_epoch_s"] / s,
    }
    here = os.path.dirname(os.path.abspath(__file__))
    with open(os.path.join(here, "results.json"), "w") as f:
        json.dump(res, f, indent=1)
        f.write("\n")
    md = ["| tool | seconds per epoch (median) | first epoch | snnc is |", "|---|---:|---:|---:|"]
    for tool in ["snnc", "nengodl", "keras"]:
        r = rows[tool]
        ratio = "" if tool == "snnc" else (
            f"{r['median_epoch_s'] / s:.1f}x faster" if r["median_epoch_s"] >= s
            else f"{s / r['median_epoch_s']:.1f}x slower")
        name = {"snnc": "snnc train", "nengodl": "NengoDL 3.6 fit", "keras": "Keras fit (TF CPU)"}[tool]
        md.append(f"| {name} | {r['median_epoch_s']:.2f} | {r['median_first_epoch_s']:.2f} | {ratio} |")
    with open(os.path.join(here, "results.md"), "w") as f:
        f.write("\n".join(md) + "\n")
    print("\n".join(md))


if __name__ == "__main__":
    main()
