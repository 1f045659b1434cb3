#!/usr/bin/env python
"""Record nengo-loihi 1.1 oracles for decoded (NEF) connections on the `loihi` target.

    /work/venvs/loihi/bin/python tools/loihi/gen_nef_fixtures.py [CASE ...]

Each case is a Nengo network with node inputs, ensembles and decoded connections, built by
`nengo_loihi.Simulator(target="sim")` (nengo-loihi's splitter: the node's on/off input
ensemble on the host, decode-neuron blocks on the chip, decoded probes as non-spiking
blocks) and run with `sim.run_steps`. Written to `tests/loihi/<case>/` in the layout of
tools/gen_loihi_fixtures.py (model.snn, weights.npz, case.toml, expected.npz with every
block's discretized parameters and integer weights and every compartment's u, v and spikes
per step), plus in expected.npz:

* `probe_<name>`   nengo-loihi's probe data (`sim.data[probe]`, float64 `(steps, size)`),
* `gain_<ens>`, `bias_<ens>`  the gains and biases nengo-loihi built (intercept limit 0.95),
* `weights_<conn>` each decoded connection's weights as nengo-loihi built them
                   (`model.params[conn].weights`: transform · decoders / dt, float32),
* `decoders_<probe>` each decoded probe's decoders (`model.params[probe conn].weights`).

Ensembles get explicit encoders and eval points (snnc's random streams are not NumPy's) and
either explicit gains/biases or explicit max rates and intercepts, some above 0.95 (so the
intercept limit shows). Nothing in tests/loihi is edited by hand.
"""

import sys
from pathlib import Path

import nengo
import nengo_loihi
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import gen_loihi_fixtures as g  # noqa: E402

GENERATOR = "tools/loihi/gen_nef_fixtures.py"
g.GENERATOR = GENERATOR
CASES = {}


def register(fn):
    CASES[fn.__name__] = fn
    return fn


def unit(rng, n, d):
    e = rng.randn(n, d)
    return e / np.linalg.norm(e, axis=1, keepdims=True)


def ens_args(c, name, n, d, rng, rates_intercepts=False):
    """Explicit ensemble parameters, in Nengo and in .snn."""
    enc = unit(rng, n, d)
    ev = rng.uniform(-1, 1, (max(60, 30 * d * d), d))
    kw = dict(encoders=enc, eval_points=ev)
    snn = [f'encoders = {c.w(name + "_enc", enc)}', f'eval_points = {c.w(name + "_ev", ev)}']
    if rates_intercepts:
        mr = rng.uniform(100, 200, n)
        ic = rng.uniform(-0.9, 0.99, n)
        ic[:3] = [0.97, 0.99, 0.96]  # above nengo-loihi's intercept limit
        kw.update(max_rates=mr, intercepts=ic)
        snn += [f'max_rates = {c.w(name + "_mr", mr)}', f'intercepts = {c.w(name + "_ic", ic)}']
    else:
        gain = rng.uniform(0.5, 3.0, n)
        bias = rng.uniform(-1.5, 1.5, n)
        kw.update(gain=gain, bias=bias)
        snn += [f'gain = {c.w(name + "_gain", gain)}', f'bias = {c.w(name + "_bias", bias)}']
    return kw, ", ".join(snn)


