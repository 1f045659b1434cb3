"""Benchmark snnc against its peers on the same networks, on this machine, in one run.

Every row of the table is a *network*: one `.snn` file plus, for each peer family, a Python
builder of the same network (same neuron types and counts, same connections, synapses and probes;
random parameters may differ). Every column is a *runner*: something that takes a network and
returns its build/compile time and its simulation speed in steps per second (steps of the whole
network per wall-clock second, probes recorded, process start-up excluded).

Usage (from the repository root; venv with nengo 3.2, tools/requirements-nengo.txt):

    /work/venvs/nengodl/bin/python tools/bench/run.py [--steps 10000] [--repeat 3]
        [--networks a,b] [--runners nengo,snnc_interp] [--snnc PATH]

Writes tools/bench/results.json (everything measured, plus machine information) and
tools/bench/results.md (the tables pasted into the README's "Performance" section).

Extending it (other helpers):
- a row: add a `Network` to NETWORKS with its `.snn` path, inputs, and a builder per peer family
  (`builders["nengo"]` returns a `nengo.Network`; add `builders["brian2"]` etc. for other peers).
- a column: add a `Runner` to RUNNERS; its function gets the network and the options and returns
  a dict with at least `steps_per_s` (and `build_s`), or None when it has no builder for the
  network (shown as "—"). Ratios: add a pair to RATIOS.
"""

import argparse
import dataclasses
import datetime
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from typing import Callable, Dict, List, Optional

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
DT = 0.001


# ----------------------------------------------------------------------------------------------
# Networks (rows)


@dataclasses.dataclass
class Network:
    """One benchmark network: the .snn file, its inputs, and the same network for each peer."""

    name: str
    snn: str  # path relative to the repository root
    description: str
    # input name -> array of shape (1, *shape) (held for every step), batch 1
    inputs: Dict[str, Callable[[], np.ndarray]] = dataclasses.field(default_factory=dict)
    # peer family ("nengo", later "brian2", ...) -> builder of the same network
    builders: Dict[str, Callable[[], object]] = dataclasses.field(default_factory=dict)
    # steps per timed run (None: --steps)
    steps: Optional[int] = None


def nengo_communication_channel():
    """examples/communication_channel.snn."""
    import nengo

    with nengo.Network(seed=1) as net:
        stim = nengo.Node(lambda t: np.sin(2 * np.pi * t))
        a = nengo.Ensemble(100, 1)
        b = nengo.Ensemble(100, 1)
        nengo.Connection(stim, a)
        nengo.Connection(a, b, synapse=0.01)
        nengo.Probe(stim)
        nengo.Probe(b, synapse=0.01)
        nengo.Probe(a.neurons[0:10])
    return net


def square_input():
    return np.full((1, 1), 0.5)


def nengo_square():
    """examples/square.snn (input held at 0.5, batch 1)."""
    import nengo

    with nengo.Network(seed=1) as net:
        x = nengo.Node(square_input()[0])
        a = nengo.Ensemble(200, 1)
        b = nengo.Ensemble(200, 1)
        out = nengo.Node(size_in=1)
        nengo.Connection(x, a, synapse=None)
        nengo.Connection(a, b, function=lambda v: v * v)
        nengo.Connection(b, out, synapse=None)
        nengo.Probe(out, synapse=0.01)
    return net


def nengo_integrator():
    """examples/integrator.snn: stdlib integrator (n = 200, tau = 100 ms), max rates U(100, 200)."""
    import nengo

    tau = 0.1
    with nengo.Network(seed=1) as net:
        step = nengo.Node(lambda t: 1.0 if t < 0.5 else 0.0)
        inp = nengo.Node(size_in=1)
        ens = nengo.Ensemble(200, 1, max_rates=nengo.dists.Uniform(100, 200))
        nengo.Connection(ens, ens, synapse=tau)
        nengo.Connection(inp, ens, transform=tau, synapse=None)
        nengo.Connection(step, inp, synapse=None)
        nengo.Probe(ens, synapse=0.01)
    return net


