"""Run every keras.applications model that Keras 2.12 builds at a small input through
`snnc import`, `snnc run` (compared with Keras), `snnc verify` and NengoDL 3.6's Converter,
and print a Markdown table.

Not part of CI (the models are large). Usage, from the repository root, after
`cargo build --release -p snnc`:

    /work/venvs/nengodl/bin/python tools/keras_zoo/applications.py [--only MobileNet ...] \
        [--no-nengodl] [--no-snnc] [--work /tmp/snnc-apps]

Two phases per model, both cached in --work (so a table can be rebuilt without Python's
half, or rerun after a fix with `--no-keras`):
  keras   weights=None, random BatchNormalization statistics (moving mean/variance, gamma,
          beta), the smallest input each application accepts (32x32; 75x75 for InceptionV3 and
          InceptionResNetV2, 71x71 for Xception); `NAME.h5`, one input image in [0, 255)
          (`NAME_in.npy`), Keras's prediction with the model rebuilt in float64 from the same
          weights (`NAME_f64.npy`) and in float32 (`NAME_f32.npy`); NengoDL's converter
          (`allow_fallback=True, inference_only=True`): `native`, `fallback: N` TensorNodes or
          its exception (`NAME_nengodl.txt`).
  snnc    `snnc import` (`native`, or the number of `keras_layer` host ops), one step of
          `snnc run --dtype float64` against Keras float64 (max |snnc - keras| / max |keras|),
          `snnc verify` (every layer against snnc's Keras-semantics evaluator).

`--calibrate-bn` (with its own `--work`) sets each BatchNormalization's moving statistics to
those of its input over 8 random images, as a trained network has them: the deepest networks,
which with random statistics amplify rounding enormously (tools/keras_zoo/conditioning.py),
then normalise their activations, so the comparison measures semantics rather than chaos.
"""

import argparse
import json
import os
import re
import subprocess
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "-1")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

SIZE = {"InceptionV3": 75, "InceptionResNetV2": 75, "Xception": 71}
APPS = sorted(n for n in dir(tf.keras.applications) if n[:1].isupper())
SNNC = os.environ.get("SNNC", "target/release/snnc")


def snnc(*args, timeout=3600):
    t = time.time()
    try:
        r = subprocess.run([SNNC, *args], capture_output=True, text=True, timeout=timeout)
        return r.returncode, r.stdout + r.stderr, time.time() - t
    except subprocess.TimeoutExpired:
        return 124, f"timed out after {timeout} s", time.time() - t


def patch_float64():
    """Keras 2's ConvNeXt LayerScale makes a float32 variable whatever floatx is."""
    from keras.applications import convnext

    def build(self, _):
        self.gamma = tf.Variable(
            self.init_values * tf.ones((self.projection_dim,), tf.keras.backend.floatx())
        )

    convnext.LayerScale.build = build


def randomise_bn(model, rng):
    for layer in model.layers:
        if isinstance(layer, tf.keras.Model):
            randomise_bn(layer, rng)
        elif isinstance(layer, tf.keras.layers.BatchNormalization):
            ws = []
            for w in layer.weights:
                n = w.name
                if "moving_variance" in n or "gamma" in n:
                    ws.append(rng.uniform(0.5, 1.5, w.shape))
                else:
                    ws.append(rng.uniform(-0.5, 0.5, w.shape))
            layer.set_weights([a.astype(np.float32) for a in ws])


def bn_layers(model):
    for layer in model.layers:
        if isinstance(layer, tf.keras.Model):
            yield from bn_layers(layer)
        elif isinstance(layer, tf.keras.layers.BatchNormalization):
            yield layer


def calibrate_bn(model, rng, size):
    """Moving statistics as a trained network has them: each BatchNormalization's mean and
    variance set to those of its input over a batch of 8 random images (one call in training
    mode with momentum 0); gamma and beta keep their random values. The network then normalises
    its activations layer by layer instead of letting them grow with depth."""
    layers = list(bn_layers(model))
    saved = [layer.momentum for layer in layers]
    for layer in layers:
        layer.momentum = 0.0
    x = rng.uniform(0, 255, (8, size, size, 3)).astype(np.float32)
    model(x, training=True)
    for layer, m in zip(layers, saved):
        layer.momentum = m


def build(name, size, floatx):
    tf.keras.backend.clear_session()
    tf.keras.backend.set_floatx(floatx)
    ctor = getattr(tf.keras.applications, name)
    return ctor(input_shape=(size, size, 3), weights=None, classes=10, classifier_activation=None)


def nengodl(model):
    try:
        import nengo_dl

        conv = nengo_dl.Converter(model, allow_fallback=True, inference_only=True)
        fb = sum(type(c).__name__ == "ConvertFallback" for c in conv._layer_converters.values())
        return "native" if fb == 0 else f"fallback: {fb}"
    except Exception as e:  # noqa: BLE001
        return f"{type(e).__name__}: {str(e).splitlines()[0][:70]}"


def keras_phase(name, work, with_nengodl, calibrated=False):
    size = SIZE.get(name, 32)
    base = os.path.join(work, name)
    if os.path.exists(base + "_f32.npy"):
        return
    rng = np.random.default_rng(sum(map(ord, name)))
    model = build(name, size, "float32")
    randomise_bn(model, rng)
    if calibrated:
        calibrate_bn(model, rng, size)
    weights = model.get_weights()
    model.save(base + ".h5", save_format="h5", include_optimizer=False)
    x = rng.uniform(0, 255, (1, size, size, 3)).astype(np.float32)
    np.save(base + "_in.npy", x)
    y32 = np.asarray(model(x, training=False))
    if with_nengodl:
        with open(base + "_nengodl.txt", "w") as f:
            f.write(nengodl(model))
    try:
        m64 = build(name, size, "float64")
        m64.set_weights(weights)
        np.save(base + "_f64.npy", np.asarray(m64(x.astype(np.float64), training=False)))
    except Exception as e:  # noqa: BLE001
        print(f"{name}: no float64 twin: {e}", file=sys.stderr)
    tf.keras.backend.set_floatx("float32")
    np.save(base + "_f32.npy", y32)


