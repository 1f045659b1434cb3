#!/usr/bin/env python
"""Cores nengo-loihi 1.1 uses for examples/mnist's converted convnet (the `--backend loihi`
comparison in examples/mnist/README.md).

    /work/venvs/loihi/bin/python tools/loihi/mnist_cores.py SAFETENSORS [--scale 20]

SAFETENSORS is what `snnc import examples/mnist/model.keras -o X.snn --swap relu=spiking_relu
...` wrote next to X.snn (the kernels and biases). The script builds by hand the network
NengoDL's converter makes of the model (nengo-dl is not in the nengo-loihi venv): the input
image as a Node, conv0 and conv1 as SpikingRectifiedLinear ensembles (gain `--scale`,
amplitude 1/scale, their biases), Conv2D transforms (the Keras kernels), the dense layer as a
Node fed from conv1 with the kernel, and a probe on it. As in nengo-loihi's keras-to-loihi
example, conv0 runs off-chip (nengo-loihi cannot send a convolution of a host value to the
chip: `build_host_to_chip` raises BuildError) and conv1 needs a hand-written BlockShape. Every
block shape that fills whole cores is tried; the script prints the cores each builds into (or
its error) and the fewest, as JSON on the last line.
"""

import argparse
import json
import struct
import sys
import warnings

import nengo
import nengo_loihi
import numpy as np

assert nengo.__version__ == "3.2.0", nengo.__version__
assert nengo_loihi.__version__ == "1.1.0", nengo_loihi.__version__


def read_safetensors(path):
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    dtypes = {"F64": np.float64, "F32": np.float32}
    for name, meta in header.items():
        if name == "__metadata__":
            continue
        a, b = meta["data_offsets"]
        out[name] = np.frombuffer(data[a:b], dtype=dtypes[meta["dtype"]]).reshape(meta["shape"])
    return out


def build(w, scale, shape):
    k0, b0 = w["conv0/kernel"], w["conv0/bias"]
    k1, b1 = w["conv1/kernel"], w["conv1/bias"]
    kd, bd = w["dense/kernel"], w["dense/bias"]
    neuron = nengo.SpikingRectifiedLinear(amplitude=1.0 / scale)
    with nengo.Network(seed=0) as net:
        nengo_loihi.add_params(net)
        image = nengo.Node(np.zeros(28 * 28))
        t0 = nengo.Convolution(32, (28, 28, 1), kernel_size=(3, 3), strides=(1, 1),
                               padding="valid", init=k0)
        conv0 = nengo.Ensemble(t0.output_shape.size, 1, neuron_type=neuron,
                               gain=nengo.dists.Choice([scale]), bias=np.broadcast_to(b0, (21632,)).copy())
        nengo.Connection(image, conv0.neurons, transform=t0, synapse=None)
        net.config[conv0].on_chip = False
        t1 = nengo.Convolution(64, t0.output_shape, kernel_size=(3, 3), strides=(2, 2),
                               padding="valid", init=k1)
        conv1 = nengo.Ensemble(t1.output_shape.size, 1, neuron_type=neuron,
                               gain=nengo.dists.Choice([scale]), bias=np.broadcast_to(b1, (9216,)).copy())
        nengo.Connection(conv0.neurons, conv1.neurons, transform=t1, synapse=0.01)
        net.config[conv1].block_shape = nengo_loihi.BlockShape(shape, (12, 12, 64))
        dense = nengo.Node(size_in=10)
        nengo.Connection(conv1.neurons, dense, transform=kd.T, synapse=0.01)
        bias = nengo.Node(bd)
        nengo.Connection(bias, dense, synapse=None)
        nengo.Probe(dense)
    return net


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("safetensors")
    ap.add_argument("--scale", type=float, default=20.0)
    args = ap.parse_args()
    w = read_safetensors(args.safetensors)
    results = {}
    shapes = [(r, c, f) for r in range(1, 13) for c in range(1, 13) for f in (8, 16, 32, 64)
              if r * c * f <= 1024 and r * c * f * 2 > 1024 and 12 % r == 0 and 12 % c == 0]
    for shape in shapes:
        net = build(w, args.scale, shape)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                with nengo_loihi.Simulator(net, target="sim", progress_bar=False) as sim:
                    blocks = len(sim.model.blocks)
            results[str(shape)] = blocks
        except Exception as e:  # noqa: BLE001 - report every shape's outcome
            results[str(shape)] = f"{type(e).__name__}: {e}"[:200]
        print(shape, results[str(shape)], flush=True)
    built = {k: v for k, v in results.items() if isinstance(v, int)}
    best = min(built.items(), key=lambda kv: kv[1]) if built else None
    print(json.dumps({"nengo_loihi": nengo_loihi.__version__, "shapes": results,
                      "fewest_cores": best[1] if best else None,
                      "block_shape": best[0] if best else None}))


if __name__ == "__main__":
    sys.exit(main())