def conv_image():
    return np.load(os.path.join(ROOT, "examples", "data", "image.npy"))[:1]


def nengo_conv_layers():
    """examples/conv_layers.snn: conv2d -> relu layer -> avg_pool2d -> spiking_relu layer."""
    import nengo

    rng = np.random.RandomState(0)
    with nengo.Network(seed=1) as net:
        image = nengo.Node(conv_image()[0].ravel())
        conv = nengo.Ensemble(
            6 * 6 * 4, 1, neuron_type=nengo.RectifiedLinear(), gain=np.ones(144),
            bias=np.full(144, 0.1))
        pooled = nengo.Node(size_in=3 * 3 * 4)
        out = nengo.Ensemble(
            2, 1, neuron_type=nengo.SpikingRectifiedLinear(), gain=np.full(2, 500.0),
            bias=np.zeros(2))
        kernel = rng.uniform(-0.05, 0.05, size=(3, 3, 1, 4))
        nengo.Connection(
            image, conv.neurons, synapse=None,
            transform=nengo.Convolution(4, (8, 8, 1), kernel_size=(3, 3), init=kernel))
        pool = np.zeros((2, 2, 4, 4))
        for c in range(4):
            pool[:, :, c, c] = 0.25
        nengo.Connection(
            conv.neurons, pooled, synapse=None,
            transform=nengo.Convolution(4, (6, 6, 4), kernel_size=(2, 2), strides=(2, 2),
                                        init=pool))
        nengo.Connection(pooled, out.neurons, transform=np.ones((2, 36)) * 0.02, synapse=0.005)
        nengo.Probe(out.neurons, synapse=0.01)
    return net


NETWORKS: List[Network] = [
    Network(
        "communication_channel", "examples/communication_channel.snn",
        "sine node -> 100 LIF -> 100 LIF (decoded, 10 ms), 3 probes",
        builders={"nengo": nengo_communication_channel}),
    Network(
        "square", "examples/square.snn",
        "input -> 200 LIF -> 200 LIF computing v*v -> node, filtered probe",
        inputs={"x": square_input}, builders={"nengo": nengo_square}),
    Network(
        "integrator", "examples/integrator.snn",
        "std.integrator: 200 LIF with a 100 ms recurrent connection",
        builders={"nengo": nengo_integrator}),
    Network(
        "conv_layers", "examples/conv_layers.snn",
        "8x8 image -> conv2d -> 144 relu -> avg_pool2d -> 2 spiking relu",
        inputs={"image": conv_image}, builders={"nengo": nengo_conv_layers}),
]


# ----------------------------------------------------------------------------------------------
# Runners (columns)


@dataclasses.dataclass
class Runner:
    """One column: a simulator (and its options) that can time a network."""

    key: str
    label: str
    run: Callable[[Network, argparse.Namespace], Optional[dict]]


def run_nengo(net: Network, opts) -> Optional[dict]:
    """Nengo 3.2 reference simulator: build time, then the best of `repeat` timed runs."""
    if "nengo" not in net.builders:
        return None
    import nengo

    steps = net.steps or opts.steps
    model = net.builders["nengo"]()
    t0 = time.perf_counter()
    sim = nengo.Simulator(model, dt=DT, progress_bar=False, optimize=True)
    build_s = time.perf_counter() - t0
    neurons = sum(e.n_neurons for e in model.all_ensembles)
    with sim:
        sim.run_steps(10)  # warm-up, not timed
        runs = []
        for _ in range(opts.repeat):
            t0 = time.perf_counter()
            sim.run_steps(steps)
            runs.append(time.perf_counter() - t0)
    best = min(runs)
    return {"build_s": build_s, "run_s": runs, "best_run_s": best, "steps": steps,
            "steps_per_s": steps / best, "neurons": neurons}


