"""NengoDL 3.6 oracles for `snnc train` (run with tools/requirements-nengo.txt installed).

1. Gradients (`tests/train/grad_*.npz`): small networks with given weights, trained for one
   full-batch step of SGD (learning rate 1, float64) by NengoDL; the weight change is minus the
   gradient of the MSE loss, which cli/tests/train.rs compares with snnc's gradients: layers
   with transforms and biases (ReLU, LIF, LIFRate, LIF with `lif_smoothing`), two convolutions
   (grad_conv: valid, and strided same padding), and an NEF network (encoders, biases,
   decoders; an untrainable ensemble).
2. The autoencoder of NengoDL's "From TensorFlow to NengoDL" tutorial
   (examples/autoencoder/autoencoder.snn): 784 -> 64 ReLU -> 784 ReLU, Glorot, gain 1, bias 0,
   no synapses, RMSprop(1e-3), MSE on raw pixels, 2 epochs, minibatch 50, on the 8,000 shipped
   training digits; test MSE on the 2,000 test digits and seconds per epoch, for several seeds
   (examples/autoencoder/nengodl_results.json).

Usage: python tools/train/nengodl_oracle.py [--skip-autoencoder]
"""

import json
import os
import sys
import time

import numpy as np
import nengo
import nengo_dl
import tensorflow as tf

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def grad_case(name, neuron, synapse, steps, probe_synapse, lif_smoothing=None):
    """One gradient fixture: writes tests/train/NAME.npz (inputs, targets, weights, gradients)
    and tests/train/NAME.snn (the same network)."""
    rng = np.random.RandomState(42)
    n_in, n_h, n_out, batch = 4, 6, 3, 5
    w1 = rng.uniform(-1, 1, size=(n_h, n_in))
    w2 = rng.uniform(-1, 1, size=(n_out, n_h))
    b1 = rng.uniform(0.5, 1.5, size=n_h)
    b2 = rng.uniform(0.5, 1.5, size=n_out)
    x = rng.uniform(-1, 1, size=(batch, steps, n_in))
    y = rng.uniform(0, 2, size=(batch, steps, n_out))
    with nengo.Network(seed=0) as net:
        nengo_dl.configure_settings(dtype="float64", stateful=False, lif_smoothing=lif_smoothing)
        inp = nengo.Node(np.zeros(n_in))
        h = nengo.Ensemble(n_h, 1, neuron_type=neuron, gain=np.ones(n_h), bias=b1)
        o = nengo.Ensemble(n_out, 1, neuron_type=neuron, gain=np.ones(n_out), bias=b2)
        c1 = nengo.Connection(inp, h.neurons, transform=w1, synapse=synapse)
        c2 = nengo.Connection(h.neurons, o.neurons, transform=w2, synapse=synapse)
        p = nengo.Probe(o.neurons, synapse=probe_synapse)
    with nengo_dl.Simulator(net, minibatch_size=batch, progress_bar=False) as sim:
        sim.compile(optimizer=tf.optimizers.SGD(1.0), loss=tf.losses.mse)
        before = {
            "w1": sim.data[c1].weights.copy(),
            "w2": sim.data[c2].weights.copy(),
            "b1": sim.data[h].bias.copy(),
            "b2": sim.data[o].bias.copy(),
        }
        sim.fit({inp: x}, {p: y}, epochs=1, verbose=0)
        after = {
            "w1": sim.data[c1].weights.copy(),
            "w2": sim.data[c2].weights.copy(),
            "b1": sim.data[h].bias.copy(),
            "b2": sim.data[o].bias.copy(),
        }
    grads = {f"grad_{k}": before[k] - after[k] for k in before}
    out = os.path.join(ROOT, "tests", "train")
    np.savez(os.path.join(out, f"{name}.npz"), x=x, y=y, w1=w1, w2=w2, b1=b1, b2=b2, **grads)
    kind = {nengo.RectifiedLinear: "relu", nengo.LIF: "lif", nengo.LIFRate: "lif_rate"}[type(neuron)]
    amp = "" if neuron.amplitude == 1 else f"amplitude = {neuron.amplitude}, "
    syn = "none" if synapse is None else f"{synapse.tau * 1000:g}ms"
    psyn = "none" if probe_synapse is None else f"{probe_synapse.tau * 1000:g}ms"
    snn = f"""// NengoDL gradient fixture {name} (tools/train/nengodl_oracle.py).
weights w = "{name}.npz"
input x: [{n_in}]
layer h: [{n_h}] = {kind}({amp}bias = w["b1"])
layer y: [{n_out}] = {kind}({amp}bias = w["b2"])
connect x -> h transform w["w1"] synapse {syn}
connect h -> y transform w["w2"] synapse {syn}
probe y synapse {psyn}
"""
    with open(os.path.join(out, f"{name}.snn"), "w") as f:
        f.write(snn)
    print(name, {k: float(np.abs(v).max()) for k, v in grads.items()})


