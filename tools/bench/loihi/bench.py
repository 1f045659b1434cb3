#!/usr/bin/env python
"""Emulator speed: snnc's loihi target against nengo-loihi 1.1's emulator, same networks.

The networks are the fixture cases of tools/gen_loihi_fixtures.py (tests/loihi/<case>/model.snn
and the Nengo network the generator builds for it), whose runs are bit-identical. nengo-loihi:
`EmulatorInterface.step()` called `--steps` times after the build (build excluded, no host
simulator: these networks are all on-chip). snnc: `snnc bench FILE --backend loihi --json`
(the best of its timed runs; map and discretization excluded). Steps per second of the whole
network; the machine is shared and noisy, so the numbers are as measured.

    /work/venvs/loihi/bin/python tools/bench/loihi/bench.py [--steps 2000] [--repeat 3]

Writes tools/bench/loihi/results.{json,md}.
"""

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import nengo_loihi

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT / "tools"))
import gen_loihi_fixtures as g  # noqa: E402

CASES = ["lif_relu_pair", "ensemble_neurons", "multi_core"]
# decoded (NEF) networks (tools/loihi/gen_nef_fixtures.py) with a host part: nengo-loihi is
# timed over `sim.run_steps` (host pre part, emulator, host post part, as snnc runs them)
NEF_CASES = ["nef_channel", "nef_integrator"]


def nef_net(name):
    """The Nengo network of a gen_nef_fixtures case, without running it."""
    sys.path.insert(0, str(ROOT / "tools" / "loihi"))
    import gen_nef_fixtures as nf  # noqa: E402

    nf.run = lambda c, net, *rest: (net, None)
    c, net, _ = nf.CASES[name]()
    return c, net


def nengo_loihi_run_steps_per_s(net, steps, repeat, dt):
    best = None
    for _ in range(repeat):
        with nengo_loihi.Simulator(net, dt=dt, target="sim", progress_bar=False) as sim:
            t0 = time.perf_counter()
            sim.run_steps(steps)
            t = time.perf_counter() - t0
        best = t if best is None else min(best, t)
    return steps / best


def nengo_loihi_steps_per_s(net, steps, repeat, dt):
    best = None
    for _ in range(repeat):
        with nengo_loihi.Simulator(net, dt=dt, target="sim", progress_bar=False) as sim:
            emu = sim.sims["emulator"]
            t0 = time.perf_counter()
            for _ in range(steps):
                emu.step()
            t = time.perf_counter() - t0
        best = t if best is None else min(best, t)
    return steps / best


def snnc_steps_per_s(model, steps, dt):
    exe = ROOT / "target" / "release" / "snnc"
    out = subprocess.run(
        [str(exe), "bench", str(model), "--backend", "loihi", "--steps", str(steps), "--dt", str(dt), "--json"],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout)["steps_per_s"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=2000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    rows = []
    for name in CASES:
        c, net = g.CASES[name]()
        n = sum(e.n_neurons for e in net.all_ensembles)
        nl = nengo_loihi_steps_per_s(net, args.steps, args.repeat, c.dt)
        sn = snnc_steps_per_s(ROOT / "tests" / "loihi" / name / "model.snn", args.steps, c.dt)
        rows.append({"network": name, "compartments": n, "nengo_loihi_steps_per_s": nl,
                     "snnc_loihi_steps_per_s": sn, "speedup": sn / nl})
        print(f"{name}: {n} compartments, nengo-loihi {nl:.0f} steps/s, snnc {sn:.0f} steps/s, {sn / nl:.1f}x")
    for name in NEF_CASES:
        c, net = nef_net(name)
        with nengo_loihi.Simulator(net, dt=c.dt, target="sim", progress_bar=False) as sim:
            n = sim.sims["emulator"].block_info.n_compartments
        nl = nengo_loihi_run_steps_per_s(net, args.steps, args.repeat, c.dt)
        sn = snnc_steps_per_s(ROOT / "tests" / "loihi" / name / "model.snn", args.steps, c.dt)
        rows.append({"network": name, "compartments": n, "nengo_loihi_steps_per_s": nl,
                     "snnc_loihi_steps_per_s": sn, "speedup": sn / nl})
        print(f"{name}: {n} compartments (+ host), nengo-loihi {nl:.0f} steps/s, snnc {sn:.0f} steps/s, {sn / nl:.1f}x")
    here = Path(__file__).resolve().parent
    (here / "results.json").write_text(json.dumps({"steps": args.steps, "rows": rows}, indent=2) + "\n")
    lines = [
        "# Loihi emulator: snnc vs nengo-loihi 1.1",
        "",
        f"`tools/bench/loihi/bench.py --steps {args.steps} --repeat {args.repeat}`; steps per second of the",
        "whole network, build excluded; bit-identical runs (tests/loihi). Shared, noisy machine:",
        "numbers as measured.",
        "",
        "| network | compartments | nengo-loihi emulator | snnc `--backend loihi` | speed-up |",
        "|---|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['network']} | {r['compartments']} | {r['nengo_loihi_steps_per_s']:.0f} | "
            f"{r['snnc_loihi_steps_per_s']:.0f} | {r['speedup']:.0f}x |"
        )
    (here / "results.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