def run(c, net, ens, conns, probes):
    """Build with nengo-loihi, run, record everything."""
    with nengo_loihi.Simulator(net, dt=c.dt, target="sim", progress_bar=False) as sim:
        emu = sim.sims["emulator"]
        emu.compartment.strict = True
        blocks = list(emu.block_info.blocks)
        u, v, s = [], [], []
        step = emu.step

        def recording_step():
            step()
            u.append(emu.compartment.current.copy())
            v.append(emu.compartment.voltage.copy())
            s.append(emu.compartment.spiked.copy())

        emu.step = recording_step
        sim.run_steps(c.steps)
        out = {
            "u": np.array(u, dtype=np.int64),
            "v": np.array(v, dtype=np.int64),
            "spiked": np.array(s, dtype=np.int8),
        }
        for name, p in probes.items():
            out["probe_" + name] = np.asarray(sim.data[p], np.float64)
        model = sim.model
        for name, e in ens.items():
            out["gain_" + name] = np.asarray(model.params[e].gain, np.float64)
            out["bias_" + name] = np.asarray(model.params[e].bias, np.float64)
        for name, conn in conns.items():
            out["weights_" + name] = np.asarray(model.params[conn].weights, np.float64)
        for name, p in probes.items():
            pc = model.nengo_probe_conns.get(p)
            if pc is not None:
                out["decoders_" + name] = np.asarray(model.params[pc].weights, np.float64)
    blk, info = block_arrays(blocks)
    out.update(blk)
    return out, info


def block_arrays(blocks):
    out = {}
    info = []
    for i, b in enumerate(blocks):
        cx = b.compartment
        p = f"b{i}_"
        out[p + "decay_u"] = np.asarray(cx.decay_u, np.int64)
        out[p + "decay_v"] = np.asarray(cx.decay_v, np.int64)
        out[p + "vth"] = np.asarray(cx.vth, np.int64)
        out[p + "bias"] = np.asarray(cx.bias, np.int64)
        out[p + "refract_delay"] = np.asarray(cx.refract_delay, np.int64)
        out[p + "vmin"] = np.int64(cx.vmin)
        out[p + "vmax"] = np.int64(cx.vmax)
        syns = []
        for k, syn in enumerate(b.synapses):
            q = f"{p}s{k}_"
            out[q + "weight_exp"] = np.int64(syn.synapse_cfg.weight_exp)
            width = max(w.shape[1] for w in syn.weights)
            ws = np.zeros((len(syn.weights), width), np.int64)
            ix = -np.ones((len(syn.weights), width), np.int64)
            for a, (w, j) in enumerate(zip(syn.weights, syn.indices)):
                ws[a, : w.shape[1]] = w[0]
                ix[a, : w.shape[1]] = j[0]
            out[q + "weights"] = ws
            out[q + "indices"] = ix
            syns.append({"label": syn.label or "", "n_axons": int(syn.n_axons), "bits": int(syn.bits())})
        util = b.utilization()
        info.append(
            {
                "population_axons": False,
                "label": b.label or "",
                "n": int(b.n_neurons),
                "synapses": syns,
                "in_axons": int(util["in-axons"][0]),
                "out_axons": int(util["out-axons"][0]),
                "synapse_bits": int(util["synapses"][0]),
            }
        )
    return out, info


# ================================================================================================


@register
def nef_channel():
    c = g.Case(
        "nef_channel",
        """A communication channel: a sine node into LIF ensemble a (on/off input neurons on the
        host), a decoded into LIF ensemble b (decode neurons on the chip), b probed decoded
        (non-spiking decode block, synapse 10 ms) and a's and b's spikes probed. a is built from
        explicit max rates and intercepts, three of them above nengo-loihi's intercept limit.""",
        steps=200,
    )
    rng = c.rng
    with nengo.Network(seed=0) as net:
        u = nengo.Node(lambda t: np.sin(2 * np.pi * 5 * t), label="u")
        ka, sa = ens_args(c, "a", 50, 1, rng, rates_intercepts=True)
        kb, sb = ens_args(c, "b", 50, 1, rng)
        a = nengo.Ensemble(50, 1, label="a", **ka)
        b = nengo.Ensemble(50, 1, label="b", **kb)
        c_ua = nengo.Connection(u, a, synapse=0.005)
        c_ab = nengo.Connection(a, b, synapse=0.01)
        pb = nengo.Probe(b, synapse=0.01)
        pa_s = nengo.Probe(a.neurons)
        pb_s = nengo.Probe(b.neurons)
    c.set_snn(
        f"""
        weights w = "weights.npz"
        node u = fn t -> sin(2 * pi * 5 * t)
        ensemble a = lif(n = 50, dims = 1, {sa})
        ensemble b = lif(n = 50, dims = 1, {sb})
        connect u -> a synapse 5ms
        connect a -> b synapse 10ms
        probe b_value = b synapse 10ms
        probe a_spikes = a.neurons
        probe b_spikes = b.neurons
        """
    )
    del c_ua
    exp, info = run(c, net, {"a": a, "b": b}, {"conn1": c_ab},
                    {"b_value": pb, "a_spikes": pa_s, "b_spikes": pb_s})
    return c, exp, info


