"""How much a keras.applications model (as applications.py saved it: weights=None, random
BatchNormalization statistics) amplifies a rounding-sized change, in Keras's own float64:
the largest change of the prediction, relative to its largest value, when the input image is
multiplied by (1 + 2^-52) — one unit in the last place. When that is as large as the
snnc-vs-Keras difference, the difference is what any change of summation order gives, not a
semantic one.

Usage: /work/venvs/nengodl/bin/python tools/keras_zoo/conditioning.py NAME... [--work /tmp/snnc-apps]
"""

import argparse
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "-1")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from applications import SIZE, build, patch_float64  # noqa: E402


def main():
    p = argparse.ArgumentParser()
    p.add_argument("names", nargs="+")
    p.add_argument("--work", default="/tmp/snnc-apps")
    a = p.parse_args()
    sys.setrecursionlimit(20000)  # the deepest ResNetRS models
    patch_float64()
    print("| model | f64: input × (1 + 2^-52) | f64 vs f32 (Keras) |")
    print("|---|---:|---:|")
    for name in a.names:
        base = os.path.join(a.work, name)
        size = SIZE.get(name, 32)
        tf.keras.backend.set_floatx("float32")
        weights = tf.keras.models.load_model(base + ".h5", compile=False).get_weights()
        m64 = build(name, size, "float64")
        m64.set_weights(weights)
        x = np.load(base + "_in.npy").astype(np.float64)
        y = np.asarray(m64(x, training=False))
        y2 = np.asarray(m64(x * (1 + 2.0**-52), training=False))
        scale = np.abs(y).max()
        y32 = np.load(base + "_f32.npy")
        print(f"| {name} | {np.abs(y2 - y).max() / scale:.1e} | {np.abs(y32 - y).max() / scale:.1e} |",
              flush=True)
        tf.keras.backend.set_floatx("float32")


if __name__ == "__main__":
    main()
