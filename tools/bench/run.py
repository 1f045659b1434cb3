"""Benchmark snnc against its peers on the same networks, on this machine, in one run.

Every row of the tables is a *network*: one `.snn` file plus, for each peer, the same network
built for that peer (same neuron types and counts, same connections, synapses and probes; random
parameters may differ). Every column is a *runner*: something that takes a network and returns
its build/compile time and its simulation speed in steps per second (steps of the whole network
per wall-clock second, summed over the batch: image-steps/s for a batch of images; probes
recorded; process start-up excluded).

Networks:
- the examples (communication_channel, square, integrator, conv_layers; examples/*.snn), Nengo;
- nengo_benchmarks' CommunicationChannel and CircularConvolution with their default sizes, and
  nengo_dl.benchmarks' integrator(128, 32) and cconv(128, 64), the sizes of NengoDL's own
  performance test (examples/bench/*.snn; their README says how each maps to the original);
  Nengo reference simulator;
- mnist_spiking: the keras-to-snn convnet (examples/mnist/model.keras) converted with spiking
  ReLU, scale_firing_rates 20, synapse 10 ms and NengoDL's initial voltages (`snnc import` into a
  temporary directory), 30 steps on the 400 test images; NengoDL 3.6 (`nengo_dl.Converter` on
  model.h5, `sim.predict` over the 400 images tiled for 30 steps, minibatch --nengodl-minibatch,
  image-steps/s of predict after a warm-up call, build excluded) and the Nengo reference
  simulator (the converted network one image at a time, `sim.reset()` between images). Every
  runner's accuracy on the 400 labels is recorded;
- cuba: Brian2's CUBA benchmark (tools/bench/cuba/cuba.snn, 4000 LIF, 2% sparse, 1 s at
  dt = 0.1 ms); Brian2 2.9 C++ standalone (run-only = the simulation loop as the binary times
  it; end to end = network construction + code generation + compilation + the first run) and the
  Brian2 runtime (Cython) target, through tools/bench/cuba/brian2_cuba.py in the Brian2 venv.

Runners: nengo, nengodl, brian2_standalone, brian2_runtime (peers, where the row has them), and
snnc_interp (float64), snnc_jit (float64), snnc_jit_f32 (`snnc bench --json`; add
snnc_interp_f32 with --runners). snnc runs of batch-1 networks are lengthened until one timed
run takes --min-time seconds (the JIT runs small networks in milliseconds). The interpreter runs
the MNIST row on the first --mnist-interp-images images (speed is per image either way). On MNIST
and CUBA every snnc runner also times `snnc run` as a process (end to end: parse, compile,
simulate, write the .npz) and records the accuracy (`--labels`) or the mean firing rate
(`--rates`).

Usage (from the repository root; the NengoDL venv: nengo 3.2, nengo-dl 3.6, tensorflow-cpu
2.12, tools/requirements-nengo.txt; Brian2 2.9 in its own venv, tools/bench/cuba/requirements-brian2.txt):

    /work/venvs/nengodl/bin/python tools/bench/run.py [--steps 10000] [--repeat 3]
        [--networks a,b] [--runners nengo,snnc_jit] [--snnc PATH]
        [--brian2-python /work/venvs/brian2/bin/python] [--nengodl-minibatch 400]
        [--threads 0] [--min-time 1.0] [--mnist-interp-images 40] [--out DIR] [--readme]

Writes tools/bench/results.json (everything measured, plus machine information and load
averages) and tools/bench/results.md (all tables); with --readme it also replaces the
README's "Performance" section with the summary table and the command that reproduces it.
Without --snnc it builds snnc with `cargo build --release -p snnc` (CARGO_TARGET_DIR is
honoured). A full run takes about 10 minutes on 2 cores, most of it in the peers.

Extending it:
- a row: add a `Network` to NETWORKS with its `.snn` path (or a `prepare` function writing it),
  inputs, and a builder per peer (`builders["nengo"]` returns a `nengo.Network`), or a
  network-specific run function in `runs[runner_key]`; `peers` lists the runner keys that are
  peers of this row and `target` the issue's goal for it.
- a column: add a `Runner` to RUNNERS; its function gets the network, the options and the
  network's `Context`, and returns a dict with at least `steps_per_s` (and `build_s`), or None
  when it does not apply to the network (shown as "—").
"""

import argparse
import dataclasses
import datetime
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import textwrap
import time
import warnings
from typing import Callable, Dict, List, Optional

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
BENCH = os.path.join(ROOT, "examples", "bench")
MNIST = os.path.join(ROOT, "examples", "mnist")
CUBA = os.path.join(HERE, "cuba")
DT = 0.001


# ----------------------------------------------------------------------------------------------
# Networks (rows)


@dataclasses.dataclass
class Context:
    """What a network's runners share: the .snn file to run and a scratch directory."""

    snn: str  # absolute path
    tmp: str
    info: dict = dataclasses.field(default_factory=dict)  # recorded in results.json


@dataclasses.dataclass
class Target:
    """The issue's goal for a row."""

    text: str
    # (results of the row) -> (met, what was compared), or None when not measured
    check: Callable[[dict], Optional[tuple]]


