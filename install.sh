#!/usr/bin/env bash
# One-step install of asrkit on Debian 12: system packages, .venv with pinned torch, asrkit itself,
# and KenLM's lmplz/build_binary. Safe to re-run: every step is skipped when already done.
#   bash install.sh          runtime + recipe tools
#   bash install.sh --dev    also the test/lint tools
set -euo pipefail
cd "$(dirname "$0")"
ROOT=$(pwd)
DEV=0
for a in "$@"; do [ "$a" = "--dev" ] && DEV=1; done
PY=${PYTHON:-python3}
VENV=$ROOT/.venv

log() { echo "[install] $*"; }

# 1. Debian packages: espeak-ng/sox for the data recipe, Boost for lmplz, g++/python3-dev for the compiled
# modules (kenlm, asrkit's CTC search core), SWORD Bibles and fortunes as text.
APT_PKGS="espeak-ng sox libsox-fmt-all libboost-program-options-dev libboost-system-dev libboost-thread-dev
libboost-test-dev zlib1g-dev libbz2-dev liblzma-dev cmake g++ make python3-dev sword-text-web sword-text-sparv
libsword-utils fortunes fortunes-zh"
# --dev: headless Chromium and its WebDriver for the browser test of `asrkit serve`'s page (tests/test_browser.py).
[ $DEV -eq 1 ] && APT_PKGS="$APT_PKGS chromium chromium-driver"
missing=""
for p in $APT_PKGS; do dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"; done
if [ -n "$missing" ]; then
  log "apt-get install:$missing"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

# 2. Virtual environment; torch is pinned through constraints.txt (any other release is a CUDA build).
if [ ! -x "$VENV/bin/python" ]; then
  log "creating $VENV"
  $PY -m venv "$VENV"
  "$VENV/bin/pip" install -q -U pip wheel
fi
PIP="$VENV/bin/pip"
if ! "$VENV/bin/python" -c "import torch, sys; sys.exit(torch.__version__.split('+')[0] != '2.13.0')" 2>/dev/null; then
  log "installing torch==2.13.0 (CPU)"
  "$PIP" install -q -c constraints.txt torch==2.13.0
fi
# KenLM's sources (LGPL, not part of this repository): the kenlm sdist, unpacked once into .venv/src. Its
# query code is compiled into asrkit's CTC search core (setup.py reads ASRKIT_KENLM_SRC); lmplz and
# build_binary are built from it below.
KENLM_SRC=$(ls -d "$VENV"/src/kenlm-*/ 2>/dev/null | head -1 || true)
if [ -z "$KENLM_SRC" ] || [ ! -f "$KENLM_SRC/lm/model.cc" ]; then
  log "downloading the kenlm sdist"
  mkdir -p "$VENV/src"
  DL=$(mktemp -d)
  "$PIP" download -q --no-deps --no-binary kenlm -d "$DL" kenlm
  tar xzf "$DL"/kenlm-*.tar.gz -C "$VENV/src"
  rm -rf "$DL"
  KENLM_SRC=$(ls -d "$VENV"/src/kenlm-*/ | head -1)
fi
export ASRKIT_KENLM_SRC=${KENLM_SRC%/}
EXTRA=""; [ $DEV -eq 1 ] && EXTRA="[dev]"
log "installing asrkit$EXTRA (compiles the CTC search core, decoders/csrc)"
# Unlinked, a loaded core stays valid for the processes that use it; overwritten in place it would not.
rm -f decoders/_ctc_core*.so
"$PIP" install -q -c constraints.txt -e ".$EXTRA"
if ! "$VENV/bin/python" -c "import decoders._ctc_core" 2>/dev/null; then
  log "error: the compiled CTC search (decoders._ctc_core) was not built; rerun: $PIP install -v -e ."
  exit 1
fi
# pyctcdecode (a peer of tests/test_bench_peer.py) pins numpy<2, which it does not need: no dependencies.
if [ $DEV -eq 1 ] && ! "$VENV/bin/python" -c "import pyctcdecode" 2>/dev/null; then
  "$PIP" install -q --no-deps pyctcdecode==0.5.0
fi

# 3. KenLM binaries (lmplz, build_binary) from the kenlm sdist; the PyPI package only has the Python module.
if [ ! -x "$VENV/bin/lmplz" ] || [ ! -x "$VENV/bin/build_binary" ]; then
  log "building KenLM lmplz/build_binary"
  BUILD=$(mktemp -d)
  cmake -S "$ASRKIT_KENLM_SRC" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DKENLM_MAX_ORDER=6 >/dev/null
  make -s -C "$BUILD" -j"$(nproc)" lmplz build_binary >/dev/null
  cp "$BUILD/bin/lmplz" "$BUILD/bin/build_binary" "$VENV/bin/"
  rm -rf "$BUILD"
fi
log "done: activate with 'source .venv/bin/activate'"
