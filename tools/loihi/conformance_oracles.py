#!/usr/bin/env python
"""nengo-loihi 1.1 outputs for the conformance cases (tests/conformance) that map onto Loihi.

    /work/venvs/loihi/bin/python tools/loihi/conformance_oracles.py [CASE ...]

Each case's Nengo network (tools/nengo_conformance/make_cases.py, the same builder that made
the Nengo oracle) is run by `nengo_loihi.Simulator(target="sim")`; its probes are written to
`tests/loihi_conformance/<case>.npz` (float64, `(steps, *shape)`). For cases whose random
ensemble parameters are drawn (rmse checks: snnc's draws are not NumPy's), the file also holds
`rmse_<probe>`: nengo-loihi's RMSE against the case's ideal signal, the mean over
`RMSE_SEEDS` network seeds. tests in compiler/loihi/tests/conformance.rs compare snnc's
loihi backend with these: explicit cases bit for bit in spikes and voltages and to 1e-5 in
decoded values, rmse cases by their RMSE.
"""

import sys
import warnings
from pathlib import Path

import numpy as np
import nengo_loihi

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools" / "nengo_conformance"))
import make_cases as mc  # noqa: E402

OUT = ROOT / "tests" / "loihi_conformance"
# the conformance cases whose models map onto Loihi (ensembles, nodes, lowpass synapses) and
# that nengo-loihi runs: neuron_lif_* probe refractory_time and probe_options uses
# sample_every, which nengo-loihi 1.1 cannot; batch3 has three batch elements; the node- and
# synapse-only cases run wholly on the host (Nengo itself)
CASES = [
    "decoded_lif",
    "decoded_negative_gain",
    "decoded_transform",
    "recurrent_integrator",
    "rmse_channel",
    "rmse_oscillator",
    "rmse_sine",
    "rmse_square",
]
RMSE_SEEDS = 5


def run(c, seed):
    inp = {k: a[0] for k, (a, _) in c.inputs.items()}
    net, probes = c.build(inp, direct=False)
    net.seed = seed
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with nengo_loihi.Simulator(net, dt=c.dt, target="sim", progress_bar=False) as sim:
            sim.run_steps(c.steps)
    return {
        name: np.asarray(sim.data[p], np.float64).reshape((-1,) + tuple(shape))
        for name, (p, shape) in probes.items()
    }


def main():
    OUT.mkdir(exist_ok=True)
    for name in sys.argv[1:] or CASES:
        c = mc.CASES[name]()
        if c.batch != 1:
            print(f"skipped {name}: batch {c.batch}")
            continue
        try:
            out = run(c, mc.NENGO_SEED)
        except Exception as e:  # what nengo-loihi cannot run (e.g. a refractory_time probe)
            print(f"skipped {name}: nengo-loihi fails ({type(e).__name__}: {e})")
            continue
        rmse_checks = [k for k in c.checks if k["kind"] == "rmse"]
        if rmse_checks:
            ideal = np.load(ROOT / "tests" / "conformance" / name / "expected.npz")
            for chk in rmse_checks:
                p = chk["probe"]
                want = ideal[chk["target"]][0]
                errs = [mc.rmse(run(c, s)[p], want) for s in range(RMSE_SEEDS)]
                out["rmse_" + p] = np.float64(np.mean(errs))
                print(f"  {name} {p}: nengo-loihi rmse {np.mean(errs):.4f} (seeds {errs})")
        np.savez_compressed(OUT / f"{name}.npz", **out)
        print(f"wrote tests/loihi_conformance/{name}.npz: {sorted(out)}")


if __name__ == "__main__":
    main()