@dataclasses.dataclass
class Network:
    """One benchmark network: the .snn file, its inputs, and the same network for each peer."""

    name: str
    snn: str  # path relative to the repository root
    description: str
    # input name -> array of shape (batch, *shape) (held for every step)
    inputs: Dict[str, Callable[[], np.ndarray]] = dataclasses.field(default_factory=dict)
    # peer family ("nengo", ...) -> builder of the same network
    builders: Dict[str, Callable[[], object]] = dataclasses.field(default_factory=dict)
    # runner key -> run function specific to this network (net, opts, ctx) -> dict
    runs: Dict[str, Callable] = dataclasses.field(default_factory=dict)
    # runner keys of this row's peers
    peers: List[str] = dataclasses.field(default_factory=lambda: ["nengo"])
    # steps per timed run (None: --steps)
    steps: Optional[int] = None
    dt: float = DT
    # lengthen snnc runs to --min-time (batch-1 rows)
    adaptive: bool = True
    unit: str = "steps/s"
    # (opts, tmp) -> absolute path of the .snn to run, plus info; default: ROOT/snn
    prepare: Optional[Callable] = None
    # labels file for `snnc run --labels` (accuracy), and whether to time `snnc run` end to end
    labels: Optional[str] = None
    end_to_end: bool = False
    rates: bool = False  # `snnc run --rates`: record the mean firing rate
    # snnc interp's speed run takes only the first --mnist-interp-images batch elements
    interp_subset: bool = False
    target: Optional[Target] = None


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


def nengo_nb_comm_channel():
    """nengo_benchmarks CommunicationChannel (D 2, L 2, N 100, pstc 10 ms): examples/bench/comm_channel.snn."""
    import nengo

    with nengo.Network(seed=1) as net:
        stim = nengo.Node([0.97522402, 0.22121958])
        layers = [nengo.Ensemble(100, 2) for _ in range(2)]
        nengo.Connection(stim, layers[0], synapse=None)
        nengo.Connection(layers[0], layers[1], synapse=0.01)
        nengo.Probe(stim)
        nengo.Probe(layers[-1], synapse=0.01)
    return net


def nengo_nb_circular_convolution():
    """nengo_benchmarks CircularConvolution (D 8, SD 8, 50 n/d I/O, 200 n per product).

    The benchmark builds it with Nengo's legacy SPA (`result = inA * inB`, removed from Nengo 3);
    this is the network that SPA code builds: three spa.Buffers (ensemble arrays of one 8-D
    ensemble of 400 neurons, radius sqrt(SD / D) = 1), a CircularConvolution(200, 8) between
    them with 10 ms synapses on the three connections, constant inputs A and B.
    """
    import nengo

    w = np.load(os.path.join(BENCH, "circular_convolution.npz"))
    with nengo.Network(seed=1) as net:
        in_a, in_b = nengo.Node(w["a"]), nengo.Node(w["b"])
        ideal = nengo.Node(w["ideal"])
        bufs = [nengo.networks.EnsembleArray(400, 1, ens_dimensions=8, radius=1.0)
                for _ in range(3)]
        cconv = nengo.networks.CircularConvolution(200, 8)
        nengo.Connection(in_a, bufs[0].input, synapse=None)
        nengo.Connection(in_b, bufs[1].input, synapse=None)
        nengo.Connection(bufs[0].output, cconv.input_a, synapse=0.01)
        nengo.Connection(bufs[1].output, cconv.input_b, synapse=0.01)
        nengo.Connection(cconv.output, bufs[2].input, synapse=0.01)
        nengo.Probe(bufs[2].output, synapse=0.01)
        nengo.Probe(ideal, synapse=None)
    return net


def nengo_dl_config(net):
    """The ensemble defaults nengo_dl.benchmarks sets: LIF, gains from {1, -1}, biases U(-1, 1)."""
    import nengo

    net.config[nengo.Ensemble].neuron_type = nengo.LIF()
    net.config[nengo.Ensemble].gain = nengo.dists.Choice([1, -1])
    net.config[nengo.Ensemble].bias = nengo.dists.Uniform(-1, 1)


def nengo_ndl_integrator():
    """nengo_dl.benchmarks.integrator(128, 32, nengo.LIF())."""
    import nengo

    with nengo.Network(seed=0) as net:
        nengo_dl_config(net)
        integ = nengo.networks.EnsembleArray(32, 128)
        nengo.Connection(integ.output, integ.input, synapse=0.01)
        inp = nengo.Node([0] * 128)
        nengo.Connection(inp, integ.input, transform=0.01)
        nengo.Probe(integ.output)
    return net


def nengo_ndl_cconv():
    """nengo_dl.benchmarks.cconv(128, 64, nengo.LIF())."""
    import nengo

    with nengo.Network(seed=0) as net:
        nengo_dl_config(net)
        cconv = nengo.networks.CircularConvolution(64, 128)
        inp_a = nengo.Node([0] * 128)
        inp_b = nengo.Node([1] * 128)
        nengo.Connection(inp_a, cconv.input_a)
        nengo.Connection(inp_b, cconv.input_b)
        nengo.Probe(cconv.output)
    return net


# --- MNIST (keras-to-snn convnet, spiking) ---

MNIST_STEPS = 30
MNIST_SCALE = 20
MNIST_SYNAPSE = 0.01


def mnist_images():
    return np.load(os.path.join(MNIST, "test_images.npy"))  # (400, 28, 28, 1) float32, 0..255


def mnist_labels():
    return np.load(os.path.join(MNIST, "test_labels.npy"))


