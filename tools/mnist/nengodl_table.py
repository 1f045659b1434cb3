#!/usr/bin/env python3
"""NengoDL reference table for the MNIST example: every run of the keras-to-snn notebook.

Run with the NengoDL env (nengo 3.2.0, nengo-dl 3.6.0, tensorflow-cpu 2.12.1):
    /work/venvs/nengodl/bin/python tools/mnist/nengodl_table.py [--rows NAME,...] [--core-images 20]

For each row this does what the notebook's helper ``run_network`` does
(https://www.nengo.ai/nengo-dl/examples/keras-to-snn.html, cell [6]):
  * ``nengo_dl.Converter(model, swap_activations={tf.nn.relu: activation},
    scale_firing_rates=scale, synapse=synapse)`` on the notebook's convnet (built in code with
    ``activation=tf.nn.relu``, exactly as cell [3], then given the trained weights of
    examples/mnist/model.h5 or model_regularized.h5 -- the notebook instead calls
    ``sim.load_params``; the Converter copies the Keras weights, which is the same thing);
  * a probe on ``converter.layers[conv0]`` (here restricted to the 1000 neurons the notebook
    plots, ``np.linspace(0, n, 1000, endpoint=False, dtype=np.int32)``, to save memory; probes
    are passive so the dynamics are unchanged);
  * ``configure_settings(stateful=False)``; ``converter.net.seed = 0``;
    ``nengo_dl.Simulator(net, minibatch_size=10, seed=0)``.  The notebook sets neither seed.
    Note: the Simulator's ``seed`` only seeds stochastic processes; the objects' build seeds --
    hence the SpikingRectifiedLinear initial voltages, U(0, 1) in Nengo 3.2 -- come from the
    *network* seed (or the global NumPy stream when it is None).  With ``net.seed = 0`` NengoDL
    and nengo.Simulator draw the same initial voltages; they are saved to
    examples/mnist/nengodl_initial_voltages.npz (identical for every spiking row);
  * ``sim.predict`` on the 400 images of examples/mnist/test_images.npy, each tiled over
    ``n_steps`` steps (flattened to (400, n_steps, 784) as the notebook does);
  * accuracy = argmax of the output probe at the LAST step vs examples/mnist/test_labels.npy;
  * conv0 rates exactly as the notebook's plot titles: ``scaled = probe[ii, :, sample].T * scale``;
    spiking: ``rates = sum(scaled * 0.001, axis=0) / (n_steps * dt)`` (Hz per neuron);
    rate neurons: ``rates = scaled`` (every step).  The notebook prints mean/max for images
    0..3; we record those four and also the mean / max over all 400 images.

It also times the Nengo reference simulator (nengo.Simulator, one image at a time, on the
spiking / scale 20 / synapse 10 ms / 30 step row) on the first --core-images images, checks its
predictions against NengoDL's, and records image-steps/s for both with the CPU model.

Output: examples/mnist/nengodl_results.json, and a table on stdout.
"""

import argparse
import json
import os
import platform
import re
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import nengo  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import nengo_dl  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
OUT = os.path.join(REPO, "examples", "mnist")
sys.path.insert(0, HERE)
from train import build_model  # noqa: E402  (the notebook's cell [3], same layer names)

SIM_SEED = 0
NET_SEED = 0  # converter.net.seed: fixes the build (the spiking neurons' initial voltages)
MINIBATCH = 10
DT = 0.001
N_SAMPLE = 1000  # neurons the notebook plots

# name, model file, activation, n_steps, scale_firing_rates, synapse, notebook accuracy (%)
ROWS = [
    ("rate_relu_10", "model", "RectifiedLinear", 10, 1, None, 98.25),
    ("spiking_10", "model", "SpikingRectifiedLinear", 10, 1, None, 14.25),
    ("spiking_50", "model", "SpikingRectifiedLinear", 50, 1, None, 27.25),
    ("spiking_120_syn1ms", "model", "SpikingRectifiedLinear", 120, 1, 0.001, 26.25),
    ("spiking_120_syn5ms", "model", "SpikingRectifiedLinear", 120, 1, 0.005, 74.75),
    ("spiking_120_syn10ms", "model", "SpikingRectifiedLinear", 120, 1, 0.01, 79.25),
    ("spiking_scale2_syn10ms", "model", "SpikingRectifiedLinear", 30, 2, 0.01, 14.25),
    ("spiking_scale10_syn10ms", "model", "SpikingRectifiedLinear", 30, 10, 0.01, 96.25),
    ("spiking_scale20_syn10ms", "model", "SpikingRectifiedLinear", 30, 20, 0.01, 98.25),
    ("spiking_scale1000_10", "model", "SpikingRectifiedLinear", 10, 1000, None, 98.25),
    ("regularized_rate_relu_10", "model_regularized", "RectifiedLinear", 10, 1, None, 98.50),
    ("regularized_spiking_syn10ms", "model_regularized", "SpikingRectifiedLinear", 30, 1, 0.01, 98.25),
]
CORE_ROW = "spiking_scale20_syn10ms"


