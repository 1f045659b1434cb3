"""Run every keras.applications model that Keras 2.12 builds at a small input through
`snnc import`, `snnc verify` and NengoDL 3.6's Converter, and print a Markdown table.

Not part of CI (the models are large). Usage, from the repository root, after
`cargo build --release`:

    TF_CPP_MIN_LOG_LEVEL=3 /work/venvs/nengodl/bin/python tools/keras_zoo/applications.py \
        [--only MobileNet ResNet50 ...] [--no-nengodl] [--work /tmp/apps]

Per model: weights=None, random BatchNormalization statistics are not needed (verify compares
snnc with snnc's Keras-semantics evaluator, and the zoo tests compare that evaluator with Keras);
the smallest input each application accepts (32x32, 75x75 for InceptionV3 / InceptionResNetV2 /
Xception, 224x224 for NASNetMobile / the ConvNeXts, which fix their input). Columns:
snnc `native` (no host op), `host ops: N` (layers run as `keras_layer` host ops), or the error;
`verify` pass / fail; NengoDL: `native`, `fallback: N` TensorNodes, or the exception.
"""

import argparse
import os
import re
import subprocess
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "-1")

import tensorflow as tf  # noqa: E402

APPS = {
    "MobileNet": 32, "MobileNetV2": 32, "MobileNetV3Small": 32, "MobileNetV3Large": 32,
    "ResNet50": 32, "ResNet50V2": 32, "ResNet101": 32, "ResNet152": 32,
    "DenseNet121": 32, "DenseNet169": 32, "DenseNet201": 32,
    "VGG16": 32, "VGG19": 32,
    "EfficientNetB0": 32, "EfficientNetV2B0": 32,
    "InceptionV3": 75, "InceptionResNetV2": 75, "Xception": 71,
    "NASNetMobile": 224, "RegNetX002": 32, "ConvNeXtTiny": 32,
}


def snnc(*args):
    r = subprocess.run(["target/release/snnc", *args], capture_output=True, text=True)
    return r.returncode, r.stdout + r.stderr


def nengodl(model):
    try:
        import nengo_dl

        conv = nengo_dl.Converter(model, allow_fallback=True, inference_only=True)
        fb = sum(type(lc).__name__ == "ConvertFallback" for lc in conv._layer_converters.values())
        return "native" if fb == 0 else f"fallback: {fb}"
    except Exception as e:  # noqa: BLE001
        return f"{type(e).__name__}: {str(e).splitlines()[0][:80]}"


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--only", nargs="*")
    p.add_argument("--no-nengodl", action="store_true")
    p.add_argument("--work", default="/tmp/snnc-apps")
    a = p.parse_args()
    os.makedirs(a.work, exist_ok=True)
    rows = ["| model | input | snnc import | snnc verify | NengoDL 3.6 |", "|---|---|---|---|---|"]
    for name in a.only or APPS:
        size = APPS[name]
        try:
            ctor = getattr(tf.keras.applications, name)
            model = ctor(input_shape=(size, size, 3), weights=None, classes=10)
        except Exception as e:  # noqa: BLE001
            rows.append(f"| {name} | {size} | Keras cannot build it: {str(e)[:60]} | | |")
            continue
        path = os.path.join(a.work, f"{name}.h5")
        model.save(path, save_format="h5", include_optimizer=False)
        code, out = snnc("import", path, "-o", os.path.join(a.work, f"{name}.snn"))
        if code == 0:
            hosts = len(re.findall(r"host op", out))
            imp = "native" if hosts == 0 else f"host ops: {hosts}"
            vcode, vout = snnc("verify", path)
            ver = "pass" if vcode == 0 else "fail: " + vout.strip().splitlines()[-1][:80]
        else:
            imp, ver = "fails: " + out.strip().splitlines()[-1][:80], ""
        ndl = "" if a.no_nengodl else nengodl(model)
        rows.append(f"| {name} | {size}x{size} | {imp} | {ver} | {ndl} |")
        print(rows[-1], flush=True)
    print("\n".join(rows))


if __name__ == "__main__":
    sys.exit(main())