def mnist_prepare(opts, tmp):
    """`snnc import` the convnet with the benchmark's conversion options into TMP."""
    out = os.path.join(tmp, "mnist_spiking.snn")
    cmd = [opts.snnc, "import", os.path.join(MNIST, "model.keras"), "-o", out,
           "--swap", "relu=spiking_relu", "--scale-firing-rates", str(MNIST_SCALE),
           "--synapse", str(MNIST_SYNAPSE),
           "--initial-voltages", os.path.join(MNIST, "nengodl_initial_voltages.npz")]
    t0 = time.perf_counter()
    check(cmd)
    import_s = time.perf_counter() - t0
    shown = ["snnc"] + [os.path.relpath(a, ROOT) if os.path.isabs(a) else a for a in cmd[1:]]
    shown[shown.index("-o") + 1] = "mnist_spiking.snn"
    return out, {"import_command": " ".join(shown), "import_s": import_s}


def mnist_convert():
    """nengo_dl.Converter on the notebook's convnet with model.h5's weights (spiking, scaled)."""
    import nengo
    import nengo_dl
    import tensorflow as tf

    sys.path.insert(0, os.path.join(ROOT, "tools", "mnist"))
    from train import build_model  # the notebook's model, layer names as in model.h5

    model, inp, _, _, dense = build_model()
    model.load_weights(os.path.join(MNIST, "model.h5"))
    conv = nengo_dl.Converter(model, swap_activations={tf.nn.relu: nengo.SpikingRectifiedLinear()},
                              scale_firing_rates=MNIST_SCALE, synapse=MNIST_SYNAPSE)
    # the network seed fixes the initial voltages: those of nengodl_initial_voltages.npz
    conv.net.seed = 0
    return conv, conv.inputs[inp], conv.outputs[dense]


def run_nengodl_mnist(net, opts, ctx) -> dict:
    """NengoDL 3.6: sim.predict over the 400 images tiled for 30 steps; build excluded."""
    import nengo_dl

    images, labels = mnist_images(), mnist_labels()
    conv, nin, nout = mnist_convert()
    with conv.net:
        nengo_dl.configure_settings(stateful=False)
    mb = opts.nengodl_minibatch
    n = len(images) - len(images) % mb
    tiled = np.tile(images[:n].reshape((n, 1, -1)), (1, MNIST_STEPS, 1))
    t0 = time.perf_counter()
    sim = nengo_dl.Simulator(conv.net, minibatch_size=mb, seed=0, progress_bar=False)
    build_s = time.perf_counter() - t0
    with sim:
        t0 = time.perf_counter()
        sim.predict({nin: tiled[:mb]}, verbose=0)  # warm-up: traces the TensorFlow graph
        warmup_s = time.perf_counter() - t0
        runs = []
        for _ in range(opts.repeat):
            t0 = time.perf_counter()
            data = sim.predict({nin: tiled}, verbose=0)
            runs.append(time.perf_counter() - t0)
    best = min(runs)
    acc = float((np.argmax(data[nout][:, -1], axis=-1) == labels[:n]).mean())
    neurons = sum(e.n_neurons for e in conv.net.all_ensembles)
    return {"build_s": build_s, "warmup_s": warmup_s, "run_s": runs, "best_run_s": best,
            "steps": MNIST_STEPS, "batch": n, "minibatch": mb,
            "steps_per_s": MNIST_STEPS * n / best, "neurons": neurons,
            "end_to_end_s": build_s + warmup_s + runs[0], "accuracy": acc, "accuracy_images": n,
            "dtype": "float32"}


def run_nengo_mnist(net, opts, ctx) -> dict:
    """Nengo reference simulator: the converted network, one image at a time."""
    import nengo

    images, labels = mnist_images(), mnist_labels()
    conv, nin, nout = mnist_convert()
    current = [images[0].ravel().astype(np.float64)]
    nin.output = lambda t: current[0]
    t0 = time.perf_counter()
    sim = nengo.Simulator(conv.net, dt=DT, seed=0, progress_bar=False)
    build_s = time.perf_counter() - t0
    preds, run_s = [], 0.0
    with sim:
        for img in images:
            current[0] = img.ravel().astype(np.float64)
            sim.reset()
            t0 = time.perf_counter()
            sim.run_steps(MNIST_STEPS)
            run_s += time.perf_counter() - t0
            preds.append(int(np.argmax(sim.data[nout][-1])))
    acc = float((np.array(preds) == labels).mean())
    neurons = sum(e.n_neurons for e in conv.net.all_ensembles)
    n = len(images)
    return {"build_s": build_s, "run_s": [run_s], "best_run_s": run_s, "steps": MNIST_STEPS,
            "batch": n, "steps_per_s": MNIST_STEPS * n / run_s, "neurons": neurons,
            "end_to_end_s": build_s + run_s, "accuracy": acc, "accuracy_images": n,
            "dtype": "float64"}


# --- CUBA (Brian2) ---

CUBA_STEPS = 10000
CUBA_DT = 1e-4


def cuba_prepare(opts, tmp):
    """Write the connectivity (tools/bench/cuba/make_cuba.py; fixed seed) if it is missing."""
    snn = os.path.join(CUBA, "cuba.snn")
    if not os.path.exists(os.path.join(CUBA, "cuba_weights.npz")):
        sys.path.insert(0, CUBA)
        import make_cuba

        make_cuba.main()
    return snn, {}


