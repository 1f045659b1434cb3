#!/usr/bin/env python
"""Measure how much the decoded conformance outputs depend on the decoder solver's rounding.

Re-runs cases with Nengo's Cholesky (LstsqL2) solve replaced by an LU solve of the same
regularised normal equations, and compares against the committed expected.npz. The largest
difference bounds what a correct snnc (with its own linear algebra) can be expected to differ
by, and justifies the `atol` of decoded checks in make_cases.py.

    /work/venvs/nengodl/bin/python tools/nengo_conformance/solver_sensitivity.py [CASE ...]
"""

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import make_cases as mc  # noqa: E402
from nengo.utils import least_squares_solvers as lss  # noqa: E402

DEFAULT = ["decoded_lif", "decoded_relu", "decoded_lif_rate", "decoded_transform",
           "recurrent_integrator", "batch3"]


def lu_solve(self, A, y, sigma, rng=None):
    """(A^T A + m sigma^2 I) X = A^T Y by LU, never the transposed form."""
    m, n = A.shape
    G = A.T @ A + m * sigma ** 2 * np.eye(n)
    return np.linalg.solve(G, A.T @ y), {"rmses": None}


def main(names):
    lss.Cholesky.__call__ = lu_solve
    worst = 0.0
    for name in names or DEFAULT:
        c = mc.CASES[name]()
        got = mc.simulate(c, mc.NENGO_SEED)
        exp = np.load(mc.OUT_DIR / name / "expected.npz")
        for ch in c.checks:
            p = ch["probe"]
            diff = np.abs(got[p] - exp[p])
            same_spikes = np.array_equal(got[p] != 0, exp[p] != 0)
            ok = np.allclose(got[p], exp[p], rtol=ch.get("rtol", 1e-9), atol=ch.get("atol", 0.0))
            worst = max(worst, float(diff.max()))
            print(f"{name}.{p} [{ch['kind']}]: max |diff| {diff.max():.3g}, "
                  f"same spike positions {same_spikes}, within the check's tolerance {ok}")
    print(f"largest absolute difference: {worst:.3g}")


if __name__ == "__main__":
    main(sys.argv[1:])
