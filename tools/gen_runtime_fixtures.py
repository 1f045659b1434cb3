"""Generate the snn-runtime test fixtures from the real Nengo 3.2 / NengoDL 3.6.

Run with the pinned environment (tools/requirements-nengo.txt):

    /work/venvs/nengodl/bin/python tools/gen_runtime_fixtures.py

Writes small compressed .npz files to runtime/tests/fixtures/:

- neurons.npz     every neuron type driven through nengo.Simulator by explicit currents from
                  explicit initial states (dt = 1 ms and 0.7 ms): inputs, outputs, state traces
- gain_bias.npz   gain_bias / rates / max_rates_intercepts on a grid, and which inputs Nengo rejects
- synapses.npz    discretised (A, B, C, D), step kind, filt() responses to a step and a sine,
                  and the response seen through the simulator (update-phase delay)
- processes.npz   PresentInput outputs; WhiteSignal samples; WhiteNoise, PoissonSpiking and
                  StochasticSpiking statistics (random streams differ from NumPy's, so only
                  statistics are compared)
- io_*            arrays of many dtypes and layouts written by NumPy (np.save, np.savez,
                  np.savez_compressed) and by the safetensors package, with their float64 values

Array names are "<case>.<dt tag>.<what>", e.g. "lif.dt1.voltage".
"""

import os
import warnings

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
warnings.filterwarnings("ignore")

import nengo  # noqa: E402
import nengo_dl  # noqa: E402  (LeakyReLU, SpikingLeakyReLU)
from nengo.exceptions import ValidationError  # noqa: E402

assert nengo.__version__ == "3.2.0", nengo.__version__
assert nengo_dl.__version__ == "3.6.0", nengo_dl.__version__

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "runtime", "tests", "fixtures")
# The array I/O crate (runtime/io, snn-io) keeps its own fixtures.
IO_OUT = os.path.join(HERE, "..", "runtime", "io", "tests", "fixtures")

DTS = {"dt1": 0.001, "dt07": 0.0007}
N_STEPS = 200
N_NEURONS = 8