def brian2_runner(which):
    """Brian2 2.9 (tools/bench/cuba/brian2_cuba.py in --brian2-python)."""

    def run(net, opts, ctx) -> dict:
        out = os.path.join(ctx.tmp, f"brian2_{which}.json")
        check([opts.brian2_python, os.path.join(CUBA, "brian2_cuba.py"), which,
               "--repeat", str(opts.repeat), "--out", out], cwd=ctx.tmp)
        with open(out) as f:
            doc = json.load(f)
        r = doc["runs"][0]
        r["brian2"] = doc["brian2"]
        steps = r["steps"]
        if which == "standalone":
            # run-only: the simulation loop as the compiled binary times it
            best = min(r["sim_s"])
            r.update(build_s=r["build_s"] + r["compile_s"], codegen_s=r.pop("build_s"),
                     end_to_end_s=r["total_s"], process_run_s=r["run_s"], run_s=r["sim_s"])
        else:
            best = min(r["run_s"])
            # its Cython compilation is cached after the first use
            r.update(build_s=r["build_s"] + r["compile_s"],
                     end_to_end_s=r["build_s"] + r["compile_s"] + r["run_s"][0])
        r.update(best_run_s=best, steps_per_s=steps / best, batch=1)
        return r

    return run


NB_TARGET = Target(
    "≥ 100× Nengo",
    lambda res: None if not (res.get("nengo") and res.get("snnc_jit")) else (
        res["snnc_jit"]["steps_per_s"] >= 100 * res["nengo"]["steps_per_s"],
        f"{res['snnc_jit']['steps_per_s'] / res['nengo']['steps_per_s']:.1f}×"))


def mnist_target(res):
    jits = [(k, res[k]["steps_per_s"]) for k in ("snnc_jit", "snnc_jit_f32") if res.get(k)]
    if not jits:
        return None
    k, best = max(jits, key=lambda x: x[1])
    return best >= 40000, f"{best:,.0f}" + (" (f32)" if k.endswith("f32") else "")


def cuba_target(res):
    b2, jit = res.get("brian2_standalone"), res.get("snnc_jit")
    if not (b2 and jit):
        return None
    run_ok = jit["best_run_s"] <= b2["best_run_s"]
    e2e_ok = jit.get("end_to_end_s") is not None and jit["end_to_end_s"] < b2["end_to_end_s"]
    return run_ok and e2e_ok, (f"run {'yes' if run_ok else 'no'}, "
                               f"end to end {'yes' if e2e_ok else 'no'}")


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
    Network(
        "nb_comm_channel", "examples/bench/comm_channel.snn",
        "nengo_benchmarks CommunicationChannel, defaults D 2, L 2, N 100, pstc 10 ms",
        builders={"nengo": nengo_nb_comm_channel}, target=NB_TARGET),
    Network(
        "nb_circular_convolution", "examples/bench/circular_convolution.snn",
        "nengo_benchmarks CircularConvolution, defaults D 8, SD 8, 50 n/d I/O buffers, "
        "200 n per product (Product of 20 pairs, DFT transforms), pstc 10 ms",
        builders={"nengo": nengo_nb_circular_convolution}, steps=2000, target=NB_TARGET),
    Network(
        "ndl_integrator", "examples/bench/integrator128.snn",
        "nengo_dl.benchmarks.integrator(128, 32, LIF): ensemble array of 128 x 32 LIF, "
        "10 ms recurrence",
        builders={"nengo": nengo_ndl_integrator}, steps=2000, target=NB_TARGET),
    Network(
        "ndl_cconv", "examples/bench/cconv128.snn",
        "nengo_dl.benchmarks.cconv(128, 64, LIF): CircularConvolution(64, 128), "
        "Product of 260 pairs",
        builders={"nengo": nengo_ndl_cconv}, steps=500, target=NB_TARGET),
    Network(
        "mnist_spiking", "examples/mnist/model.keras",
        "keras-to-snn convnet (conv 3x3x32, conv 3x3x64 stride 2, dense 10) with spiking ReLU, "
        "scale_firing_rates 20, synapse 10 ms, 30 steps, 400 test images (batch 400)",
        inputs={"image": mnist_images}, runs={"nengodl": run_nengodl_mnist,
                                              "nengo": run_nengo_mnist},
        peers=["nengodl", "nengo"], steps=MNIST_STEPS, adaptive=False, unit="image-steps/s",
        prepare=mnist_prepare, labels=os.path.join(MNIST, "test_labels.npy"), end_to_end=True,
        interp_subset=True,
        target=Target("≥ 40,000 image-steps/s", mnist_target)),
    Network(
        "cuba", "tools/bench/cuba/cuba.snn",
        "Brian2's CUBA: 4000 LIF, 2% random sparse connectivity (exc. 5 ms, inh. 10 ms), "
        "1 s at dt 0.1 ms",
        runs={"brian2_standalone": brian2_runner("standalone"),
              "brian2_runtime": brian2_runner("runtime")},
        peers=["brian2_standalone", "brian2_runtime"], steps=CUBA_STEPS, dt=CUBA_DT,
        adaptive=False, prepare=cuba_prepare, end_to_end=True, rates=True,
        target=Target("run ≤ Brian2 C++; end to end < Brian2 standalone", cuba_target)),
]


# ----------------------------------------------------------------------------------------------
# Runners (columns)


@dataclasses.dataclass
class Runner:
    """One column: a simulator (and its options) that can time a network."""

    key: str
    label: str
    run: Callable[[Network, argparse.Namespace, Context], Optional[dict]]
    default: bool = True


def check(cmd, **kw) -> subprocess.CompletedProcess:
    """Run a command; raise with its stderr when it fails."""
    res = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if res.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({res.returncode}):\n{res.stderr[-3000:]}")
    return res


