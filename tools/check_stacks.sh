#!/usr/bin/env bash
# Check mmkd on the OpenMMLab stacks a user may already have (CI tests only
# the pinned stack of tools/setup_env.sh; this script is run by hand).
#
#   bash tools/check_stacks.sh [STACK ...]      (default: lite mmcv22 onedl)
#
# Stacks, each in its own venv under $MMKD_STACKS_DIR (default
# ~/.cache/mmkd/stacks), reused when present:
#   lite    Python 3.11, torch 2.14.1, mmengine 0.10.7 + mmcv-lite 2.2.0 +
#           mmpretrain 1.2.0: classification only, no compiled ops.
#   mmcv22  the same with mmcv 2.2.0 (built from its sdist with the CPU ops,
#           C++20 for torch 2.14's headers) for mmcv-lite: mmdet 3.3 refuses
#           mmcv 2.2, so classification only. (mmcv's sdist without ops is
#           mmcv-lite itself: its setup.py names it so.)
#   onedl   Python 3.12, torch 2.10.0 (the newest onedl-mmcv 2.3.6 declares
#           for Python 3.12), OneDL's onedl-mmengine, onedl-mmcv (built from
#           its sdist with the CPU ops), onedl-mmdetection, onedl-mmpretrain:
#           detection and classification.
#
# For each stack: build or reuse it (built mmcv wheels are cached per torch
# in $MMKD_WHEEL_CACHE, as tools/setup_env.sh does), `pip freeze`, install a
# wheel of mmkd built from this checkout with plain `pip install` (its
# dependencies resolved, as a user's would be), `pip freeze` again and diff
# (only mmkd may appear), resolve an `mmkd::` config through MMEngine's hub,
# then run the test suite against the installed wheel (detection tests are
# not collected where mmdet or mmcv's ops are missing, see tests/conftest.py).
# Extra pytest arguments: MMKD_STACK_PYTEST_ARGS (e.g. "-m 'not slow'").
# Exit status: non-zero when any stack failed.
set -uo pipefail
# The whole script is one compound command, read before it runs: editing
# the file during a check (they take a while) cannot derail it.
{

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
STACKS_DIR=${MMKD_STACKS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/mmkd/stacks}
WHEEL_CACHE=${MMKD_WHEEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mmkd/wheels}
# shell words, quotes honoured: "-m 'not slow'" is two arguments
eval "PYTEST_ARGS=(${MMKD_STACK_PYTEST_ARGS:-})"
mkdir -p "$STACKS_DIR"

log() { printf '[check_stacks] %s\n' "$*"; }
now() { date +%s; }

# pip <args> for the venv $VENV
vpip() { "$VENV/bin/python" -m pip --disable-pip-version-check "$@"; }

find_python() {  # find_python 3.12: an interpreter of that version
  local p
  for p in "python$1" "${PYENV_ROOT:-$HOME/.pyenv}"/versions/"$1".*/bin/python"$1"; do
    if "$p" -c 'pass' >/dev/null 2>&1; then echo "$p"; return 0; fi
  done
  log "no Python $1 found: install it (or put python$1 on PATH)" >&2
  return 1
}

make_venv() {  # make_venv VERSION
  if [[ ! -x "$VENV/bin/python" ]]; then
    local python
    python=$(find_python "$1") || return 1
    "$python" -m venv "$VENV" || return 1
    vpip install -q --upgrade pip || return 1
  fi
}

torch_tag() {
  "$VENV/bin/python" -c 'import torch, sys; print(torch.__version__.replace("+", "_") + ("_cuda" if torch.cuda.is_available() else "_cpu") + "_py%d%d" % sys.version_info[:2])'
}

# cached_wheel DIST VERSION SDIST_NAME OPS [SED_EXPR]: build DIST==VERSION
# from its sdist against this venv's torch once, then reuse the wheel.
cached_wheel() {
  local dist=$1 version=$2 sdist=$3 ops=$4 sed_expr=${5:-}
  local dir wheel build
  dir="$WHEEL_CACHE/torch-$(torch_tag)"
  [[ $ops == 0 ]] && dir="$dir/no-ops"  # never mistaken for a build with ops
  mkdir -p "$dir"
  wheel=$(ls "$dir"/"${dist//-/_}"-"$version"-*.whl 2>/dev/null | head -n1)
  if [[ -z "$wheel" ]]; then
    build=$(mktemp -d)
    vpip download -q --no-deps --no-binary :all: --no-build-isolation \
      -d "$build" "$dist==$version" >&2 || return 1
    tar -xzf "$build"/*.tar.gz -C "$build" || return 1
    local src
    src=$(find "$build" -mindepth 1 -maxdepth 1 -type d | head -n1)
    [[ -n "$sed_expr" ]] && sed -i "$sed_expr" "$src/setup.py"
    log "building $dist $version (MMCV_WITH_OPS=$ops) for torch $(torch_tag)" >&2
    (cd "$src" && MAX_JOBS=${MAX_JOBS:-2} MMCV_WITH_OPS=$ops \
       "$VENV/bin/python" -m pip --disable-pip-version-check wheel -q \
       --no-build-isolation --no-deps --no-cache-dir -w "$build/dist" .) >&2 \
      || return 1
    local built
    built=$(ls "$build"/dist/*.whl)
    mv "$built" "$dir/.partial.whl" && mv "$dir/.partial.whl" "$dir/$(basename "$built")"
    wheel="$dir/$(basename "$built")"
    rm -rf "$build"
  fi
  echo "$wheel"
}

# Test-only packages (not part of any OpenMMLab stack).
TEST_DEPS=(pytest POT scikit-learn scipy matplotlib pycocotools)
# Upstream mmengine 0.10 resolves 'mmpretrain::' / 'mmkd::' config paths
# with pkg_resources, gone from setuptools 81 on, which torch 2.14 pulls in:
# a working upstream stack pins it (import mmkd warns where it is missing).
UPSTREAM_SETUPTOOLS='setuptools<81'

build_lite() {
  make_venv 3.11 || return 1
  vpip install -q torch==2.14.1 torchvision==0.29.1 || return 1
  vpip install -q mmengine==0.10.7 mmcv-lite==2.2.0 mmpretrain==1.2.0 \
    "$UPSTREAM_SETUPTOOLS" "${TEST_DEPS[@]}"
}

build_mmcv22() {
  make_venv 3.11 || return 1
  # mmcv 2.2.0's setup.py imports pkg_resources, as 2.1.0's; setuptools
  # 80 still has it and, unlike <70, satisfies torch 2.14's requirement
  vpip install -q torch==2.14.1 torchvision==0.29.1 || return 1
  vpip install -q "$UPSTREAM_SETUPTOOLS" wheel || return 1
  vpip install -q mmengine==0.10.7 mmpretrain==1.2.0 "${TEST_DEPS[@]}" \
    || return 1
  vpip install -q ninja || return 1
  local wheel
  wheel=$(cached_wheel mmcv 2.2.0 mmcv 1 's/c++17/c++20/g') || return 1
  vpip install -q "$wheel"
}

build_onedl() {
  make_venv 3.12 || return 1
  vpip install -q torch==2.10.0 torchvision==0.25.0 setuptools wheel ninja \
    || return 1
  vpip install -q onedl-mmengine==0.10.12 "${TEST_DEPS[@]}" \
    || return 1
  local wheel
  wheel=$(cached_wheel onedl-mmcv 2.3.6 onedl_mmcv 1) || return 1
  vpip install -q "$wheel" || return 1
  vpip install -q onedl-mmdetection==3.5.1 onedl-mmpretrain==1.3.6
}

MMKD_WHEEL=""
build_mmkd_wheel() {  # a wheel from the tracked and untracked files
  [[ -n "$MMKD_WHEEL" ]] && return 0
  local src out
  src=$(mktemp -d)
  out=$(mktemp -d "$STACKS_DIR/dist.XXXXXX")  # one per run: runs may overlap
  MMKD_DIST=$out
  trap 'rm -rf "$MMKD_DIST"' EXIT
  (cd "$ROOT" && git ls-files --cached --others --exclude-standard -z |
     xargs -0 -I{} sh -c 'test -f "{}" && mkdir -p "'"$src"'/$(dirname "{}")" && cp -p "{}" "'"$src"'/{}"')
  vpip wheel -q --no-deps -w "$out" "$src" || return 1
  rm -rf "$src"
  MMKD_WHEEL=$(ls "$out"/mmkd-*.whl)
  log "built $(basename "$MMKD_WHEEL")"
}

HUB_CHECK='
import os, sys
import mmkd
from mmengine.hub import get_config
assert mmkd.__file__.startswith(sys.prefix), mmkd.__file__
cfg = get_config("mmkd::imagenet/wkd-l_resnet34-to-resnet18_8xb32-100e_in1k.py")
print("mmkd", mmkd.__version__, "from", os.path.relpath(os.path.dirname(mmkd.__file__), sys.prefix),
      "| mmkd:: config resolved:", cfg.model.type)
from mmkd.stack import installed
print("stack:", ", ".join("%s %s" % installed(m) for m in ("mmengine", "mmcv", "mmdet", "mmpretrain") if installed(m)))
'

check_stack() {  # check_stack NAME
  local name=$1 t0 t1 t2 rc=0
  VENV="$STACKS_DIR/$name"
  local out="$STACKS_DIR/$name.log"
  : >"$out"
  t0=$(now)
  log "[$name] building or reusing $VENV"
  if ! "build_$name" >>"$out" 2>&1; then
    log "[$name] FAILED to build (see $out)"
    tail -n 20 "$out"
    return 1
  fi
  t1=$(now)
  log "[$name] stack ready in $((t1 - t0)) s"
  build_mmkd_wheel || return 1
  vpip uninstall -q -y mmkd >/dev/null 2>&1
  vpip freeze | sort >"$STACKS_DIR/$name.before.txt"
  if ! vpip install "$MMKD_WHEEL" >>"$out" 2>&1; then
    log "[$name] FAILED: pip install mmkd"
    tail -n 20 "$out"
    return 1
  fi
  vpip freeze | sort >"$STACKS_DIR/$name.after.txt"
  local changed
  changed=$(diff "$STACKS_DIR/$name.before.txt" "$STACKS_DIR/$name.after.txt" | grep '^[<>]')
  log "[$name] pip freeze before/after 'pip install mmkd':"
  printf '    %s\n' "$changed"
  if grep -v '^> mmkd[ =]' <<<"$changed" | grep -q .; then
    log "[$name] FAILED: installing mmkd changed the stack"
    rc=1
  fi
  (cd "$STACKS_DIR" && "$VENV/bin/python" \
     -W 'ignore:pkg_resources is deprecated' -c "$HUB_CHECK") 2>&1 | sed 's/^/    /'
  [[ ${PIPESTATUS[0]} -eq 0 ]] || { log "[$name] FAILED: import / mmkd:: config"; rc=1; }
  # -P: the installed wheel, not the checkout, is imported
  (cd "$ROOT" && OMP_NUM_THREADS=1 "$VENV/bin/python" -P -m pytest tests -rfEs \
     -p no:cacheprovider "${PYTEST_ARGS[@]}") >>"$out" 2>&1
  local trc=$?
  t2=$(now)
  grep -E '^mmkd: ' "$out" | tail -n1 | sed 's/^/    /'
  tail -n 1 "$out" | sed 's/^/    /'
  if [[ $trc -ne 0 ]]; then
    log "[$name] FAILED: tests (exit $trc, see $out)"
    grep -E '^(FAILED|ERROR) ' "$out" | head -n 20 | sed 's/^/    /'
    rc=1
  fi
  log "[$name] tests took $((t2 - t1)) s"
  return $rc
}

STACKS=("$@")
[[ ${#STACKS[@]} -eq 0 ]] && STACKS=(lite mmcv22 onedl)
status=0
for s in "${STACKS[@]}"; do
  if ! declare -F "build_$s" >/dev/null; then
    log "unknown stack '$s' (choose from: lite mmcv22 onedl)"
    exit 2
  fi
  check_stack "$s" || status=1
done
exit $status
}