MODELS_DIR = OUT


def load_keras(model_name):
    """The notebook's model (tf.nn.relu activations) with the trained weights of MODEL.h5."""
    model, inp, conv0, conv1, dense = build_model()
    model.load_weights(os.path.join(MODELS_DIR, model_name + ".h5"))
    return model, inp, conv0, dense


def convert(model, inp, conv0, dense, activation, scale, synapse, sample):
    neuron = getattr(nengo, activation)()
    conv = nengo_dl.Converter(
        model,
        swap_activations={tf.nn.relu: neuron},
        scale_firing_rates=scale,
        synapse=synapse,
    )
    # the swap must have happened (a no-op swap is silent in NengoDL)
    types = {type(e.neuron_type).__name__ for e in conv.net.all_ensembles}
    assert types == {activation}, types
    conv.net.seed = NET_SEED
    with conv.net:
        conv0_probe = nengo.Probe(conv.layers[conv0][sample])
        nengo_dl.configure_settings(stateful=False)
    return conv, conv.inputs[inp], conv.outputs[dense], conv0_probe


def conv0_rates(data, spiking, scale, n_steps):
    """Notebook cell [6] rate computation for every image: list of (mean, max) per image."""
    out = []
    for ii in range(data.shape[0]):
        scaled = data[ii].astype(np.float64) * scale  # (n_steps, N_SAMPLE) == data[ii, :, sample].T
        if spiking:
            rates = np.sum(scaled * 0.001, axis=0) / (n_steps * DT)
        else:
            rates = scaled
        out.append((float(rates.mean()), float(rates.max())))
    return out


def run_row(row, images, labels, keep_outputs=False):
    name, model_name, activation, n_steps, scale, synapse, nb_acc = row
    t0 = time.perf_counter()
    model, inp, conv0, dense = load_keras(model_name)
    n_conv0 = int(np.prod(conv0.shape[1:]))
    sample = np.linspace(0, n_conv0, N_SAMPLE, endpoint=False, dtype=np.int32)
    conv, nin, nout, p0 = convert(model, inp, conv0, dense, activation, scale, synapse, sample)
    tiled = np.tile(images.reshape((images.shape[0], 1, -1)), (1, n_steps, 1))
    with nengo_dl.Simulator(conv.net, minibatch_size=MINIBATCH, seed=SIM_SEED, progress_bar=False) as sim:
        t1 = time.perf_counter()
        data = sim.predict({nin: tiled}, verbose=0)
        t2 = time.perf_counter()
        voltages = None
        if activation.startswith("Spiking"):
            voltages = {
                layer.name: np.array(sim.model.sig[conv.layers[layer.output]]["voltage"].initial_value)
                for layer in model.layers if layer.name in ("conv0", "conv1")
            }
    t3 = time.perf_counter()
    out = data[nout]
    preds = np.argmax(out[:, -1], axis=-1)
    acc = float((preds == labels).mean())
    spiking = activation.startswith("Spiking")
    rates = conv0_rates(data[p0], spiking, scale, n_steps)
    means = np.array([r[0] for r in rates])
    maxes = np.array([r[1] for r in rates])
    res = dict(
        name=name,
        model=model_name + ".h5",
        converter=dict(
            swap_activations={"tf.nn.relu": f"nengo.{activation}()"},
            scale_firing_rates=scale,
            synapse=synapse,
        ),
        n_steps=n_steps,
        minibatch_size=MINIBATCH,
        simulator_seed=SIM_SEED,
        network_seed=NET_SEED,
        n_test=int(images.shape[0]),
        accuracy=acc,
        notebook_accuracy=nb_acc / 100,
        conv0_rate_first4=[dict(mean=m, max=x) for m, x in rates[:4]],
        conv0_rate_mean=float(means.mean()),
        conv0_rate_max=float(maxes.max()),
        wall_seconds=round(t3 - t0, 3),
        predict_seconds=round(t2 - t1, 3),
        image_steps_per_second=round(images.shape[0] * n_steps / (t2 - t1), 1),
        predictions=preds.tolist(),
    )
    extra = dict(out=out, model=model, voltages=voltages) if keep_outputs else None
    return res, extra