def run_nengo(net: Network, opts, ctx) -> Optional[dict]:
    """Nengo 3.2 reference simulator: build time, then the best of `repeat` timed runs."""
    if "nengo" not in net.builders:
        return None
    import nengo

    steps = net.steps or opts.steps
    model = net.builders["nengo"]()
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        # nengo_dl's benchmarks give gains of -1: Nengo warns about their (unused) max rates
        warnings.simplefilter("ignore")
        sim = nengo.Simulator(model, dt=net.dt, progress_bar=False, optimize=True)
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
    return {"build_s": build_s, "run_s": runs, "best_run_s": best, "steps": steps, "batch": 1,
            "steps_per_s": steps / best, "neurons": neurons, "dtype": "float64"}


def snnc_runner(backend: str, dtype: str):
    """A runner for `snnc bench` (and, where the row asks, `snnc run`) with this backend and type."""

    def run(net: Network, opts, ctx) -> Optional[dict]:
        steps = net.steps or opts.steps
        inputs = {name: make() for name, make in net.inputs.items()}
        batch_limit = None
        if backend == "interp" and net.interp_subset:
            batch_limit = opts.mnist_interp_images
        paths = {}
        for name, arr in inputs.items():
            paths[name] = os.path.join(ctx.tmp, f"{name}.npy")
            np.save(paths[name], arr)
        bench_paths = dict(paths)
        if batch_limit:
            for name, arr in inputs.items():
                bench_paths[name] = os.path.join(ctx.tmp, f"{name}_{batch_limit}.npy")
                np.save(bench_paths[name], arr[:batch_limit])

        def bench(n_steps):
            cmd = [opts.snnc, "bench", ctx.snn, "--steps", str(n_steps), "--dt", str(net.dt),
                   "--backend", backend, "--dtype", dtype, "--threads", str(opts.threads),
                   "--repeat", str(opts.repeat), "--json"]
            for name, path in bench_paths.items():
                cmd += ["--input", f"{name}={path}"]
            return cmd, json.loads(check(cmd).stdout)

        cmd, out = bench(steps)
        if net.adaptive and out["best_run_s"] < opts.min_time:
            # lengthen the run to about --min-time (at most 100x, a whole number of thousands)
            factor = min(100.0, 1.2 * opts.min_time / max(out["best_run_s"], 1e-6))
            steps = int(np.ceil(steps * factor / 1000.0) * 1000)
            cmd, out = bench(steps)
        res = {"build_s": out["compile_s"], "codegen_s": out["codegen_s"], "run_s": out["run_s"],
               "best_run_s": out["best_run_s"], "steps": steps, "batch": out["batch"],
               "steps_per_s": out["steps_per_s"], "neurons": out["neurons"], "ops": out["ops"],
               "threads": opts.threads, "dtype": dtype,
               "command": " ".join(["snnc"] + [shorten(a, ctx) for a in cmd[1:]])}
        if net.labels or net.end_to_end or net.rates:
            res.update(run_process(net, opts, ctx, backend, dtype, steps, paths))
        return res

    return run


def shorten(arg: str, ctx: Context) -> str:
    """A path in a recorded command, relative to the repository or the scratch directory."""
    for part in arg.split("="):
        if os.path.isabs(part):
            base = ctx.tmp if part.startswith(ctx.tmp) else ROOT
            arg = arg.replace(part, os.path.relpath(part, base))
    return arg


def run_process(net, opts, ctx, backend, dtype, steps, paths) -> dict:
    """`snnc run` as a process: its wall time (end to end), accuracy or mean firing rate."""
    cmd = [opts.snnc, "run", ctx.snn, "--steps", str(steps), "--dt", str(net.dt),
           "--backend", backend, "--dtype", dtype, "--threads", str(opts.threads),
           "-o", os.path.join(ctx.tmp, "out.npz")]
    for name, path in paths.items():
        cmd += ["--input", f"{name}={path}"]
    if net.labels:
        cmd += ["--labels", net.labels]
    if net.rates:
        cmd += ["--rates"]
    t0 = time.perf_counter()
    res = check(cmd)
    wall = time.perf_counter() - t0
    out = {"end_to_end_s": wall,
           "run_command": " ".join(["snnc"] + [shorten(a, ctx) for a in cmd[1:]])}
    if net.labels:
        m = re.search(r"accuracy of .* at the last step: ([0-9.]+)%", res.stdout)
        if not m:
            raise RuntimeError(f"no accuracy in the output of {' '.join(cmd)}:\n{res.stdout}")
        out["accuracy"] = float(m.group(1)) / 100
        out["accuracy_images"] = int(np.load(net.labels).shape[0])
    if net.rates:
        rows = [ln.split() for ln in res.stdout.splitlines()]
        rates = [float(r[3]) for r in rows if len(r) >= 5 and r[2] == "spiking"]
        if not rates:
            raise RuntimeError(f"no firing rates in the output of {' '.join(cmd)}:\n{res.stdout}")
        out["mean_rate_hz"] = rates[0]
    return out


def network_run(key):
    """A runner that exists only for networks giving a run function for it (`Network.runs`)."""

    def run(net, opts, ctx):
        return net.runs[key](net, opts, ctx) if key in net.runs else None

    return run


def run_nengo_any(net, opts, ctx):
    return net.runs["nengo"](net, opts, ctx) if "nengo" in net.runs else run_nengo(net, opts, ctx)