def currents(dt, n_steps=N_STEPS):
    """Eight current traces: ramp across threshold, constants, negative, sine, a jump, noise."""
    t = dt * np.arange(1, n_steps + 1)
    rng = np.random.RandomState(7)
    j = np.zeros((n_steps, N_NEURONS))
    j[:, 0] = np.linspace(-1, 4, n_steps)
    j[:, 1] = 1.5
    j[:, 2] = 5.0
    j[:, 3] = 0.5
    j[:, 4] = -2.0
    j[:, 5] = 2 + 2 * np.sin(2 * np.pi * 5 * t)
    j[:, 6] = np.where(np.arange(n_steps) < n_steps // 4, 0.0, 20.0)
    j[:, 7] = rng.uniform(-2, 6, size=n_steps)
    return j


INIT = {
    "voltage": np.array([0.0, 0.1, 0.5, 0.95, 0.3, 0.7, 0.2, 0.999]),
    "refractory_time": np.array([0.0, 0.0015, 0.0, 0.003, 0.0, 0.0005, 0.001, 0.0]),
    "adaptation": np.array([0.0, 0.5, 1.0, 0.0, 2.0, 0.1, 0.0, 0.3]),
}
IZH_INIT = {
    "voltage": np.array([-65.0, -70.0, 0.0, 0.5, 25.0, -50.0, -65.0, 10.0]),
    "recovery": np.array([-13.0, 0.0, -14.0, 5.0, 0.0, -10.0, 2.0, -13.0]),
}


def neuron_cases():
    """(case name, neuron type factory taking initial_state, current scale)."""
    lif_kw = dict(tau_rc=0.05, tau_ref=0.003, min_voltage=-1.0, amplitude=0.5)
    return [
        ("relu", lambda s: nengo.RectifiedLinear(amplitude=2.0), 1.0),
        ("spiking_relu", lambda s: nengo.SpikingRectifiedLinear(amplitude=0.5, initial_state=s), 40.0),
        ("leaky_relu", lambda s: nengo_dl.neurons.LeakyReLU(negative_slope=0.1, amplitude=1.5), 1.0),
        (
            "spiking_leaky_relu",
            lambda s: nengo_dl.neurons.SpikingLeakyReLU(negative_slope=0.2, amplitude=1.0, initial_state=s),
            40.0,
        ),
        ("sigmoid", lambda s: nengo.Sigmoid(tau_ref=0.004), 1.0),
        ("tanh", lambda s: nengo.Tanh(tau_ref=0.003), 1.0),
        ("lif_rate", lambda s: nengo.LIFRate(tau_rc=0.03, tau_ref=0.001, amplitude=0.7), 1.0),
        ("lif", lambda s: nengo.LIF(initial_state=s), 1.0),
        ("lif_params", lambda s: nengo.LIF(initial_state=s, **lif_kw), 1.0),
        ("adaptive_lif_rate", lambda s: nengo.AdaptiveLIFRate(tau_n=0.1, inc_n=0.05, initial_state=s), 1.0),
        ("adaptive_lif", lambda s: nengo.AdaptiveLIF(tau_n=0.1, inc_n=0.05, initial_state=s), 1.0),
        ("izhikevich", lambda s: nengo.Izhikevich(initial_state=s), 5.0),
        (
            "izhikevich_fs",
            lambda s: nengo.Izhikevich(tau_recovery=0.1, coupling=0.25, reset_voltage=-55, reset_recovery=4, initial_state=s),
            5.0,
        ),
        ("regular_lif_rate", lambda s: nengo.RegularSpiking(nengo.LIFRate(), amplitude=0.8, initial_state=s), 1.0),
        ("regular_tanh", lambda s: nengo.RegularSpiking(nengo.Tanh(), initial_state=s), 1.0),
        (
            "regular_adaptive",
            lambda s: nengo.RegularSpiking(
                nengo.AdaptiveLIFRate(tau_n=0.1, inc_n=0.05, initial_state={"adaptation": INIT["adaptation"]}),
                initial_state=s,
            ),
            1.0,
        ),
    ]


def initial_state_for(neuron_type):
    names = list(neuron_type.state)
    init = IZH_INIT if isinstance(neuron_type, nengo.Izhikevich) else INIT
    return {k: init[k] for k in names}, names


def simulate(make_type, j, dt):
    """Drive neurons with current `j` (steps, n) through nengo.Simulator; J equals j exactly."""
    probe_type = make_type(None)
    state, _ = initial_state_for(probe_type)
    neuron_type = make_type(state) if state else make_type(None)
    n_steps, n = j.shape
    with nengo.Network() as net:
        stim = nengo.Node(lambda t: j[int(round(t / dt)) - 1])
        ens = nengo.Ensemble(n, 1, neuron_type=neuron_type, gain=np.ones(n), bias=np.zeros(n))
        nengo.Connection(stim, ens.neurons, synapse=None)
        probes = {"output": nengo.Probe(ens.neurons)}
        extra = ["rate_out"] if isinstance(neuron_type, nengo.neurons.RatesToSpikesNeuronType) else []
        base_state = list(getattr(neuron_type, "base_type", nengo.RectifiedLinear()).state)
        for name in list(neuron_type.state) + base_state + extra:
            probes[name] = nengo.Probe(ens.neurons, name)
    with nengo.Simulator(net, dt=dt, progress_bar=False, optimize=False) as sim:
        sim.run_steps(n_steps)
    data = {name: sim.data[p] for name, p in probes.items()}
    init = dict(state)
    if isinstance(neuron_type, nengo.RegularSpiking) and isinstance(neuron_type.base_type, nengo.AdaptiveLIFRate):
        init["adaptation"] = INIT["adaptation"]
    return data, init


def gen_neurons():
    out = {}
    for tag, dt in DTS.items():
        for case, make_type, scale in neuron_cases():
            j = scale * currents(dt)
            data, init = simulate(make_type, j, dt)
            key = f"{case}.{tag}"
            out[f"{key}.J"] = j
            for name, value in data.items():
                out[f"{key}.{name}"] = value
            for name, value in init.items():
                out[f"{key}.init_{name}"] = value
            out[f"{key}.dt"] = np.array(dt)
    return out


def gen_gain_bias():
    out = {}
    mr, ic = np.meshgrid([20.0, 100.0, 250.0, 399.0], [-0.9, -0.2, 0.0, 0.5, 0.95])
    max_rates, intercepts = mr.ravel(), ic.ravel()
    x = np.linspace(-1, 1, 21)
    cases = [
        ("relu", nengo.RectifiedLinear(amplitude=2.0)),
        ("spiking_relu", nengo.SpikingRectifiedLinear()),
        ("leaky_relu", nengo_dl.neurons.LeakyReLU(negative_slope=0.1)),
        ("sigmoid", nengo.Sigmoid()),
        ("tanh", nengo.Tanh()),
        ("lif_rate", nengo.LIFRate(amplitude=0.7)),
        ("lif", nengo.LIF(tau_rc=0.05, tau_ref=0.0015)),
        ("adaptive_lif", nengo.AdaptiveLIF(tau_n=0.1, inc_n=0.05)),
        ("izhikevich", nengo.Izhikevich()),
        ("regular_lif_rate", nengo.RegularSpiking(nengo.LIFRate())),
    ]
    for name, nt in cases:
        gain, bias = nt.gain_bias(max_rates, intercepts)
        out[f"{name}.max_rates"] = max_rates
        out[f"{name}.intercepts"] = intercepts
        out[f"{name}.gain"] = gain
        out[f"{name}.bias"] = bias
        out[f"{name}.x"] = x
        out[f"{name}.rates"] = nt.rates(x, gain, bias)
        mr_back, ic_back = nt.max_rates_intercepts(gain, bias)
        out[f"{name}.max_rates_back"] = np.asarray(mr_back, dtype=float)
        out[f"{name}.intercepts_back"] = np.asarray(ic_back, dtype=float)

    def raises(nt, mr):
        try:
            nt.gain_bias(np.array(mr, dtype=float), np.zeros(len(mr)))
        except ValidationError:
            return 1.0
        return 0.0

    # 1 where Nengo rejects the max rates, 0 where it accepts them.
    out["errors.lif_500"] = np.array(raises(nengo.LIF(), [100.0, 500.0]))
    out["errors.lif_499"] = np.array(raises(nengo.LIF(), [100.0, 499.0]))
    out["errors.sigmoid_400"] = np.array(raises(nengo.Sigmoid(), [400.0]))
    out["errors.tanh_400"] = np.array(raises(nengo.Tanh(), [400.0]))
    out["errors.lif_rate_tau_ref0"] = np.array(raises(nengo.LIFRate(tau_ref=0.0), [5000.0]))
    return out


def filters():
    taus = (0.002, 0.005, 0.01)
    den3 = np.polymul(np.polymul([taus[0], 1], [taus[1], 1]), [taus[2], 1])
    return [
        ("lowpass", nengo.Lowpass(0.005)),
        ("lowpass0", nengo.Lowpass(0.0)),
        ("alpha", nengo.Alpha(0.003)),
        ("order2", nengo.LinearFilter([1.0], [0.002 * 0.01, 0.012, 1.0])),
        ("order2num", nengo.LinearFilter([0.004, 1.0], [0.003 * 0.006, 0.009, 1.0])),
        ("order3", nengo.LinearFilter([2e-3, 1.0], list(den3))),
        ("passthrough", nengo.LinearFilter([0.005, 1.0], [0.01, 1.0])),
    ]


STEP_KIND = {"NoX": 0, "OneX": 1, "OneXScalar": 1, "NoD": 2, "General": 3}


def gen_synapses():
    out = {}
    n_steps = 150
    for tag, dt in DTS.items():
        t = dt * np.arange(1, n_steps + 1)
        step_in = np.where(np.arange(n_steps) < 10, 0.0, 1.0)[:, None]
        sine_in = np.stack([np.sin(2 * np.pi * f * t + p) for f, p in [(5, 0.0), (20, 1.0), (60, 2.0)]], axis=1)
        out[f"input.{tag}.step"] = step_in
        out[f"input.{tag}.sine"] = sine_in
        for name, syn in filters():
            key = f"{name}.{tag}"
            A, B, C, D = syn._get_ss(dt)
            out[f"{key}.A"] = np.atleast_2d(A) if A.size else np.zeros((0, 0))
            out[f"{key}.B"] = np.ravel(B)
            out[f"{key}.C"] = np.ravel(C)
            out[f"{key}.D"] = np.array(np.ravel(D)[0])
            state = syn.make_state((1,), (1,), dt)
            step = syn.make_step((1,), (1,), dt, rng=None, state=state)
            out[f"{key}.kind"] = np.array(float(STEP_KIND[type(step).__name__]))
            out[f"{key}.step"] = syn.filt(step_in, dt=dt, y0=0)
            out[f"{key}.sine"] = syn.filt(sine_in, dt=dt, y0=0)
            # The same filter on a connection: output appears one step later.
            with nengo.Network() as net:
                src = nengo.Node(lambda t, dt=dt: sine_in[int(round(t / dt)) - 1])
                dst = nengo.Node(size_in=3)
                nengo.Connection(src, dst, synapse=syn)
                probe = nengo.Probe(dst)
            with nengo.Simulator(net, dt=dt, progress_bar=False) as sim:
                sim.run_steps(n_steps)
            out[f"{key}.sim_sine"] = sim.data[probe]
    return out


def gen_processes():
    out = {}
    # PresentInput through a Node: exact outputs.
    images = np.arange(5 * 2 * 3, dtype=float).reshape(5, 2, 3) * 0.5 - 3
    for name, pt, dt, n_steps in [
        ("present_a", 0.0123, 0.001, 300),
        ("present_b", 0.003, 0.001, 100),
        ("present_c", 0.0021, 0.0007, 100),
    ]:
        with nengo.Network() as net:
            node = nengo.Node(nengo.processes.PresentInput(images, pt))
            probe = nengo.Probe(node)
        with nengo.Simulator(net, dt=dt, progress_bar=False) as sim:
            sim.run_steps(n_steps)
        out[f"{name}.inputs"] = images
        out[f"{name}.presentation_time"] = np.array(pt)
        out[f"{name}.dt"] = np.array(dt)
        out[f"{name}.output"] = sim.data[probe]

    # WhiteSignal: one full period of samples (stats and band limit are compared).
    for name, kw, dt, dims in [
        ("white_signal_a", dict(period=2.0, high=20.0, rms=0.5), 0.001, 3),
        ("white_signal_b", dict(period=1.0, high=40.0, rms=0.3, y0=0.1), 0.0007, 2),
    ]:
        proc = nengo.processes.WhiteSignal(seed=3, **kw)
        n_steps = int(np.ceil(kw["period"] / dt / 2.0)) * 2
        samples = proc.run_steps(n_steps, d=dims, dt=dt)
        out[f"{name}.samples"] = samples
        out[f"{name}.dt"] = np.array(dt)
        out[f"{name}.period"] = np.array(kw["period"])
        out[f"{name}.high"] = np.array(kw["high"])
        out[f"{name}.rms"] = np.array(kw["rms"])
        out[f"{name}.y0"] = np.array(kw.get("y0", np.nan))

    # WhiteNoise statistics.
    for name, kw, dt in [
        ("white_noise_a", dict(), 0.001),
        ("white_noise_b", dict(dist=nengo.dists.Gaussian(0.5, 2.0), scale=False), 0.0007),
        ("white_noise_c", dict(dist=nengo.dists.Gaussian(-1.0, 0.5)), 0.0007),
    ]:
        proc = nengo.processes.WhiteNoise(seed=5, **kw)
        samples = proc.run_steps(5000, d=4, dt=dt)
        out[f"{name}.mean"] = np.array(samples.mean())
        out[f"{name}.std"] = np.array(samples.std())
        out[f"{name}.n"] = np.array(float(samples.size))
        dist = kw.get("dist", nengo.dists.Gaussian(0, 1))
        out[f"{name}.dist_mean"] = np.array(float(dist.mean))
        out[f"{name}.dist_std"] = np.array(float(dist.std))
        out[f"{name}.scale"] = np.array(float(kw.get("scale", True)))
        out[f"{name}.dt"] = np.array(dt)

    # Poisson / stochastic spiking: mean spike counts per step, and the deterministic base rates.
    j = np.array([0.5, 1.2, 1.5, 3.0, 10.0, -1.0])
    for name, make, dt in [
        ("poisson_lif_rate", lambda: nengo.PoissonSpiking(nengo.LIFRate(), amplitude=0.5), 0.001),
        ("poisson_tanh", lambda: nengo.PoissonSpiking(nengo.Tanh()), 0.001),
        ("stochastic_lif_rate", lambda: nengo.StochasticSpiking(nengo.LIFRate()), 0.001),
        ("stochastic_tanh", lambda: nengo.StochasticSpiking(nengo.Tanh()), 0.0007),
    ]:
        n_steps = 4000
        with nengo.Network(seed=1) as net:
            stim = nengo.Node(j)
            ens = nengo.Ensemble(len(j), 1, neuron_type=make(), gain=np.ones(len(j)), bias=np.zeros(len(j)))
            nengo.Connection(stim, ens.neurons, synapse=None)
            p_out = nengo.Probe(ens.neurons)
            p_rate = nengo.Probe(ens.neurons, "rate_out")
        with nengo.Simulator(net, dt=dt, progress_bar=False) as sim:
            sim.run_steps(n_steps)
        nt = make()
        spikes = sim.data[p_out] * dt / nt.amplitude  # signed spike counts per step
        out[f"{name}.J"] = j
        out[f"{name}.dt"] = np.array(dt)
        out[f"{name}.amplitude"] = np.array(nt.amplitude)
        out[f"{name}.n_steps"] = np.array(float(n_steps))
        out[f"{name}.mean_count"] = spikes.mean(axis=0)
        out[f"{name}.var_count"] = spikes.var(axis=0)
        out[f"{name}.rate_out"] = sim.data[p_rate][-1]
    return out


def io_arrays():
    """Arrays of many dtypes and layouts, and their float64 values."""
    rng = np.random.RandomState(11)
    arrays = {
        "f64": rng.randn(2, 3),
        "f32": rng.randn(4).astype(np.float32),
        "i64": np.array([-3, 0, 2**40], dtype=np.int64),
        "i32": np.array([[-7, 8], [9, -10]], dtype=np.int32),
        "i16": np.array([-300, 300], dtype=np.int16),
        "i8": np.array([-128, 127], dtype=np.int8),
        "u16": np.array([65535, 1], dtype=np.uint16),
        "u8": np.arange(5, dtype=np.uint8),
        "bool": np.array([[True, False], [False, True]]),
        "scalar": np.array(2.5),
        "fortran": np.asfortranarray(np.arange(6.0).reshape(3, 2)),
        "big_endian": np.arange(4.0).astype(">f8"),
        "dense/kernel:0": rng.randn(3, 2, 2),
    }
    expected = {k: np.asarray(v, dtype=np.float64) for k, v in arrays.items()}
    return arrays, expected


def bf16_safetensors(path, values):
    """A .safetensors file with one BF16 tensor (NumPy has no bfloat16): the top 16 bits of f32."""
    import json
    import struct

    bits = (np.asarray(values, dtype=np.float32).view(np.uint32) >> 16).astype("<u2")
    data = bits.tobytes()
    header = {"w": {"dtype": "BF16", "shape": [len(values)], "data_offsets": [0, len(data)]}}
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + data)
    # The values the file really holds (truncated to bfloat16).
    return (bits.astype(np.uint32) << 16).view(np.float32).astype(np.float64)


