"""Write the weights files of the benchmark networks in examples/bench/.

The circular-convolution networks map their inputs into the Fourier domain and back with fixed
matrices. They are computed here with Nengo's own functions
(`nengo.networks.circularconvolution.transform_in` / `transform_out`, Nengo 3.2), so the .snn
networks use exactly the transforms `nengo.networks.CircularConvolution` builds:

- examples/bench/circular_convolution.npz (committed, small): nengo_benchmarks'
  CircularConvolution, D = 8: `tr_a`, `tr_b` (20 x 8), `tr_out` (8 x 20), and the semantic
  pointers `a`, `b` fed to the input buffers (random unit vectors, fixed seed, as spa.Input('A',
  'B') gives) with `ideal` = circconv(a, b).
- examples/bench/cconv128.npz (committed, ~140 kB): nengo_dl.benchmarks.cconv(128, 64), `tr_a`,
  `tr_b` (260 x 128), `tr_out` (128 x 260) and `ones` (its constant input b).

Usage: /work/venvs/nengodl/bin/python tools/bench/make_bench_weights.py [--only NAME]
(needs nengo 3.2 and numpy; tools/requirements-nengo.txt).
"""

import argparse
import os

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
BENCH = os.path.join(ROOT, "examples", "bench")

# name -> (dimensions, with semantic-pointer inputs)
FILES = {"circular_convolution": (8, True), "cconv128": (128, False)}


def unit_vector(rng, d):
    v = rng.randn(d)
    return v / np.linalg.norm(v)


def transforms(d):
    from nengo.networks.circularconvolution import transform_in, transform_out

    return {
        "tr_a": transform_in(d, "A", False),
        "tr_b": transform_in(d, "B", False),
        "tr_out": transform_out(d),
    }


def write(name):
    """Write examples/bench/NAME.npz and return its path."""
    from nengo.networks.circularconvolution import circconv

    d, pointers = FILES[name]
    arrays = transforms(d)
    if not pointers:
        arrays["ones"] = np.ones(d)
    else:
        rng = np.random.RandomState(0)
        a, b = unit_vector(rng, d), unit_vector(rng, d)
        arrays.update(a=a, b=b, ideal=circconv(a, b))
    path = os.path.join(BENCH, f"{name}.npz")
    np.savez_compressed(path, **arrays)
    return path


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--only", choices=sorted(FILES), help="write only this file")
    opts = ap.parse_args()
    for name in [opts.only] if opts.only else FILES:
        path = write(name)
        print(f"{os.path.relpath(path, ROOT)}: {os.path.getsize(path):,} bytes")


if __name__ == "__main__":
    main()