def grad_nef():
    """An NEF network trained as NengoDL trains it: ensemble `a`'s scaled encoders and biases
    and the decoders of the decoded connection `a -> b` (a function of two dimensions), with
    `b` made untrainable (`net.config[b].trainable = False`); LIFRate neurons, lowpass synapses,
    6 steps, MSE on `b`'s decoded (filtered) probe. Encoders, gains, biases and eval points
    are given so that both simulators build the same decoders."""
    name = "grad_nef"
    rng = np.random.RandomState(7)
    na, nb, batch, steps = 20, 15, 4, 6
    enc_a = rng.normal(size=(na, 2))
    enc_a /= np.linalg.norm(enc_a, axis=1, keepdims=True)
    enc_b = np.where(rng.uniform(size=(nb, 1)) < 0.5, -1.0, 1.0)
    gain_a, bias_a = rng.uniform(1, 3, size=na), rng.uniform(-1, 2, size=na)
    gain_b, bias_b = rng.uniform(1, 3, size=nb), rng.uniform(-1, 2, size=nb)
    eval_a = rng.uniform(-1, 1, size=(200, 2))
    eval_b = rng.uniform(-1, 1, size=(100, 1))
    x = rng.uniform(-1, 1, size=(batch, steps, 2))
    y = rng.uniform(-0.5, 0.5, size=(batch, steps, 1))
    with nengo.Network(seed=0) as net:
        nengo_dl.configure_settings(dtype="float64", stateful=False, trainable=None)
        inp = nengo.Node(np.zeros(2))
        a = nengo.Ensemble(na, 2, neuron_type=nengo.LIFRate(), encoders=enc_a, gain=gain_a,
                           bias=bias_a, eval_points=eval_a)
        b = nengo.Ensemble(nb, 1, neuron_type=nengo.LIFRate(), encoders=enc_b, gain=gain_b,
                           bias=bias_b, eval_points=eval_b)
        net.config[b].trainable = False
        nengo.Connection(inp, a, synapse=0.003)
        c = nengo.Connection(a, b, function=lambda v: v[0] * v[1], synapse=0.003)
        p = nengo.Probe(b, synapse=0.01)
    with nengo_dl.Simulator(net, minibatch_size=batch, progress_bar=False) as sim:
        sim.compile(optimizer=tf.optimizers.SGD(1.0), loss=tf.losses.mse)
        def params():
            return {
                "enc": sim.data[a].scaled_encoders.copy(),
                "bias": sim.data[a].bias.copy(),
                "dec": sim.data[c].weights.copy(),
                "b_enc": sim.data[b].scaled_encoders.copy(),
                "b_bias": sim.data[b].bias.copy(),
            }
        before = params()
        sim.fit({inp: x}, {p: y}, epochs=1, verbose=0)
        after = params()
    for k in ("b_enc", "b_bias"):
        assert np.array_equal(before[k], after[k]), f"NengoDL trained the untrainable {k}"
    grads = {f"grad_{k}": before[k] - after[k] for k in ("enc", "bias", "dec")}
    out = os.path.join(ROOT, "tests", "train")
    np.savez(os.path.join(out, f"{name}.npz"), x=x, y=y, enc_a=enc_a, enc_b=enc_b, gain_a=gain_a,
             bias_a=bias_a, gain_b=gain_b, bias_b=bias_b, eval_a=eval_a, eval_b=eval_b,
             dec=before["dec"], **grads)
    snn = f"""// NengoDL gradient fixture {name} (tools/train/nengodl_oracle.py): encoders, biases and
// decoders of an NEF network; `b` is not trained.
weights w = "{name}.npz"
input x: [2]
ensemble a = lif_rate(n = {na}, dims = 2, encoders = w["enc_a"], gain = w["gain_a"],
                      bias = w["bias_a"], eval_points = w["eval_a"])
ensemble b = lif_rate(n = {nb}, dims = 1, encoders = w["enc_b"], gain = w["gain_b"],
                      bias = w["bias_b"], eval_points = w["eval_b"], trainable = false)
connect x -> a synapse 3ms
connect a -> b fn v -> v[0] * v[1] synapse 3ms
probe b synapse 10ms
"""
    with open(os.path.join(out, f"{name}.snn"), "w") as f:
        f.write(snn)
    print(name, {k: float(np.abs(v).max()) for k, v in grads.items()})