def gen_io():
    from safetensors.numpy import save_file

    arrays, expected = io_arrays()
    np.savez(os.path.join(IO_OUT, "io_dtypes.npz"), **arrays)
    np.savez_compressed(os.path.join(IO_OUT, "io_compressed.npz"), **arrays)
    np.save(os.path.join(IO_OUT, "io_single.npy"), arrays["f32"])
    np.savez(os.path.join(IO_OUT, "io_f16.npz"), ok=np.zeros(2), half=np.ones(3, dtype=np.float16))
    np.savez(os.path.join(IO_OUT, "io_c8.npz"), ok=np.zeros(2), cplx=np.ones(3, dtype=np.complex64))
    st = {k: np.ascontiguousarray(v) for k, v in arrays.items() if k not in ("big_endian", "scalar")}
    st["f16"] = np.array([0.5, -1.25, 65504.0], dtype=np.float16)
    expected["f16"] = st["f16"].astype(np.float64)
    save_file(st, os.path.join(IO_OUT, "io_tensors.safetensors"))
    bf16_values = [1.5, -2.0, 0.15625, 3.0e38]
    expected["bf16"] = bf16_safetensors(os.path.join(IO_OUT, "io_bf16.safetensors"), bf16_values)
    np.savez(os.path.join(IO_OUT, "io_expected.npz"), **expected)


def save(name, arrays):
    path = os.path.join(OUT, name)
    np.savez_compressed(path, **arrays)
    print(f"{path}: {len(arrays)} arrays, {os.path.getsize(path)} bytes")


def main():
    os.makedirs(OUT, exist_ok=True)
    save("neurons.npz", gen_neurons())
    save("gain_bias.npz", gen_gain_bias())
    save("synapses.npz", gen_synapses())
    save("processes.npz", gen_processes())
    gen_io()


if __name__ == "__main__":
    main()