@register
def nef_integrator():
    c = g.Case(
        "nef_integrator",
        """An integrator: a pulse node into LIF ensemble a (transform 0.1, synapse 100 ms) and a
        recurrent decoded connection a -> a (synapse 100 ms, through decode neurons), a probed
        decoded (synapse 10 ms).""",
        steps=200,
    )
    rng = c.rng
    with nengo.Network(seed=0) as net:
        u = nengo.Node(lambda t: 5.0 * (t > 0.0205) * (t < 0.1205), label="u")
        ka, sa = ens_args(c, "a", 60, 1, rng)
        a = nengo.Ensemble(60, 1, label="a", **ka)
        nengo.Connection(u, a, transform=0.1, synapse=0.1)
        c_aa = nengo.Connection(a, a, synapse=0.1)
        pa = nengo.Probe(a, synapse=0.01)
    c.set_snn(
        f"""
        weights w = "weights.npz"
        node u = fn t -> (t > 0.0205) * (t < 0.1205) * 5
        ensemble a = lif(n = 60, dims = 1, {sa})
        connect u -> a transform 0.1 synapse 100ms
        connect a -> a synapse 100ms
        probe a_value = a synapse 10ms
        """
    )
    exp, info = run(c, net, {"a": a}, {"conn1": c_aa}, {"a_value": pa})
    return c, exp, info


@register
def nef_product():
    c = g.Case(
        "nef_product",
        """Two dimensions and functions: a 2-D node into 2-D LIF ensemble a; a decoded into 2-D
        spiking-ReLU ensemble b (from max rates and intercepts) with the function [x0 * x1, x0 * x0] and a dense transform, and a
        pre-sliced a[1] into b (transform [[0.4], [0]]), both through decode neurons (each its
        own block; one shared encoder synapse on b); b probed decoded (synapse 10 ms).
        nengo-loihi 1.1 asserts on post slices of decoded connections, so none is used.""",
        steps=200,
    )
    rng = c.rng
    T = np.array([[0.0, 0.5], [1.0, 0.0]])
    T2 = np.array([[0.4], [0.0]])
    with nengo.Network(seed=0) as net:
        u = nengo.Node(lambda t: [np.sin(2 * np.pi * 4 * t), np.cos(2 * np.pi * 3 * t)], label="u")
        ka, sa = ens_args(c, "a", 80, 2, rng)
        kb, sb = ens_args(c, "b", 60, 2, rng, rates_intercepts=True)
        a = nengo.Ensemble(80, 2, label="a", **ka)
        b = nengo.Ensemble(60, 2, label="b", neuron_type=nengo.SpikingRectifiedLinear(), **kb)
        nengo.Connection(u, a, synapse=0.005)
        c1 = nengo.Connection(a, b, function=lambda x: [x[0] * x[1], x[0] * x[0]], transform=T, synapse=0.01)
        c2 = nengo.Connection(a[1], b, transform=T2, synapse=0.01)
        pb = nengo.Probe(b, synapse=0.01)
    c.set_snn(
        f"""
        weights w = "weights.npz"
        node u = fn t -> [sin(2 * pi * 4 * t), cos(2 * pi * 3 * t)]
        ensemble a = lif(n = 80, dims = 2, {sa})
        ensemble b = spiking_relu(n = 60, dims = 2, {sb})
        connect u -> a synapse 5ms
        connect a -> b fn x -> [x[0] * x[1], x[0] * x[0]] transform {c.w("T", T)} synapse 10ms
        connect a[1] -> b transform {c.w("T2", T2)} synapse 10ms
        probe b_value = b synapse 10ms
        """
    )
    exp, info = run(c, net, {"a": a, "b": b}, {"conn1": c1, "conn2": c2}, {"b_value": pb})
    return c, exp, info