def snnc_runner(backend: str, dtype: str):
    """A runner for `snnc bench` with this backend and float type."""

    def run(net: Network, opts) -> Optional[dict]:
        steps = net.steps or opts.steps
        with tempfile.TemporaryDirectory() as tmp:
            cmd = [opts.snnc, "bench", os.path.join(ROOT, net.snn), "--steps", str(steps),
                   "--dt", str(DT), "--backend", backend, "--dtype", dtype,
                   "--repeat", str(opts.repeat), "--json"]
            for name, make in net.inputs.items():
                path = os.path.join(tmp, f"{name}.npy")
                np.save(path, make())
                cmd += ["--input", f"{name}={path}"]
            res = subprocess.run(cmd, capture_output=True, text=True)
        if res.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed:\n{res.stderr}")
        out = json.loads(res.stdout)
        return {"build_s": out["compile_s"], "run_s": out["run_s"],
                "best_run_s": out["best_run_s"], "steps": steps,
                "steps_per_s": out["steps_per_s"], "neurons": out["neurons"],
                "command": " ".join(cmd[:1] + ["bench"] + cmd[2:])}

    return run


RUNNERS: List[Runner] = [
    Runner("nengo", "Nengo 3.2", run_nengo),
    Runner("snnc_interp", "snnc interp", snnc_runner("interp", "float64")),
    Runner("snnc_interp_f32", "snnc interp f32", snnc_runner("interp", "float32")),
]

# (numerator runner, denominator runner): "numerator / denominator" speed-up columns.
RATIOS = [("snnc_interp", "nengo")]


# ----------------------------------------------------------------------------------------------
# Driver


def build_snnc() -> str:
    """Build snnc in release mode and return the binary's path."""
    res = subprocess.run(
        ["cargo", "build", "--release", "-p", "snnc", "--message-format=json-render-diagnostics"],
        cwd=ROOT, capture_output=True, text=True, check=True)
    for line in res.stdout.splitlines():
        msg = json.loads(line)
        if msg.get("reason") == "compiler-artifact" and msg.get("executable") and \
                msg["target"]["name"] == "snnc":
            return msg["executable"]
    raise RuntimeError("cargo did not report the snnc binary")


def machine_info(snnc: str) -> dict:
    def cmd(*args):
        try:
            return subprocess.run(args, capture_output=True, text=True, cwd=ROOT).stdout.strip()
        except OSError:
            return ""

    cpu = ""
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")), "")
    except OSError:
        pass
    import nengo

    commit = cmd("git", "rev-parse", "--short", "HEAD")
    dirty = bool(cmd("git", "status", "--porcelain", "--", "cli", "compiler", "runtime",
                     "grammar", "stdlib", "examples"))
    return {
        "date_utc": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M"),
        "cpu": cpu or platform.processor(),
        "cores": os.cpu_count(),
        "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "os": platform.platform(),
        "python": platform.python_version(),
        "nengo": nengo.__version__,
        "numpy": np.__version__,
        "rustc": cmd("rustc", "--version"),
        "snnc": cmd(snnc, "--version"),
        "snnc_commit": commit + ("+local changes" if dirty else ""),
        "load_average_at_start": os.getloadavg(),
    }


def fmt_speed(r: Optional[dict]) -> str:
    return "—" if r is None else f"{r['steps_per_s']:,.0f}"


def fmt_build(r: Optional[dict]) -> str:
    if r is None:
        return "—"
    s = r["build_s"]
    return f"{s * 1e3:.1f} ms" if s < 1 else f"{s:.2f} s"


