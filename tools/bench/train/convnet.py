"""Seconds per training epoch on the keras-to-snn convnet with the firing-rate regulariser
(examples/convnet/convnet.snn), side by side on one machine in one run: snnc train and NengoDL
3.6 `Simulator.fit` on the notebook's network converted by `nengo_dl.Converter` (conv0 3x3x32
ReLU, conv1 3x3x64 stride 2 ReLU, dense 10; sparse crossentropy on the logits plus
0.001 x MSE of the conv layers' rates from 250 Hz; RMSprop 1e-3, minibatch 200) over the 8,000
shipped training digits; Keras `fit` on the same model (three outputs, tools/mnist/train.py's
regularised training) for reference. Each tool trains `--epochs` epochs `--repeats` times; the
table gives the median epoch time after the first epoch of each repeat (reported apart).
Writes tools/bench/train/convnet_results.{json,md}.

Usage: /work/venvs/nengodl/bin/python tools/bench/train/convnet.py [--snnc target/release/snnc]
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
BATCH, LR, TARGET, WEIGHT = 200, 1e-3, 250.0, 1e-3


def snnc_epochs(snnc, epochs, threads):
    with tempfile.TemporaryDirectory() as d:
        out = subprocess.run(
            [snnc, "train", "examples/convnet/convnet.snn",
             "--data", "examples/mnist/train_8000_u8.npz",
             "--array", "image=images", "--array", "dense=labels",
             "--loss", "dense=sparse_categorical_crossentropy",
             "--loss", f"conv0=l2({TARGET:g})*{WEIGHT:g}", "--loss", f"conv1=l2({TARGET:g})*{WEIGHT:g}",
             "--epochs", str(epochs), "--batch-size", str(BATCH), "--optimizer", "rmsprop",
             "--learning-rate", str(LR), "--seed", "0", "--threads", str(threads),
             "-o", os.path.join(d, "convnet.snn")],
            cwd=ROOT, capture_output=True, text=True, check=True).stdout
    return [float(m) for m in re.findall(r"\(([0-9.]+) s\)", out)]


def keras_model():
    import tensorflow as tf
    inp = tf.keras.Input(shape=(28, 28, 1), name="image")
    conv0 = tf.keras.layers.Conv2D(32, 3, activation=tf.nn.relu, name="conv0")(inp)
    conv1 = tf.keras.layers.Conv2D(64, 3, strides=2, activation=tf.nn.relu, name="conv1")(conv0)
    flat = tf.keras.layers.Flatten(name="flatten")(conv1)
    dense = tf.keras.layers.Dense(10, name="dense")(flat)
    return tf.keras.Model(inp, dense), inp, conv0, conv1, dense


def nengodl_epochs(epochs, x, y):
    import nengo
    import nengo_dl
    import tensorflow as tf
    tf.keras.utils.set_random_seed(0)
    model, inp, conv0, conv1, dense = keras_model()
    converter = nengo_dl.Converter(model)
    with converter.net:
        p0 = nengo.Probe(converter.layers[conv0])
        p1 = nengo.Probe(converter.layers[conv1])
    out = converter.outputs[dense]
    n = x.shape[0]
    times = []
    with nengo_dl.Simulator(converter.net, minibatch_size=BATCH, progress_bar=False) as sim:
        sim.compile(
            optimizer=tf.optimizers.RMSprop(LR),
            loss={out: tf.losses.SparseCategoricalCrossentropy(from_logits=True),
                  p0: tf.losses.mse, p1: tf.losses.mse},
            loss_weights={out: 1.0, p0: WEIGHT, p1: WEIGHT},
        )
        data_in = {converter.inputs[inp]: x.reshape((n, 1, -1))}
        data_out = {
            out: y.reshape((n, 1, 1)),
            p0: np.full((n, 1, p0.size_in), TARGET, np.float32),
            p1: np.full((n, 1, p1.size_in), TARGET, np.float32),
        }
        for _ in range(epochs):
            t0 = time.perf_counter()
            sim.fit(data_in, data_out, epochs=1, verbose=0)
            times.append(time.perf_counter() - t0)
    return times


def keras_epochs(epochs, x, y):
    import tensorflow as tf
    tf.keras.utils.set_random_seed(0)
    _, inp, conv0, conv1, dense = keras_model()
    m = tf.keras.Model(inp, [dense, conv0, conv1])
    m.compile(optimizer=tf.optimizers.RMSprop(LR),
              loss=[tf.losses.SparseCategoricalCrossentropy(from_logits=True), tf.losses.mse, tf.losses.mse],
              loss_weights=[1.0, WEIGHT, WEIGHT])
    t = np.full((x.shape[0], 1, 1, 1), TARGET, np.float32)
    times = []
    for _ in range(epochs):
        t0 = time.perf_counter()
        m.fit(x, [y, t, t], epochs=1, batch_size=BATCH, verbose=0)
        times.append(time.perf_counter() - t0)
    return times


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--snnc", default=os.path.join(ROOT, "target", "release", "snnc"))
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    args = ap.parse_args()
    import tensorflow as tf
    d = np.load(os.path.join(ROOT, "examples", "mnist", "train_8000_u8.npz"))
    x = d["images"].astype(np.float32)[..., None]
    y = d["labels"].astype(np.int64)
    runs = {"snnc": [], "nengodl": [], "keras": []}
    for _ in range(args.repeats):
        runs["snnc"].append(snnc_epochs(args.snnc, args.epochs, args.threads))
        runs["nengodl"].append(nengodl_epochs(args.epochs, x, y))
        runs["keras"].append(keras_epochs(args.epochs, x, y))
    rows = {}
    for tool, reps in runs.items():
        first = [r[0] for r in reps]
        later = [t for r in reps for t in r[1:]] or first
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
    with open(os.path.join(here, "convnet_results.json"), "w") as f:
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
    with open(os.path.join(here, "convnet_results.md"), "w") as f:
        f.write("\n".join(md) + "\n")
    print("\n".join(md))


if __name__ == "__main__":
    main()
