"""MobileNetV2 with spiking ReLUs: snnc's JIT beside NengoDL 3.6, same model, same machine.

The model is the zoo's keras.applications MobileNetV2 (alpha 0.35, 32x32, random weights and
BatchNormalization statistics; tests/keras/mobilenet_v2/model.h5). Both sides swap ReLU for a
spiking ReLU:
  snnc     `snnc import --swap relu=spiking_relu` (ReLU6 is relu(x) - relu(x - 6): both ReLU
           layers spike), then `snnc bench` (JIT, float64 and float32, best of --repeat runs of
           --steps steps, compile excluded), at batch 1 and at --batch images (one thread per
           core);
  NengoDL  `nengo_dl.Converter(swap_activations={tf.nn.relu: SpikingRectifiedLinear()},
           inference_only=True, allow_fallback=True)`: NengoDL 3.6 has no converter for ReLU6
           (`ReLU(max_value=6)`), DepthwiseConv2D or the softmax head, so those run in
           TensorFlow TensorNodes (non-spiking); `sim.predict` over the images tiled for --steps
           steps, minibatch = the batch, best of --repeat after a warm-up call, build excluded.
Speed is image-steps per second (steps x images / wall-clock seconds).

    /work/venvs/nengodl/bin/python tools/bench/mobilenet_v2_spiking.py [--steps 100] \
        [--batch 16] [--repeat 3] [--snnc target/release/snnc]
Prints one JSON object (and the load averages before and after).
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "-1")

import numpy as np  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MODEL = os.path.join(ROOT, "tests", "keras", "mobilenet_v2", "model.h5")


def images(n):
    rng = np.random.default_rng(0)
    return rng.uniform(-1, 1, (n, 32, 32, 3)).astype(np.float32)


def snnc_side(opts, tmp):
    snn = os.path.join(tmp, "mnv2.snn")
    subprocess.run([opts.snnc, "import", MODEL, "--swap", "relu=spiking_relu", "-o", snn],
                   check=True, capture_output=True)
    out = {}
    for batch in (1, opts.batch):
        path = os.path.join(tmp, f"img{batch}.npy")
        np.save(path, images(batch))
        for dtype in ("float64", "float32"):
            cmd = [opts.snnc, "bench", snn, "--steps", str(opts.steps), "--repeat",
                   str(opts.repeat), "--dtype", dtype, "--backend", "jit", "--json",
                   "--input", path]
            r = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)
            out[f"batch{batch}_{dtype}"] = {
                "image_steps_per_s": r["steps_per_s"], "best_run_s": r["best_run_s"],
                "compile_s": r["compile_s"], "neurons": r["neurons"], "ops": r["ops"],
            }
    return out


def nengodl_side(opts):
    import nengo
    import nengo_dl
    import tensorflow as tf

    model = tf.keras.models.load_model(MODEL, compile=False)
    conv = nengo_dl.Converter(model, swap_activations={tf.nn.relu: nengo.SpikingRectifiedLinear()},
                              inference_only=True, allow_fallback=True)
    fallbacks = sum(type(c).__name__ == "ConvertFallback" for c in conv._layer_converters.values())
    with conv.net:
        nengo_dl.configure_settings(stateful=False)
    nin, nout = conv.inputs[model.inputs[0]], conv.outputs[model.outputs[0]]
    out = {"fallback_layers": fallbacks,
           "neurons": sum(e.n_neurons for e in conv.net.all_ensembles)}
    for batch in (1, opts.batch):
        x = images(batch).reshape((batch, 1, -1))
        tiled = np.tile(x, (1, opts.steps, 1))
        sim = nengo_dl.Simulator(conv.net, minibatch_size=batch, seed=0, progress_bar=False)
        with sim:
            sim.predict({nin: tiled}, verbose=0)  # warm-up: traces the graph
            runs = []
            for _ in range(opts.repeat):
                t0 = time.perf_counter()
                sim.predict({nin: tiled}, verbose=0)
                runs.append(time.perf_counter() - t0)
        best = min(runs)
        out[f"batch{batch}_float32"] = {"image_steps_per_s": opts.steps * batch / best,
                                        "best_run_s": best}
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--snnc", default=os.path.join(ROOT, "target", "release", "snnc"))
    ap.add_argument("--no-nengodl", action="store_true")
    opts = ap.parse_args()
    res = {"load_before": os.getloadavg(), "steps": opts.steps, "batch": opts.batch,
           "cores": os.cpu_count()}
    with tempfile.TemporaryDirectory() as tmp:
        res["snnc_jit"] = snnc_side(opts, tmp)
    if not opts.no_nengodl:
        res["nengodl"] = nengodl_side(opts)
    res["load_after"] = os.getloadavg()
    json.dump(res, sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main()