def markdown(results: dict, runners: List[Runner]) -> str:
    m = results["machine"]
    lines = [
        "# snnc benchmark results",
        "",
        f"Measured {m['date_utc']} UTC on {m['cpu']} ({m['cores']} cores, {m['memory_gib']} GiB), "
        f"{m['os']}; Nengo {m['nengo']} (NumPy {m['numpy']}), {m['snnc']} at {m['snnc_commit']} "
        f"({m['rustc']}). Load average at start: "
        + ", ".join(f"{x:.2f}" for x in m["load_average_at_start"]) + ".",
        "",
        f"Steps per second of the whole network (dt = {DT * 1e3:g} ms, batch 1, probes recorded), "
        f"best of {results['repeat']} runs of {results['steps']} steps each after building once; "
        "process start-up excluded. Reproduce: `python tools/bench/run.py` "
        "(see its docstring).",
        "",
    ]
    present = [r for r in runners if any(n["results"].get(r.key) for n in results["networks"])]
    ratios = [(a, b) for a, b in RATIOS
              if any(r.key == a for r in present) and any(r.key == b for r in present)]
    label = {r.key: r.label for r in runners}
    head = ["network", "neurons"] + [f"{r.label} steps/s" for r in present] + \
        [f"{label[a]} / {label[b]}" for a, b in ratios]
    lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for n in results["networks"]:
        res = n["results"]
        row = [n["name"], str(n["neurons"])] + [fmt_speed(res.get(r.key)) for r in present]
        for a, b in ratios:
            ra, rb = res.get(a), res.get(b)
            row.append("—" if not (ra and rb) else f"{ra['steps_per_s'] / rb['steps_per_s']:.1f}x")
        lines.append("| " + " | ".join(row) + " |")
    lines += ["", "Build time (Nengo: `nengo.Simulator(...)`; snnc: check + build + lower):", ""]
    head = ["network"] + [r.label for r in present]
    lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for n in results["networks"]:
        lines.append("| " + " | ".join(
            [n["name"]] + [fmt_build(n["results"].get(r.key)) for r in present]) + " |")
    lines += ["", "Networks:", ""]
    for n in results["networks"]:
        lines.append(f"- `{n['name']}` (`{n['snn']}`): {n['description']}")
    return "\n".join(lines) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--steps", type=int, default=10000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--networks", help="comma-separated subset of: "
                    + ", ".join(n.name for n in NETWORKS))
    ap.add_argument("--runners", help="comma-separated subset of: "
                    + ", ".join(r.key for r in RUNNERS))
    ap.add_argument("--snnc", help="snnc binary (default: cargo build --release -p snnc)")
    ap.add_argument("--out", default=HERE, help="directory for results.json / results.md")
    opts = ap.parse_args()
    nets = [n for n in NETWORKS if not opts.networks or n.name in opts.networks.split(",")]
    runners = [r for r in RUNNERS if not opts.runners or r.key in opts.runners.split(",")]
    opts.snnc = opts.snnc or build_snnc()
    results = {"machine": machine_info(opts.snnc), "steps": opts.steps, "repeat": opts.repeat,
               "dt": DT, "networks": []}
    for net in nets:
        entry = {"name": net.name, "snn": net.snn, "description": net.description,
                 "results": {}}
        for runner in runners:
            print(f"{net.name:24} {runner.label:18}", end=" ", flush=True)
            r = runner.run(net, opts)
            entry["results"][runner.key] = r
            print("—" if r is None else
                  f"{r['steps_per_s']:12,.0f} steps/s  build {fmt_build(r)}", flush=True)
        counts = {k: r["neurons"] for k, r in entry["results"].items() if r and "neurons" in r}
        if len(set(counts.values())) > 1:
            raise RuntimeError(f"{net.name}: neuron counts differ between runners: {counts}")
        entry["neurons"] = next(iter(counts.values()), None)
        results["networks"].append(entry)
    results["machine"]["load_average_at_end"] = os.getloadavg()
    with open(os.path.join(opts.out, "results.json"), "w") as f:
        json.dump(results, f, indent=2)
        f.write("\n")
    md = markdown(results, runners)
    with open(os.path.join(opts.out, "results.md"), "w") as f:
        f.write(md)
    print()
    print(md)


if __name__ == "__main__":
    sys.exit(main())