@register
def nef_to_host():
    c = g.Case(
        "nef_to_host",
        """Decoded connections from the chip to the host: a sine node into LIF ensemble a, a
        decoded into node `sq` (x squared, synapse 10 ms) and into node `lin` (transform -0.5,
        synapse 5 ms), each through a non-spiking block whose voltages the host reads
        (nengo-loihi's build_chip_to_host); the nodes probed.""",
        steps=200,
    )
    rng = c.rng
    with nengo.Network(seed=0) as net:
        u = nengo.Node(lambda t: np.sin(2 * np.pi * 5 * t), label="u")
        ka, sa = ens_args(c, "a", 50, 1, rng)
        a = nengo.Ensemble(50, 1, label="a", **ka)
        sq = nengo.Node(size_in=1, label="sq")
        lin = nengo.Node(size_in=1, label="lin")
        nengo.Connection(u, a, synapse=0.005)
        nengo.Connection(a, sq, function=lambda x: x * x, synapse=0.01)
        nengo.Connection(a, lin, transform=-0.5, synapse=0.005)
        psq = nengo.Probe(sq)
        plin = nengo.Probe(lin)
    c.set_snn(
        f"""
        weights w = "weights.npz"
        node u = fn t -> sin(2 * pi * 5 * t)
        ensemble a = lif(n = 50, dims = 1, {sa})
        node sq: [1]
        node lin: [1]
        connect u -> a synapse 5ms
        connect a -> sq fn x -> x * x synapse 10ms
        connect a -> lin transform -0.5 synapse 5ms
        probe sq
        probe lin
        """
    )
    exp, info = run(c, net, {"a": a}, {}, {"sq": psq, "lin": plin})
    return c, exp, info


@register
def nef_host_neurons():
    c = g.Case(
        "nef_host_neurons",
        """Host values straight into neurons (nengo-loihi's build_host_to_chip with a Neurons
        post): a 2-D sine node into the neurons of LIF ensemble e through a dense 8x2 transform
        (synapse 5 ms, multiplied by e's gains) and a 3-D node into a spiking-ReLU layer m
        (identity, no synapse); on/off neurons on the host encode the node values, the chip
        applies the transform to their spikes.""",
        steps=200,
    )
    rng = c.rng
    T = rng.uniform(-1, 1, (8, 2))
    e_gain = rng.uniform(1, 3, 8)
    e_bias = rng.uniform(0.5, 2, 8)
    e_enc = unit(rng, 8, 1)
    m_bias = rng.uniform(5, 30, 3)
    with nengo.Network(seed=0) as net:
        u = nengo.Node(lambda t: [np.sin(2 * np.pi * 5 * t), np.cos(2 * np.pi * 3 * t)], label="u")
        w = nengo.Node(lambda t: [0.5 + 0.5 * np.sin(2 * np.pi * 2 * t), 0.8, -0.3], label="w")
        e = nengo.Ensemble(8, 1, gain=e_gain, bias=e_bias, encoders=e_enc, label="e")
        m = g.layer(3, nengo.SpikingRectifiedLinear(), m_bias, "m")
        nengo.Connection(u, e.neurons, transform=T, synapse=0.005)
        nengo.Connection(w, m, synapse=None)
        pe = nengo.Probe(e.neurons)
        pm = nengo.Probe(m)
    c.set_snn(
        f"""
        weights w = "weights.npz"
        node u = fn t -> [sin(2 * pi * 5 * t), cos(2 * pi * 3 * t)]
        node v = fn t -> [0.5 + 0.5 * sin(2 * pi * 2 * t), 0.8, -0.3]
        ensemble e = lif(n = 8, dims = 1, gain = {c.w("e_gain", e_gain)}, bias = {c.w("e_bias", e_bias)}, encoders = {c.w("e_enc", e_enc)})
        layer m: [3] = spiking_relu(bias = {c.w("m_bias", m_bias)})
        connect u -> e.neurons transform {c.w("T", T)} synapse 5ms
        connect v -> m synapse none
        probe e_spikes = e.neurons
        probe m_spikes = m
        """
    )
    exp, info = run(c, net, {"e": e}, {}, {"e_spikes": pe, "m_spikes": pm})
    return c, exp, info


