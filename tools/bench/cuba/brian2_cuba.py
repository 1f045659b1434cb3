"""Time Brian2's own CUBA benchmark (examples/CUBA.py) on this machine, for the snnc comparison.

Runs the network of cuba.snn in Brian2 2.9 twice: the runtime (Cython) target and C++ standalone
(which generates, compiles and runs a C++ project; its compile time is part of what users wait
for). Prints and writes brian2_cuba.json: build / compile / run seconds and the mean firing rate.
Usage: python tools/bench/cuba/brian2_cuba.py   (venv: pip install brian2==2.9.0)
"""

import json
import os
import platform
import shutil
import sys
import tempfile
import time

import brian2 as b2
from brian2 import mV, ms, second

HERE = os.path.dirname(os.path.abspath(__file__))


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


def run_runtime():
    b2.prefs.codegen.target = "cython"
    b2.seed(0)
    t0 = time.perf_counter()
    net, s_mon, ns = cuba("runtime")
    t1 = time.perf_counter()
    net.run(0 * second, namespace=ns)  # code generation and Cython compilation (cached after the first time)
    t2 = time.perf_counter()
    net.run(1 * second, namespace=ns)
    t3 = time.perf_counter()
    n = s_mon.num_spikes
    return dict(target="runtime (cython)", build_s=t1 - t0, compile_s=t2 - t1, run_s=t3 - t2,
                mean_rate_hz=n / 4000 / 1.0)


def run_standalone():
    d = tempfile.mkdtemp(prefix="cuba_standalone_")
    b2.set_device("cpp_standalone", directory=d, build_on_run=False)
    b2.seed(0)
    t0 = time.perf_counter()
    net, s_mon, ns = cuba("cpp_standalone")
    net.run(1 * second, namespace=ns)
    t1 = time.perf_counter()
    b2.device.build(directory=d, compile=True, run=False)
    t2 = time.perf_counter()
    b2.device.run(directory=d)
    t3 = time.perf_counter()
    n = s_mon.num_spikes
    shutil.rmtree(d, ignore_errors=True)
    return dict(target="cpp_standalone", build_s=t1 - t0, compile_s=t2 - t1, run_s=t3 - t2,
                mean_rate_hz=n / 4000 / 1.0,
                total_s=t3 - t0)


def main():
    which = sys.argv[1] if len(sys.argv) > 1 else "both"
    res = {"brian2": b2.__version__, "python": platform.python_version(),
           "cpu_count": os.cpu_count(), "machine": platform.processor() or platform.machine(),
           "runs": []}
    if which in ("both", "runtime"):
        res["runs"].append(run_runtime())
    if which in ("both", "standalone"):
        res["runs"].append(run_standalone())
    print(json.dumps(res, indent=1))
    with open(os.path.join(HERE, f"brian2_cuba_{which}.json"), "w") as f:
        json.dump(res, f, indent=1)


if __name__ == "__main__":
    main()