def time_nengo_core(images, labels, dl_out, n_images, dl_voltages):
    """Run the CORE_ROW network in nengo.Simulator one image at a time; return a dict."""
    row = next(r for r in ROWS if r[0] == CORE_ROW)
    _, model_name, activation, n_steps, scale, synapse, _ = row
    model, inp, conv0, dense = load_keras(model_name)
    n_conv0 = int(np.prod(conv0.shape[1:]))
    sample = np.linspace(0, n_conv0, N_SAMPLE, endpoint=False, dtype=np.int32)
    conv, nin, nout, _ = convert(model, inp, conv0, dense, activation, scale, synapse, sample)
    current = [images[0].ravel().astype(np.float64)]
    nin.output = lambda t: current[0]
    t0 = time.perf_counter()
    sim = nengo.Simulator(conv.net, dt=DT, seed=SIM_SEED, progress_bar=False)
    build = time.perf_counter() - t0
    vdiff = 0.0
    if dl_voltages is not None:
        for layer in model.layers:
            if layer.name in dl_voltages:
                v = sim.model.sig[conv.layers[layer.output]]["voltage"].initial_value
                vdiff = max(vdiff, float(np.abs(v - dl_voltages[layer.name]).max()))
    outs, run_time = [], 0.0
    with sim:
        for i in range(n_images):
            current[0] = images[i].ravel().astype(np.float64)
            sim.reset()
            t1 = time.perf_counter()
            sim.run_steps(n_steps)
            run_time += time.perf_counter() - t1
            outs.append(sim.data[nout].copy())
    outs = np.stack(outs)  # (n_images, n_steps, 10)
    preds = np.argmax(outs[:, -1], axis=-1)
    dl_preds = np.argmax(dl_out[:n_images, -1], axis=-1)
    return dict(
        row=CORE_ROW,
        simulator="nengo.Simulator (reference, float64), one image at a time, reset between images",
        n_images=n_images,
        n_steps=n_steps,
        build_seconds=round(build, 3),
        run_seconds=round(run_time, 3),
        image_steps_per_second=round(n_images * n_steps / run_time, 1),
        accuracy=float((preds == labels[:n_images]).mean()),
        predictions=preds.tolist(),
        max_abs_initial_voltage_diff_vs_nengodl=vdiff,
        predictions_agree_with_nengodl=int((preds == dl_preds).sum()),
        max_abs_output_diff_vs_nengodl=float(np.abs(outs - dl_out[:n_images]).max()),
    )