@register
def nef_weight_solver():
    c = g.Case(
        "nef_weight_solver",
        """A weight solver: a sine node into LIF ensemble a, a into LIF ensemble b with
        `LstsqL2(weights=True)` (the decoders times b's encoders and gains, one neuron-to-neuron
        weight matrix on the chip, no decode neurons, synapse 10 ms), and b's neurons into LIF
        ensemble d through a dense transform (a neurons -> ensemble connection: the transform
        times d's encoders, synapse 5 ms); spikes probed.""",
        steps=200,
    )
    rng = c.rng
    T = rng.uniform(-0.02, 0.02, (1, 40))
    with nengo.Network(seed=0) as net:
        u = nengo.Node(lambda t: np.sin(2 * np.pi * 5 * t), label="u")
        ka, sa = ens_args(c, "a", 50, 1, rng)
        kb, sb = ens_args(c, "b", 40, 1, rng)
        kd, sd = ens_args(c, "d", 30, 1, rng)
        a = nengo.Ensemble(50, 1, label="a", **ka)
        b = nengo.Ensemble(40, 1, label="b", **kb)
        d = nengo.Ensemble(30, 1, label="d", **kd)
        nengo.Connection(u, a, synapse=0.005)
        c_ab = nengo.Connection(a, b, solver=nengo.solvers.LstsqL2(weights=True), synapse=0.01)
        c_bd = nengo.Connection(b.neurons, d, transform=T, synapse=0.005)
        pa = nengo.Probe(a.neurons)
        pb = nengo.Probe(b.neurons)
        pd = nengo.Probe(d.neurons)
    c.set_snn(
        f"""
        weights w = "weights.npz"
        node u = fn t -> sin(2 * pi * 5 * t)
        ensemble a = lif(n = 50, dims = 1, {sa})
        ensemble b = lif(n = 40, dims = 1, {sb})
        ensemble d = lif(n = 30, dims = 1, {sd})
        connect u -> a synapse 5ms
        connect a -> b solver lstsq_l2(weights = true) synapse 10ms
        connect b.neurons -> d transform {c.w("T", T)} synapse 5ms
        probe a_spikes = a.neurons
        probe b_spikes = b.neurons
        probe d_spikes = d.neurons
        """
    )
    # no decoders to compare (a weight matrix, a transform): the emulator's every compartment
    # at every step is the check
    del c_ab, c_bd
    exp, info = run(c, net, {"a": a, "b": b, "d": d}, {},
                    {"a_spikes": pa, "b_spikes": pb, "d_spikes": pd})
    return c, exp, info


def main():
    names = sys.argv[1:] or list(CASES)
    for name in names:
        c, exp, info = CASES[name]()
        g.write_case(c, exp, info)
        toml = g.OUT_DIR / c.name / "case.toml"
        text = toml.read_text().replace("blocks = ", "nef = true\nblocks = ", 1)
        toml.write_text(text)


if __name__ == "__main__":
    main()