def grad_conv_case(name):
    """A convolutional gradient fixture: input (6, 6, 2) -> conv 3x3x3 valid -> ReLU (4, 4, 3)
    -> conv 3x3x2 stride 2 same, 5 ms synapse -> ReLU (2, 2, 2), 3 steps; the same files as
    grad_case (w1, w2: the kernels, kernel_size + (in, out) as NengoDL keeps them)."""
    rng = np.random.RandomState(7)
    batch, steps = 4, 3
    w1 = rng.uniform(-0.6, 0.6, size=(3, 3, 2, 3))
    w2 = rng.uniform(-0.6, 0.6, size=(3, 3, 3, 2))
    b1 = rng.uniform(-0.2, 0.6, size=4 * 4 * 3)
    b2 = rng.uniform(0.1, 0.6, size=2 * 2 * 2)
    x = rng.uniform(-1, 1, size=(batch, steps, 6 * 6 * 2))
    y = rng.uniform(0, 2, size=(batch, steps, 2 * 2 * 2))
    with nengo.Network(seed=0) as net:
        nengo_dl.configure_settings(dtype="float64", stateful=False)
        inp = nengo.Node(np.zeros(6 * 6 * 2))
        h = nengo.Ensemble(4 * 4 * 3, 1, neuron_type=nengo.RectifiedLinear(),
                           gain=np.ones(4 * 4 * 3), bias=b1)
        o = nengo.Ensemble(2 * 2 * 2, 1, neuron_type=nengo.RectifiedLinear(),
                           gain=np.ones(2 * 2 * 2), bias=b2)
        t1 = nengo.Convolution(3, (6, 6, 2), kernel_size=(3, 3), strides=(1, 1),
                               padding="valid", channels_last=True, init=w1)
        t2 = nengo.Convolution(2, t1.output_shape.shape, kernel_size=(3, 3), strides=(2, 2),
                               padding="same", channels_last=True, init=w2)
        assert t2.output_shape.shape == (2, 2, 2), t2.output_shape.shape
        c1 = nengo.Connection(inp, h.neurons, transform=t1, synapse=None)
        c2 = nengo.Connection(h.neurons, o.neurons, transform=t2, synapse=nengo.Lowpass(0.005))
        p = nengo.Probe(o.neurons, synapse=None)
    with nengo_dl.Simulator(net, minibatch_size=batch, progress_bar=False) as sim:
        sim.compile(optimizer=tf.optimizers.SGD(1.0), loss=tf.losses.mse)
        before = {
            "w1": sim.data[c1].weights.copy(),
            "w2": sim.data[c2].weights.copy(),
            "b1": sim.data[h].bias.copy(),
            "b2": sim.data[o].bias.copy(),
        }
        sim.fit({inp: x}, {p: y}, epochs=1, verbose=0)
        after = {
            "w1": sim.data[c1].weights.copy(),
            "w2": sim.data[c2].weights.copy(),
            "b1": sim.data[h].bias.copy(),
            "b2": sim.data[o].bias.copy(),
        }
    assert before["w1"].shape == w1.shape and np.array_equal(before["w1"], w1)
    grads = {f"grad_{k}": before[k] - after[k] for k in before}
    out = os.path.join(ROOT, "tests", "train")
    np.savez(os.path.join(out, f"{name}.npz"), x=x, y=y, w1=w1, w2=w2, b1=b1, b2=b2, **grads)
    snn = f"""// NengoDL gradient fixture {name} (tools/train/nengodl_oracle.py).
weights w = "{name}.npz"
input x: [6, 6, 2]
layer h: [4, 4, 3] = relu(bias = w["b1"])
layer y: [2, 2, 2] = relu(bias = w["b2"])
connect x -> h transform conv2d(kernel = w["w1"], strides = [1, 1], padding = valid) synapse none
connect h -> y transform conv2d(kernel = w["w2"], strides = [2, 2], padding = same) synapse 5ms
probe y
"""
    with open(os.path.join(out, f"{name}.snn"), "w") as f:
        f.write(snn)
    print(name, {k: float(np.abs(v).max()) for k, v in grads.items()})


