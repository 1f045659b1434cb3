"""Time Brian2's own CUBA benchmark (examples/CUBA.py) on this machine, for the snnc comparison.

Runs the network of cuba.snn in Brian2 2.9, in the runtime (Cython) target or C++ standalone
(which generates, compiles and runs a C++ project; its compile time is part of what users wait
for), and prints one JSON object: build / compile / run seconds and the mean firing rate.

- standalone: `build_s` (network construction and code generation), `compile_s` (make),
  `total_s` (from the start of the construction to the end of the first run of the binary:
  what a user waits for), `run_s` (each run of the binary, process included) and `sim_s` (the
  simulation loop alone, as the binary measures it: Brian2's `device._last_run_time`), for
  `--repeat` runs of the same compiled binary.
- runtime: `build_s`, `compile_s` (code generation and Cython compilation, cached by Cython
  after the first time), `run_s` (each `net.run(1 s)` from the same stored initial state).

Usage: python tools/bench/cuba/brian2_cuba.py [standalone|runtime|both] [--repeat 3] [--out F]
(venv: pip install -r tools/bench/cuba/requirements-brian2.txt). tools/bench/run.py calls it
with /work/venvs/brian2/bin/python (its --brian2-python option).
"""

import argparse
import json
import os
import platform
import shutil
import tempfile
import time

import brian2 as b2
from brian2 import mV, ms, second


def cuba(device):
    """The network of examples/CUBA.py, as an explicit Network (and its spike monitor)."""
    b2.start_scope()
    b2.defaultclock.dt = 0.1 * ms
    taum, taue, taui = 20 * ms, 5 * ms, 10 * ms
    Vt, Vr, El = -50 * mV, -60 * mV, -49 * mV
    eqs = """
    dv/dt  = (ge+gi-(v-El))/taum : volt (unless refractory)
    dge/dt = -ge/taue : volt
    dgi/dt = -gi/taui : volt
    """
    P = b2.NeuronGroup(4000, eqs, threshold="v>Vt", reset="v = Vr", refractory=5 * ms,
                       method="exact")
    P.v = "Vr + rand() * (Vt - Vr)"
    we = (60 * 0.27 / 10) * mV
    wi = (-20 * 4.5 / 10) * mV
    Ce = b2.Synapses(P, P, on_pre="ge += we")
    Ci = b2.Synapses(P, P, on_pre="gi += wi")
    Ce.connect("i<3200", p=0.02)
    Ci.connect("i>=3200", p=0.02)
    s_mon = b2.SpikeMonitor(P)
    ns = dict(taum=taum, taue=taue, taui=taui, Vt=Vt, Vr=Vr, El=El, we=we, wi=wi)
    return b2.Network(P, Ce, Ci, s_mon), s_mon, ns


def run_runtime(repeat):
    b2.prefs.codegen.target = "cython"
    b2.seed(0)
    t0 = time.perf_counter()
    net, s_mon, ns = cuba("runtime")
    t1 = time.perf_counter()
    net.run(0 * second, namespace=ns)  # code generation and Cython compilation (cached after the first time)
    t2 = time.perf_counter()
    net.store()
    runs, rates = [], []
    for _ in range(repeat):
        net.restore()
        n0 = s_mon.num_spikes
        t3 = time.perf_counter()
        net.run(1 * second, namespace=ns)
        runs.append(time.perf_counter() - t3)
        rates.append((s_mon.num_spikes - n0) / 4000 / 1.0)
    return dict(target="runtime (cython)", build_s=t1 - t0, compile_s=t2 - t1, run_s=runs,
                mean_rate_hz=rates[0], steps=10000, dt=1e-4, neurons=4000)


def run_standalone(repeat):
    d = tempfile.mkdtemp(prefix="cuba_standalone_")
    b2.set_device("cpp_standalone", directory=d, build_on_run=False)
    b2.seed(0)
    t0 = time.perf_counter()
    net, s_mon, ns = cuba("cpp_standalone")
    net.run(1 * second, namespace=ns)
    t1 = time.perf_counter()
    b2.device.build(directory=d, compile=True, run=False)
    t2 = time.perf_counter()
    runs, sims = [], []
    for _ in range(repeat):
        t3 = time.perf_counter()
        b2.device.run(directory=d)
        runs.append(time.perf_counter() - t3)
        sims.append(b2.device._last_run_time)
        if len(runs) == 1:
            total = time.perf_counter() - t0
            n = s_mon.num_spikes
    shutil.rmtree(d, ignore_errors=True)
    return dict(target="cpp_standalone", build_s=t1 - t0, compile_s=t2 - t1, run_s=runs,
                sim_s=sims, total_s=total, mean_rate_hz=n / 4000 / 1.0, steps=10000, dt=1e-4,
                neurons=4000)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("which", nargs="?", default="both", choices=["both", "standalone", "runtime"])
    ap.add_argument("--repeat", type=int, default=1, help="timed runs of the compiled network")
    ap.add_argument("--out", help="also write the JSON to this file")
    opts = ap.parse_args()
    res = {"brian2": b2.__version__, "python": platform.python_version(),
           "cpu_count": os.cpu_count(), "machine": platform.processor() or platform.machine(),
           "runs": []}
    if opts.which in ("both", "runtime"):
        res["runs"].append(run_runtime(opts.repeat))
    if opts.which in ("both", "standalone"):
        res["runs"].append(run_standalone(opts.repeat))
    print(json.dumps(res, indent=1))
    if opts.out:
        with open(opts.out, "w") as f:
            json.dump(res, f, indent=1)


if __name__ == "__main__":
    main()