HOST = re.compile(r"^\s*node \S+: \[[^\]]*\] = ([a-z_0-9]+)\(\s*(?:class = \"(\w+)\")?(?:[^)]*?activation\\\"?: ?\\\"(\w+))?", re.M)


def host_ops(snn_path):
    """The host ops of an imported .snn by what they compute: `Multiply`, `swish`, `max_pool2d`."""
    with open(snn_path) as f:
        text = f.read()
    counts = {}
    for m in HOST.finditer(text):
        what = (m.group(2) == "Activation" and m.group(3)) or m.group(2) or m.group(1)
        counts[what] = counts.get(what, 0) + 1
    return counts


def import_summary(base):
    counts = host_ops(base + ".snn")
    if not counts:
        return "native"
    n = sum(counts.values())
    parts = ", ".join(f"{k} {v}" for k, v in sorted(counts.items(), key=lambda kv: -kv[1]))
    return f"host ops: {n} ({parts})"


def snnc_phase(name, work):
    base = os.path.join(work, name)
    row = {}
    code, out, t = snnc("import", base + ".h5", "-o", base + ".snn")
    row["import_s"] = round(t, 1)
    if code != 0:
        row["import"] = "fails: " + out.strip().splitlines()[-1][:90]
        return row
    row["import"] = import_summary(base)
    ref = base + "_f64.npy" if os.path.exists(base + "_f64.npy") else base + "_f32.npy"
    code, out, t = snnc(
        "run", base + ".snn", "--steps", "1", "--dtype", "float64", "--input", base + "_in.npy",
        "-o", base + "_snnc.npz",
    )
    row["run_s"] = round(t, 1)
    if code != 0:
        row["run"] = "fails: " + out.strip().splitlines()[-1][:90]
    else:
        with np.load(base + "_snnc.npz") as f:
            got = f[f.files[0]].reshape(-1)
        want = np.load(ref).reshape(-1)
        err = float(np.max(np.abs(got - want)) / max(np.max(np.abs(want)), 1e-30))
        row["run"] = f"{err:.1e}" + ("" if ref.endswith("f64.npy") else " (vs float32)")
    code, out, t = snnc("verify", base + ".h5")
    row["verify_s"] = round(t, 1)
    row["verify"] = "pass" if code == 0 else "fail: " + out.strip().splitlines()[-1][:80]
    return row


def short_nengodl(text):
    """`fallback: 52` -> `52 fallback layers`; an exception -> `cannot convert (its kind)`."""
    m = re.match(r"fallback: (\d+)", text)
    if m:
        return f"{m.group(1)} fallback layer" + ("" if m.group(1) == "1" else "s")
    if text == "native":
        return text
    m = re.match(r"(\w+): (TensorNode\.\w+)", text)
    return f"cannot convert (`{m.group(2) if m else text.split(':')[0]}`)"


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--only", nargs="*")
    p.add_argument("--skip", nargs="*", default=[])
    p.add_argument("--no-nengodl", action="store_true")
    p.add_argument("--no-keras", action="store_true")
    p.add_argument("--no-snnc", action="store_true")
    p.add_argument("--work", default="/tmp/snnc-apps")
    p.add_argument("--table", action="store_true", help="print the table of cached results")
    p.add_argument("--calibrate-bn", action="store_true",
                   help="BatchNormalization statistics calibrated on random images (use its own --work)")
    a = p.parse_args()
    os.makedirs(a.work, exist_ok=True)
    patch_float64()
    names = [n for n in (a.only or APPS) if n not in a.skip]
    rows = [
        "| model | input | snnc import | snnc vs Keras (float64) | snnc verify | NengoDL 3.6 |",
        "|---|---|---|---|---|---|",
    ]
    for name in names:
        size = SIZE.get(name, 32)
        base = os.path.join(a.work, name)
        if not a.no_keras and not a.table:
            try:
                keras_phase(name, a.work, not a.no_nengodl, a.calibrate_bn)
            except Exception as e:  # noqa: BLE001
                rows.append(f"| {name} | {size} | Keras cannot build it: {str(e)[:60]} | | | |")
                print(rows[-1], flush=True)
                continue
        if a.no_snnc:
            print(name, "saved", flush=True)
            continue
        if a.table or os.path.exists(base + "_snnc.json"):
            if not os.path.exists(base + "_snnc.json"):
                continue
            with open(base + "_snnc.json") as f:
                row = json.load(f)
            if os.path.exists(base + ".snn") and not row["import"].startswith("fails"):
                row["import"] = import_summary(base)
        elif not os.path.exists(base + "_f32.npy"):
            continue  # the Keras phase has not saved it (yet)
        else:
            row = snnc_phase(name, a.work)
            with open(base + "_snnc.json", "w") as f:
                json.dump(row, f, indent=1)
        ndl = ""
        if os.path.exists(base + "_nengodl.txt"):
            with open(base + "_nengodl.txt") as f:
                ndl = short_nengodl(f.read().strip())
        rows.append(
            f"| {name} | {size}x{size} | {row['import']} | {row.get('run', '')} | "
            f"{row.get('verify', '')} | {ndl} |"
        )
        print(rows[-1], flush=True)
    print("\n".join(rows))


if __name__ == "__main__":
    sys.exit(main())
