"""Benchmark of `snnc build` (issue 14): build time against Brian2's C++ standalone code
generation + compile for CUBA, and the native library's steps per second against `snnc run`'s
JIT (`snnc bench`) on the same networks, side by side in one run.

Networks: Brian2's CUBA (tools/bench/cuba/cuba.snn, 4,000 LIF neurons, dt 0.1 ms, 10,000 steps,
batch 1) and the MNIST walkthrough's spiking convnet (examples/mnist/model.keras converted with
relu -> spiking_relu, firing rates x20, 10 ms synapses; the first 40 test images held, 30 steps).

For each network: `snnc build` wall time (median of --repeat builds, process included), the
library's simulation speed (tools/bench/aot/bench.c: best of --repeat NAME_run calls) and
`snnc bench`'s JIT speed (best of --repeat runs), both float64 and all cores. Brian2 standalone
(build + make) comes from tools/bench/cuba/brian2_cuba.py, run now when --brian2-python is given.

Usage: python3 tools/bench/aot/run.py [--snnc target/release/snnc] [--repeat 5]
       [--brian2-python /work/venvs/brian2/bin/python] [--out tools/bench/aot]
Needs numpy (for the MNIST images) and a C compiler.
"""

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
HERE = os.path.join(ROOT, "tools", "bench", "aot")


def sh(*cmd, **kw):
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw).stdout


def networks(snnc, tmp):
    """(name, model file, dt, steps, batch, {input: held array (batch, *shape)})."""
    mnist = os.path.join(tmp, "mnist_spiking.snn")
    sh(snnc, "import", os.path.join(ROOT, "examples", "mnist", "model.keras"), "-o", mnist,
       "--swap", "relu=spiking_relu", "--scale-firing-rates", "20", "--synapse", "0.01")
    images = np.load(os.path.join(ROOT, "examples", "mnist", "test_images.npy"))[:40]
    images_path = os.path.join(tmp, "images.npy")
    np.save(images_path, images.astype(np.float64))
    cuba = os.path.join(ROOT, "tools", "bench", "cuba", "cuba.snn")
    return [
        ("cuba", cuba, 1e-4, 10000, 1, {}),
        ("mnist_spiking", mnist, 1e-3, 30, 40, {"input_1": images_path}),
    ]


def input_name(model):
    """The model's first input (its `input NAME: [...]` line)."""
    with open(model) as f:
        for line in f:
            if line.strip().startswith("input "):
                return line.split()[1].rstrip(":")
    return None


def bench_network(snnc, net, repeat, tmp):
    name, model, dt, steps, batch, inputs = net
    out = os.path.join(tmp, name)
    builds = []
    for _ in range(repeat):
        shutil.rmtree(out, ignore_errors=True)
        t0 = time.perf_counter()
        sh(snnc, "build", model, "-o", out, "--name", name, "--dt", repr(dt))
        builds.append(time.perf_counter() - t0)
    exe = os.path.join(tmp, name + "_bench")
    sh("cc", "-O2", os.path.join(HERE, "bench.c"), f"-DSNN_NAME={name}", f'-DSNN_HEADER="{name}.h"',
       "-I", out, os.path.join(out, f"lib{name}.a"), "-lm", "-lpthread", "-ldl", "-o", exe)
    args = [exe, str(batch), str(steps), str(repeat)]
    bench_inputs = []
    for key, path in inputs.items():
        real = os.path.join(tmp, f"{name}_{key}.bin")
        np.load(path).astype(np.float64).tofile(real)
        model_input = input_name(model) or key
        args += [model_input, real]
        bench_inputs += ["--input", f"{model_input}={path}"]
    lib = json.loads(sh(*args))
    jit = json.loads(sh(snnc, "bench", model, "--steps", str(steps), "--dt", repr(dt),
                        "--repeat", str(repeat), "--json", *bench_inputs))
    lib_sps = steps * batch / min(lib["run_s"])
    jit_sps = jit["steps_per_s"] if "steps_per_s" in jit else steps * jit["batch"] / jit["best_run_s"]
    return dict(network=name, steps=steps, batch=batch, build_s=builds,
                build_median_s=statistics.median(builds), lib_run_s=lib["run_s"],
                lib_steps_per_s=lib_sps, jit_run_s=jit["run_s"], jit_steps_per_s=jit_sps,
                lib_over_jit=lib_sps / jit_sps)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--snnc", default=os.path.join(ROOT, "target", "release", "snnc"))
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--brian2-python", default=None)
    ap.add_argument("--out", default=HERE)
    opts = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="snnc-aot-bench-")
    rows = [bench_network(opts.snnc, n, opts.repeat, tmp) for n in networks(opts.snnc, tmp)]
    brian2 = None
    if opts.brian2_python:
        brian2 = json.loads(sh(opts.brian2_python, os.path.join(ROOT, "tools", "bench", "cuba", "brian2_cuba.py"),
                               "standalone", "--repeat", "1"))
    shutil.rmtree(tmp, ignore_errors=True)
    res = dict(date=time.strftime("%Y-%m-%d %H:%M"), machine=platform.processor() or platform.machine(),
               cpus=os.cpu_count(), load=os.getloadavg(),
               commit=sh("git", "-C", ROOT, "rev-parse", "--short", "HEAD").strip(), rows=rows, brian2=brian2)
    with open(os.path.join(opts.out, "results.json"), "w") as f:
        json.dump(res, f, indent=1)
    md = [f"# snnc build: build time and library speed ({res['date']}, commit {res['commit']}, "
          f"{res['cpus']} cores, load {res['load'][0]:.2f})", "",
          "| network | steps x batch | snnc build (median) | library steps/s | snnc run JIT steps/s | library / JIT |",
          "|---|---|---|---|---|---|"]
    for r in rows:
        md.append(f"| {r['network']} | {r['steps']} x {r['batch']} | {r['build_median_s'] * 1e3:.0f} ms | "
                  f"{r['lib_steps_per_s']:,.0f} | {r['jit_steps_per_s']:,.0f} | {r['lib_over_jit']:.3f} |")
    if brian2:
        run = brian2["runs"][0]
        gen = run["build_s"] + run["compile_s"]
        cuba = next(r for r in rows if r["network"] == "cuba")
        md += ["", f"Brian2 {brian2['brian2']} C++ standalone, CUBA: code generation {run['build_s']:.2f} s + "
               f"compile {run['compile_s']:.2f} s = {gen:.2f} s; `snnc build` {cuba['build_median_s']:.3f} s "
               f"({gen / cuba['build_median_s']:.0f}x faster)."]
    with open(os.path.join(opts.out, "results.md"), "w") as f:
        f.write("\n".join(md) + "\n")
    print("\n".join(md))


if __name__ == "__main__":
    sys.exit(main())