def dump_json(doc, path):
    """json.dump with indent=1, but lists of numbers kept on one line."""
    text = json.dumps(doc, indent=1)
    text = re.sub(r"\[\s*(-?[0-9][0-9.e+-]*(?:,\s*-?[0-9][0-9.e+-]*)*)\s*\]",
                  lambda m: "[" + ", ".join(x.strip() for x in m.group(1).split(",")) + "]", text)
    with open(path, "w") as f:
        f.write(text + "\n")


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", help="comma-separated row names (default: all)")
    ap.add_argument("--core-images", type=int, default=20, help="images for the nengo.Simulator timing (0: skip)")
    ap.add_argument("--out", default=os.path.join(OUT, "nengodl_results.json"))
    ap.add_argument("--models-dir", default=OUT, help="where model.h5 / model_regularized.h5 are")
    args = ap.parse_args()
    global MODELS_DIR
    MODELS_DIR = args.models_dir

    images = np.load(os.path.join(OUT, "test_images.npy"))  # (400, 28, 28, 1) float32 0..255
    labels = np.load(os.path.join(OUT, "test_labels.npy"))
    wanted = set(args.rows.split(",")) if args.rows else None
    rows = [r for r in ROWS if wanted is None or r[0] in wanted]

    results, core_dl_out, checks, voltages = [], None, {}, None
    for row in rows:
        res, extra = run_row(row, images, labels, keep_outputs=True)
        results.append(res)
        if row[0] == CORE_ROW:
            core_dl_out = extra["out"]
        if extra["voltages"] is not None:
            if voltages is None:
                voltages = extra["voltages"]
            else:  # the same build seeds for every spiking row
                for k, v in voltages.items():
                    assert np.array_equal(v, extra["voltages"][k]), (row[0], k)
        if row[2] == "RectifiedLinear":
            # the rate network must reproduce the Keras model (Converter.verify's check)
            keras_logits = extra["model"].predict(images, batch_size=100, verbose=0)
            d = float(np.abs(extra["out"][:, -1] - keras_logits).max())
            checks[row[0]] = dict(max_abs_diff_vs_keras_logits=d, keras_accuracy=float(
                (np.argmax(keras_logits, -1) == labels).mean()))
            res["max_abs_diff_vs_keras_logits"] = d
        print(f"{res['name']:30s} acc {100 * res['accuracy']:6.2f}% (notebook {row[6]:6.2f}%)  "
              f"conv0 mean {res['conv0_rate_mean']:8.1f} Hz max {res['conv0_rate_max']:8.1f} Hz  "
              f"wall {res['wall_seconds']:7.1f} s  {res['image_steps_per_second']:8.1f} img-steps/s",
              flush=True)

    doc = dict(
        description="NengoDL 3.6 runs of every row of the keras-to-snn notebook on the 400 "
                    "walkthrough images (tools/mnist/nengodl_table.py)",
        images="examples/mnist/test_images.npy (400, 28, 28, 1) float32 0..255",
        labels="examples/mnist/test_labels.npy",
        accuracy_definition="argmax of the output probe (dense, synapse None) at the last step",
        conv0_rate_definition=(
            "notebook cell [6]: sample = linspace(0, 21632, 1000, endpoint=False, int32); scaled = "
            "probe[ii][:, sample] * scale_firing_rates; spiking: per-neuron rate = sum(scaled*0.001, "
            "axis=steps)/(n_steps*dt); rate neurons: every step's value. conv0_rate_first4 = per image "
            "0..3 as the notebook prints; conv0_rate_mean = mean over images of per-image mean; "
            "conv0_rate_max = max over images of per-image max"),
        environment=dict(nengo=nengo.__version__, nengo_dl=nengo_dl.__version__,
                         tensorflow=tf.__version__, numpy=np.__version__,
                         python=platform.python_version(), cpu=cpu_model(),
                         cpu_count=os.cpu_count()),
        rows=results,
    )
    if args.core_images and core_dl_out is not None:
        core = time_nengo_core(images, labels, core_dl_out, args.core_images, voltages)
        dl = next(r for r in results if r["name"] == CORE_ROW)
        core["nengodl_image_steps_per_second"] = dl["image_steps_per_second"]
        doc["speed"] = core
        print(f"nengo.Simulator on {CORE_ROW}: {core['image_steps_per_second']} image-steps/s "
              f"(build {core['build_seconds']} s); NengoDL {dl['image_steps_per_second']} image-steps/s; "
              f"{core['predictions_agree_with_nengodl']}/{core['n_images']} predictions agree, "
              f"max |out diff| {core['max_abs_output_diff_vs_nengodl']:.3g}")
    if voltages is not None:
        vpath = os.path.join(os.path.dirname(args.out), "nengodl_initial_voltages.npz")
        np.savez_compressed(vpath, **{k: v.astype(np.float32) for k, v in voltages.items()})
        doc["initial_voltages"] = dict(
            file=os.path.basename(vpath),
            description="SpikingRectifiedLinear initial voltage of every conv0 / conv1 neuron "
                        "(flat, Keras channels-last H*W*C order), drawn by Nengo's builder from "
                        "U(0,1) with network seed 0; the same in every spiking row and in the "
                        "nengo.Simulator run",
            shapes={k: list(v.shape) for k, v in voltages.items()})
    dump_json(doc, args.out)

    print()
    print(f"{'row':30s} {'acc %':>7s} {'notebook':>8s} {'conv0 mean':>10s} {'conv0 max':>10s} {'wall s':>7s}")
    for r in results:
        print(f"{r['name']:30s} {100 * r['accuracy']:7.2f} {100 * r['notebook_accuracy']:8.2f} "
              f"{r['conv0_rate_mean']:10.1f} {r['conv0_rate_max']:10.1f} {r['wall_seconds']:7.1f}")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
