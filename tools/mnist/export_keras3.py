#!/usr/bin/env python3
"""Rebuild a trained Keras 2 model of tools/mnist/train.py in Keras 3 and save it as `.keras`.

Run by train.py with the Keras 3 env (/work/venvs/keras3):
    /work/venvs/keras3/bin/python tools/mnist/export_keras3.py NAME
Reads examples/mnist/NAME_weights.npz (weights by "layer/index", written by train.py) and
NAME_k2_logits.npy (the Keras 2 model's logits on the 2,000 test images), builds the same
architecture with Keras 3, loads the weights, saves NAME.keras, reloads it and checks that its
predictions equal the Keras 2 ones (identical argmax, logits within float32 rounding).
"""

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(os.path.dirname(os.path.dirname(HERE)), "examples", "mnist")


def build_model():
    """Same graph and layer names as train.py's build_model (Keras 3 spelling)."""
    inp = keras.Input(shape=(28, 28, 1), name="image")
    conv0 = keras.layers.Conv2D(filters=32, kernel_size=3, activation="relu", name="conv0")(inp)
    conv1 = keras.layers.Conv2D(filters=64, kernel_size=3, strides=2, activation="relu", name="conv1")(conv0)
    flatten = keras.layers.Flatten(name="flatten")(conv1)
    dense = keras.layers.Dense(units=10, name="dense")(flatten)
    return keras.Model(inputs=inp, outputs=dense, name="keras_to_snn")


def main():
    name = sys.argv[1]
    weights = np.load(os.path.join(OUT, name + "_weights.npz"))
    k2_logits = np.load(os.path.join(OUT, name + "_k2_logits.npy"))
    model = build_model()
    used = 0
    for layer in model.layers:
        n = len(layer.get_weights())
        if n:
            layer.set_weights([weights[f"{layer.name}/{i}"] for i in range(n)])
            used += n
    assert used == len(weights.files), (used, weights.files)
    path = os.path.join(OUT, name + ".keras")
    model.save(path)
    reloaded = keras.models.load_model(path, compile=False)

    te = np.load(os.path.join(OUT, "test_2000_u8.npz"))
    x = te["images"].astype(np.float32)[..., None]
    y = te["labels"]
    logits = reloaded.predict(x, batch_size=500, verbose=0)
    same_argmax = np.array_equal(np.argmax(logits, -1), np.argmax(k2_logits, -1))
    diff = float(np.abs(logits - k2_logits).max())
    scale = float(np.abs(k2_logits).max())
    acc = float((np.argmax(logits, -1) == y).mean())
    print(f"{name}.keras (Keras {keras.__version__}): accuracy {acc:.4f}; argmax identical to Keras 2: "
          f"{same_argmax}; max |logit diff| {diff:.3g} (max |logit| {scale:.3g})")
    if not same_argmax or diff > 1e-4 * max(scale, 1.0):
        sys.exit("Keras 3 export disagrees with the Keras 2 model")


if __name__ == "__main__":
    main()