RUNNERS: List[Runner] = [
    Runner("nengo", "Nengo 3.2", run_nengo_any),
    Runner("nengodl", "NengoDL 3.6", network_run("nengodl")),
    Runner("brian2_standalone", "Brian2 2.9 C++ standalone", network_run("brian2_standalone")),
    Runner("brian2_runtime", "Brian2 2.9 runtime (Cython)", network_run("brian2_runtime")),
    Runner("snnc_interp", "snnc interp", snnc_runner("interp", "float64")),
    Runner("snnc_interp_f32", "snnc interp f32", snnc_runner("interp", "float32"), default=False),
    Runner("snnc_jit", "snnc jit", snnc_runner("jit", "float64")),
    Runner("snnc_jit_f32", "snnc jit f32", snnc_runner("jit", "float32")),
]
PEER_KEYS = {"nengo", "nengodl", "brian2_standalone", "brian2_runtime"}


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


def machine_info(opts) -> dict:
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

    try:
        import nengo_dl
        import tensorflow as tf

        nengo_dl_version, tf_version = nengo_dl.__version__, tf.__version__
    except ImportError:
        nengo_dl_version = tf_version = None
    brian2 = cmd(opts.brian2_python, "-c", "import brian2; print(brian2.__version__)")
    commit = opts.snnc_commit or cmd("git", "rev-parse", "--short", "HEAD")
    dirty = not opts.snnc_commit and bool(cmd(
        "git", "status", "--porcelain", "--", "cli", "compiler", "runtime", "grammar", "stdlib",
        "examples"))
    return {
        "date_utc": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M"),
        "cpu": cpu or platform.processor(),
        "cores": os.cpu_count(),
        "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "os": platform.platform(),
        "python": platform.python_version(),
        "nengo": nengo.__version__,
        "nengo_dl": nengo_dl_version,
        "tensorflow": tf_version,
        "brian2": brian2 or None,
        "cxx": (cmd("c++", "--version").splitlines() or [""])[0],
        "numpy": np.__version__,
        "rustc": cmd("rustc", "--version"),
        "snnc": cmd(opts.snnc, "--version"),
        "snnc_commit": commit + ("+local changes" if dirty else ""),
        "threads": opts.threads,
        "load_average_at_start": os.getloadavg(),
    }


def fmt_speed(r: Optional[dict]) -> str:
    return "—" if r is None else f"{r['steps_per_s']:,.0f}"


def fmt_s(s: Optional[float]) -> str:
    if s is None:
        return "—"
    return f"{s * 1e3:.1f} ms" if s < 1 else f"{s:.2f} s"


def fmt_ratio(a: Optional[dict], b: Optional[dict]) -> str:
    if not (a and b):
        return "—"
    x = a["steps_per_s"] / b["steps_per_s"]
    if x < 1:
        return f"{x:.2g}×"
    return f"{x:.1f}×" if x < 100 else f"{x:,.0f}×"


def best_peer(net_entry: dict):
    """The fastest peer of a row: (runner key, result), or (None, None)."""
    peers = [(k, r) for k, r in net_entry["results"].items()
             if k in net_entry["peers"] and r is not None]
    if not peers:
        return None, None
    return max(peers, key=lambda kr: kr[1]["steps_per_s"])


def table(head: List[str], rows: List[List[str]]) -> List[str]:
    return ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)] + \
        ["| " + " | ".join(r) + " |" for r in rows]


def main_table(results: dict, runners: List[Runner]) -> List[str]:
    """The summary table: each row's fastest peer, snnc interp and jit, ratios, the issue's target."""
    label = {r.key: r.label for r in runners}
    nets = results["networks"]
    rows = []
    for n in nets:
        res = n["results"]
        pk, pr = best_peer(n)
        tgt = "—"
        if n.get("target"):
            met, what = n["target"]["met"], n["target"]["measured"]
            tgt = f"{n['target']['text']}: " + (
                "not measured" if met is None else f"{'**met**' if met else 'not met'} ({what})")
        name = n["name"] + (" (image-steps/s)" if n["unit"] != "steps/s" else "")
        rows.append([
            name, f"{n['neurons']:,}" if n["neurons"] else "—",
            label.get(pk, "—") if pk else "—", fmt_speed(pr),
            fmt_speed(res.get("snnc_interp")), fmt_speed(res.get("snnc_jit")),
            fmt_speed(res.get("snnc_jit_f32")),
            fmt_ratio(res.get("snnc_jit"), pr), fmt_ratio(res.get("snnc_jit"), res.get("snnc_interp")),
            tgt])
    return table(["network", "neurons", "peer", "peer steps/s", "snnc interp", "snnc jit",
                  "snnc jit f32", "jit / peer", "jit / interp", "target"], rows)


def readme_section(results: dict, runners: List[Runner]) -> str:
    """The README's "Performance" section: the summary table and how to reproduce it."""
    m = results["machine"]
    load = ", ".join(f"{x:.1f}" for x in m["load_average_at_start"])
    intro = (
        "snnc's reference interpreter and its JIT beside Nengo 3.2, NengoDL 3.6 and Brian2 2.9 on "
        "the same networks (the examples, nengo_benchmarks / nengo_dl benchmark networks in "
        "[examples/bench](examples/bench), the keras-to-snn MNIST convnet spiking, Brian2's CUBA), "
        f"measured side by side in one run on {m['cpu']} ({m['cores']} cores), "
        f"{m['date_utc'][:10]}, snnc at {m['snnc_commit']}, load average {load} at start (the "
        "machine is shared):")
    notes = (
        "Steps of the whole network per wall-clock second (MNIST: image-steps/s over its 400 "
        "images), best of several runs after building, process start-up excluded; *peer* is the "
        "row's fastest peer (NengoDL and Nengo for MNIST, Brian2's C++ standalone simulation loop "
        "for CUBA), the ratios use snnc jit in float64. Every runner, build and compile times, end "
        "to end times and accuracies: [tools/bench/results.md](tools/bench/results.md) (raw: "
        "`results.json`).")
    reproduce = ("Reproduce: `/work/venvs/nengodl/bin/python tools/bench/run.py --readme` (its "
                 "docstring lists the options and venvs).")
    return "\n".join(["## Performance", "", textwrap.fill(intro, 100), ""]
                     + main_table(results, runners)
                     + ["", textwrap.fill(notes, 100), "", textwrap.fill(reproduce, 100), ""])


