#!/usr/bin/env bash
# Idempotent set-up of the mmkd development environment.
#
# Creates a virtualenv at .venv (override with MMKD_VENV), installs the pinned
# OpenMMLab stack (requirements/stack.txt), builds mmcv 2.1.0 from source once per
# torch version into a wheel cache (MMKD_WHEEL_CACHE, default ~/.cache/mmkd/wheels)
# and installs mmkd in editable mode. A second run with nothing changed only checks
# the imports and exits.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV=${MMKD_VENV:-$ROOT/.venv}
PYTHON=${MMKD_PYTHON:-python3.11}
TORCH_VERSION=2.14.1
TORCHVISION_VERSION=0.29.1
MMCV_VERSION=2.1.0
WHEEL_CACHE=${MMKD_WHEEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mmkd/wheels}

log() { printf '[setup_env] %s\n' "$*" >&2; }

cd "$ROOT"
STAMP="$VENV/.mmkd-stack-stamp"
WANT=$(cat requirements/stack.txt setup.py tools/setup_env.sh | sha256sum | cut -d' ' -f1)
check_imports() {
  "$VENV/bin/python" - <<'PY' >/dev/null 2>&1
import torch, torchvision, mmengine, mmcv, mmdet, mmpretrain, ot, sklearn, pycocotools, mmkd
from mmcv.ops import nms, RoIAlign  # fails if the wheel was built against another torch
PY
}
if [[ -f "$STAMP" && "$(cat "$STAMP")" == "$WANT" ]] && check_imports; then
  log "environment at $VENV is up to date"
  exit 0
fi

if [[ ! -x "$VENV/bin/python" ]]; then
  log "creating virtualenv $VENV with $PYTHON"
  "$PYTHON" -m venv "$VENV"
fi
PY="$VENV/bin/python"
PIP=("$PY" -m pip --disable-pip-version-check)

have_torch=$("$PY" -c 'import torch, torchvision; print(torch.__version__.split("+")[0], torchvision.__version__.split("+")[0])' 2>/dev/null || true)
if [[ "$have_torch" != "$TORCH_VERSION $TORCHVISION_VERSION" ]]; then
  log "installing torch $TORCH_VERSION + torchvision $TORCHVISION_VERSION (large, from local disk where available)"
  "${PIP[@]}" install "torch==$TORCH_VERSION" "torchvision==$TORCHVISION_VERSION"
fi

# mmcv's setup.py imports pkg_resources (setuptools<70) and uses ninja when present.
log "installing build tools and the pinned stack"
"${PIP[@]}" install 'setuptools<70' wheel ninja
# mmdet/mmpretrain list mmcv only as an extra, so the whole pinned stack installs before
# mmcv is built; mmcv's own runtime deps (addict, yapf, ...) come from mmengine.
"${PIP[@]}" install -r requirements/stack.txt
# timm: a test-only reference (the timm checkpoint mapping is checked against
# timm's own models). --no-deps: its hub dependencies would pull a newer
# setuptools (no pkg_resources) that mmcv's build and mmengine's hub need;
# timm imports them only to download, which the tests never do.
"${PIP[@]}" install --no-deps timm==1.0.31

# mmcv: one wheel per torch build (pip's own cache ignores the torch version, see
# the README's stack section), built with -std=c++20 for torch 2.14's headers.
TORCH_TAG=$("$PY" -c 'import torch, sys; print(torch.__version__.replace("+", "_") + ("_cuda" if torch.cuda.is_available() else "_cpu") + "_py%d%d" % sys.version_info[:2])')
CACHE_DIR="$WHEEL_CACHE/torch-$TORCH_TAG"
mkdir -p "$CACHE_DIR"
WHEEL=$(ls "$CACHE_DIR"/mmcv-"$MMCV_VERSION"-*.whl 2>/dev/null | head -n1 || true)
if [[ -z "$WHEEL" ]]; then
  log "building mmcv $MMCV_VERSION from source for torch $TORCH_TAG (about 25-30 minutes on 2 cores)"
  BUILD=$(mktemp -d)
  trap 'rm -rf "$BUILD"' EXIT
  "${PIP[@]}" download --no-deps --no-binary :all: --no-build-isolation -d "$BUILD" "mmcv==$MMCV_VERSION"
  tar -xzf "$BUILD"/mmcv-"$MMCV_VERSION".tar.gz -C "$BUILD"
  sed -i 's/c++17/c++20/g' "$BUILD/mmcv-$MMCV_VERSION/setup.py"
  (cd "$BUILD/mmcv-$MMCV_VERSION" && MAX_JOBS=${MAX_JOBS:-2} MMCV_WITH_OPS=1 \
     "${PIP[@]}" wheel --no-build-isolation --no-deps --no-cache-dir -w "$BUILD/dist" .)
  # Move into the cache only once complete, so an interrupted build is never reused.
  built=$(ls "$BUILD"/dist/mmcv-*.whl)
  mv "$built" "$CACHE_DIR/.partial.whl"
  mv "$CACHE_DIR/.partial.whl" "$CACHE_DIR/$(basename "$built")"
  WHEEL="$CACHE_DIR/$(basename "$built")"
fi
if ! "$PY" -c 'import mmcv, sys; from mmcv.ops import nms; sys.exit(mmcv.__version__ != "'"$MMCV_VERSION"'")' >/dev/null 2>&1; then
  log "installing $WHEEL"
  "${PIP[@]}" install --no-deps --force-reinstall "$WHEEL"
fi

log "installing mmkd (editable)"
"${PIP[@]}" install --no-deps --no-build-isolation -e "$ROOT"

if ! check_imports; then
  log "import check failed after install:"
  "$PY" -c 'import mmcv, mmdet, mmpretrain, mmkd; from mmcv.ops import nms'
  exit 1
fi
echo "$WANT" > "$STAMP"
log "environment ready: $VENV"
