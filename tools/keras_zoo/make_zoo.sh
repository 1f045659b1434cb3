#!/usr/bin/env bash
# Regenerate the Keras model zoo in tests/keras (see tools/keras_zoo/README.md).
# Usage: tools/keras_zoo/make_zoo.sh [--only MODEL...] [--no-nengodl]
# K2_PYTHON / K3_PYTHON override the interpreters (TF 2.12 + NengoDL 3.6, and Keras 3).
set -euo pipefail
cd "$(dirname "$0")/../.."
K2_PYTHON=${K2_PYTHON:-/work/venvs/nengodl/bin/python}
K3_PYTHON=${K3_PYTHON:-/work/venvs/keras3/bin/python}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
export TF_CPP_MIN_LOG_LEVEL=3 CUDA_VISIBLE_DEVICES=-1 PYTHONHASHSEED=0
"$K2_PYTHON" tools/keras_zoo/make_zoo.py --keras 2 --out tests/keras --work "$WORK" "$@"
"$K3_PYTHON" tools/keras_zoo/make_zoo.py --keras 3 --out tests/keras --work "$WORK" "$@"
du -sh tests/keras