def update_readme(section: str, path: str = os.path.join(ROOT, "README.md")):
    """Replace README.md's "## Performance" section (up to the next "## " heading)."""
    with open(path) as f:
        text = f.read()
    start = text.index("## Performance\n")
    end = text.find("\n## ", start + 1)
    end = len(text) if end < 0 else end + 1
    with open(path, "w") as f:
        f.write(text[:start] + section + "\n" + text[end:])


def markdown(results: dict, runners: List[Runner]) -> str:
    m = results["machine"]
    nets = results["networks"]
    present = [r for r in runners if any(n["results"].get(r.key) for n in nets)]
    lines = [
        "# snnc benchmark results",
        "",
        f"Measured {m['date_utc']} UTC on {m['cpu']} ({m['cores']} cores, {m['memory_gib']} GiB), "
        f"{m['os']}; Nengo {m['nengo']}, NengoDL {m['nengo_dl']} (TensorFlow {m['tensorflow']}), "
        f"Brian2 {m['brian2']} ({m['cxx']}), NumPy {m['numpy']}; {m['snnc']} at "
        f"{m['snnc_commit']} ({m['rustc']}). Load average (1, 5, 15 min) at start: "
        + ", ".join(f"{x:.2f}" for x in m["load_average_at_start"]) + "; at end: "
        + ", ".join(f"{x:.2f}" for x in m["load_average_at_end"])
        + " (other jobs shared the machine's cores).",
        "",
        "Reproduce: `/work/venvs/nengodl/bin/python tools/bench/run.py` (see its docstring).",
        "",
        "Speed in steps of the whole network per wall-clock second, summed over the batch "
        "(image-steps/s for MNIST's 400 images), best of "
        f"{results['repeat']} timed runs after building once, probes recorded, process start-up "
        "excluded. *peer* is the row's fastest peer; every runner's number is in the second table. "
        "*jit / peer* and *jit / interp* use snnc jit in float64. snnc runs batch elements on "
        f"{'one thread per core' if m['threads'] == 0 else str(m['threads']) + ' threads'} "
        "(only MNIST has a batch); Nengo is single-threaded; TensorFlow uses every core.",
        "",
    ]
    lines += main_table(results, runners)

    lines += ["", "Every runner (steps/s; the number of steps per timed run in the JSON):", ""]
    rows = [[n["name"]] + [fmt_speed(n["results"].get(r.key)) for r in present]
            + [", ".join(f"{x:.2f}" for x in n["load_average_at_start"])] for n in nets]
    lines += table(["network"] + [r.label for r in present] + ["load at start"], rows)

    lines += ["", "Build and compile time (Nengo: `nengo.Simulator(...)`; NengoDL: "
              "`nengo_dl.Simulator(...)`, graph tracing not included; Brian2: code generation + "
              "C++ compilation (standalone) or + Cython compilation (runtime, cached after its "
              "first use); snnc: check + build + lower, then the JIT's code generation):", ""]
    peers_present = [r for r in present if r.key in PEER_KEYS]
    snnc_present = [r for r in present if r.key not in PEER_KEYS]
    rows = []
    for n in nets:
        res = n["results"]
        row = [n["name"]] + [fmt_s(res[r.key]["build_s"]) if res.get(r.key) else "—"
                             for r in peers_present]
        for r in snnc_present:
            x = res.get(r.key)
            if x is None:
                row.append("—")
            elif r.key.startswith("snnc_jit"):
                row.append(f"{fmt_s(x['build_s'])} + {fmt_s(x['codegen_s'])}")
            else:
                row.append(fmt_s(x["build_s"]))
        rows.append(row)
    lines += table(["network"] + [r.label for r in peers_present]
                   + [r.label for r in snnc_present], rows)

    e2e = [n for n in nets if any(r and r.get("end_to_end_s") for r in n["results"].values())]
    if e2e:
        lines += ["", "End to end (wall-clock seconds from the model to its results: Brian2 "
                  "standalone's construction, code generation, compilation and run; NengoDL's "
                  "build, graph tracing and first predict; Nengo's build and runs; the `snnc run` "
                  "process, which parses, compiles, simulates and writes the .npz; MNIST's "
                  "`snnc import` is listed apart) and checks:", ""]
        rows = []
        for n in e2e:
            for r in present:
                x = n["results"].get(r.key)
                if not x:
                    continue
                chk = []
                if "accuracy" in x:
                    chk.append(f"accuracy {100 * x['accuracy']:.2f} % "
                               f"({x['accuracy_images']} images)")
                if "mean_rate_hz" in x:
                    chk.append(f"mean rate {x['mean_rate_hz']:.2f} Hz")
                rows.append([n["name"], r.label, fmt_s(x.get("end_to_end_s")), "; ".join(chk)])
            if n.get("info", {}).get("import_s") is not None:
                rows.append([n["name"], "`snnc import`", fmt_s(n["info"]["import_s"]), ""])
        lines += table(["network", "runner", "end to end", "check"], rows)

    lines += ["", "Networks:", ""]
    for n in nets:
        lines.append(f"- `{n['name']}` (`{n['snn']}`): {n['description']}")
    mn = next((n for n in nets if n["name"] == "mnist_spiking"), None)
    if mn:
        dl = mn["results"].get("nengodl")
        lines += ["", "MNIST: snnc runs the network `"
                  + mn.get("info", {}).get("import_command", "snnc import") + "` writes; "
                  "NengoDL converts model.h5 (the same weights) with the same options and network "
                  "seed 0 (the same initial voltages)"
                  + (f", minibatch {dl['minibatch']}, float32" if dl else "")
                  + "; Nengo runs NengoDL's converted network one image at a time. snnc interp's "
                  f"speed is measured on the first {results['mnist_interp_images']} images, "
                  "its accuracy on all 400."]
    return "\n".join(lines) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--steps", type=int, default=10000,
                    help="steps per timed run of the rows that do not set their own")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--networks", help="comma-separated subset of: "
                    + ", ".join(n.name for n in NETWORKS))
    ap.add_argument("--runners", help="comma-separated subset of: "
                    + ", ".join(r.key for r in RUNNERS))
    ap.add_argument("--snnc", help="snnc binary (default: cargo build --release -p snnc)")
    ap.add_argument("--snnc-commit", help="commit the snnc binary was built from (default: HEAD "
                    "of this checkout, marked when cli/ compiler/ ... have local changes)")
    ap.add_argument("--brian2-python", default="/work/venvs/brian2/bin/python",
                    help="Python with Brian2 2.9 (tools/bench/cuba/requirements-brian2.txt)")
    ap.add_argument("--nengodl-minibatch", type=int, default=400,
                    help="NengoDL minibatch for MNIST (400: all images at once)")
    ap.add_argument("--threads", type=int, default=0, help="snnc --threads (0: one per core)")
    ap.add_argument("--min-time", type=float, default=1.0,
                    help="lengthen batch-1 snnc runs until one takes about this many seconds")
    ap.add_argument("--mnist-interp-images", type=int, default=40,
                    help="images of the snnc interp speed run on MNIST")
    ap.add_argument("--out", default=HERE, help="directory for results.json / results.md")
    ap.add_argument("--readme", action="store_true",
                    help="also replace README.md's Performance section with the summary table")
    opts = ap.parse_args()
    nets = [n for n in NETWORKS if not opts.networks or n.name in opts.networks.split(",")]
    runners = [r for r in RUNNERS if (r.key in opts.runners.split(",") if opts.runners
                                      else r.default)]
    opts.snnc = os.path.abspath(opts.snnc) if opts.snnc else build_snnc()
    results = {"machine": machine_info(opts), "steps": opts.steps, "repeat": opts.repeat,
               "min_time": opts.min_time, "mnist_interp_images": opts.mnist_interp_images,
               "dt": DT, "networks": []}
    for net in nets:
        with tempfile.TemporaryDirectory(prefix=f"bench_{net.name}_") as tmp:
            if net.prepare:
                snn, info = net.prepare(opts, tmp)
            else:
                snn, info = os.path.join(ROOT, net.snn), {}
            ctx = Context(snn=snn, tmp=tmp, info=info)
            entry = {"name": net.name, "snn": net.snn, "description": net.description,
                     "unit": net.unit, "dt": net.dt, "peers": net.peers,
                     "load_average_at_start": os.getloadavg(), "info": info, "results": {}}
            for runner in runners:
                print(f"{net.name:24} {runner.label:28}", end=" ", flush=True)
                r = runner.run(net, opts, ctx)
                entry["results"][runner.key] = r
                if r is None:
                    print("—", flush=True)
                    continue
                extra = ""
                if "accuracy" in r:
                    extra += f"  accuracy {100 * r['accuracy']:.2f} %"
                if "mean_rate_hz" in r:
                    extra += f"  rate {r['mean_rate_hz']:.2f} Hz"
                if r.get("end_to_end_s"):
                    extra += f"  end to end {fmt_s(r['end_to_end_s'])}"
                print(f"{r['steps_per_s']:12,.0f} {net.unit}  build {fmt_s(r['build_s'])}{extra}",
                      flush=True)
        counts = {k: r["neurons"] for k, r in entry["results"].items() if r and "neurons" in r}
        if len(set(counts.values())) > 1:
            raise RuntimeError(f"{net.name}: neuron counts differ between runners: {counts}")
        entry["neurons"] = next(iter(counts.values()), None)
        if net.target:
            got = net.target.check(entry["results"])
            entry["target"] = {"text": net.target.text, "met": None if got is None else got[0],
                               "measured": None if got is None else got[1]}
        results["networks"].append(entry)
    results["machine"]["load_average_at_end"] = os.getloadavg()
    with open(os.path.join(opts.out, "results.json"), "w") as f:
        json.dump(results, f, indent=2)
        f.write("\n")
    md = markdown(results, runners)
    with open(os.path.join(opts.out, "results.md"), "w") as f:
        f.write(md)
    if opts.readme:
        update_readme(readme_section(results, runners))
    print()
    print(md)


if __name__ == "__main__":
    sys.exit(main())