def autoencoder(seeds):
    data = np.load(os.path.join(ROOT, "examples", "mnist", "train_8000_u8.npz"))
    test = np.load(os.path.join(ROOT, "examples", "mnist", "test_2000_u8.npz"))
    train_data = data["images"].reshape((-1, 1, 784)).astype(np.float32)
    test_data = test["images"].reshape((-1, 1, 784)).astype(np.float32)
    n_in, n_hidden, minibatch_size, n_epochs = 784, 64, 50, 2
    results = []
    for seed in seeds:
        with nengo.Network(seed=seed) as auto_net:
            nengo_a = nengo.Node(np.zeros(n_in))
            nengo_b = nengo.Ensemble(n_hidden, 1, neuron_type=nengo.RectifiedLinear())
            nengo.Connection(nengo_a, nengo_b.neurons, transform=nengo_dl.dists.Glorot())
            nengo_c = nengo.Ensemble(n_in, 1, neuron_type=nengo.RectifiedLinear())
            nengo.Connection(nengo_b.neurons, nengo_c.neurons, transform=nengo_dl.dists.Glorot())
            p_c = nengo.Probe(nengo_c.neurons)
        for ens in auto_net.all_ensembles:
            ens.gain = nengo.dists.Choice([1])
            ens.bias = nengo.dists.Choice([0])
        for conn in auto_net.all_connections:
            conn.synapse = None
        tf.random.set_seed(seed)
        with nengo_dl.Simulator(auto_net, minibatch_size=minibatch_size, progress_bar=False, seed=seed) as sim:
            sim.compile(optimizer=tf.optimizers.RMSprop(1e-3), loss=tf.losses.mse)
            times = []
            for _ in range(n_epochs):
                t0 = time.perf_counter()
                sim.fit(train_data, train_data, epochs=1, verbose=0)
                times.append(time.perf_counter() - t0)
            mse = sim.evaluate(test_data, test_data, verbose=0)["loss"]
        results.append({"seed": seed, "test_mse": float(mse), "seconds_per_epoch": times})
        print("autoencoder seed", seed, results[-1])
    out = {
        "tool": f"nengo {nengo.__version__}, nengo-dl {nengo_dl.__version__}, tensorflow {tf.__version__} (CPU)",
        "setup": "784-64-784 ReLU, Glorot, gain 1, bias 0, no synapses, RMSprop(1e-3), MSE, 2 epochs, minibatch 50, 8000 training / 2000 test digits (raw pixels)",
        "runs": results,
        "mean_test_mse": float(np.mean([r["test_mse"] for r in results])),
    }
    with open(os.path.join(ROOT, "examples", "autoencoder", "nengodl_results.json"), "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    grad_case("grad_relu", nengo.RectifiedLinear(), None, 1, None)
    grad_case("grad_lif_synapse", nengo.LIF(amplitude=0.01), nengo.Lowpass(0.005), 4, nengo.Lowpass(0.01))
    grad_case("grad_lifrate_synapse", nengo.LIFRate(amplitude=0.01), nengo.Lowpass(0.003), 3, None)
    grad_case("grad_lif_smoothing", nengo.LIF(amplitude=0.01), nengo.Lowpass(0.005), 4,
              nengo.Lowpass(0.01), lif_smoothing=0.5)
    grad_nef()
    grad_conv_case("grad_conv")
    if "--skip-autoencoder" not in sys.argv:
        autoencoder([0, 1, 2, 3, 4, 5])
