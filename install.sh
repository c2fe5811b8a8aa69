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

# 1. Debian packages: espeak-ng/sox for the data recipe, Boost for lmplz, SWORD Bibles and fortunes as text.
APT_PKGS="espeak-ng sox libsox-fmt-all libboost-program-options-dev libboost-system-dev libboost-thread-dev
libboost-test-dev zlib1g-dev libbz2-dev liblzma-dev cmake g++ make sword-text-web sword-text-sparv
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
EXTRA=""; [ $DEV -eq 1 ] && EXTRA="[dev]"
log "installing asrkit$EXTRA"
"$PIP" install -q -c constraints.txt -e ".$EXTRA"

# 3. KenLM binaries (lmplz, build_binary) from the kenlm sdist; the PyPI package only has the Python module.
if [ ! -x "$VENV/bin/lmplz" ] || [ ! -x "$VENV/bin/build_binary" ]; then
  log "building KenLM lmplz/build_binary"
  BUILD=$(mktemp -d)
  "$PIP" download -q --no-deps --no-binary kenlm -d "$BUILD" kenlm
  tar xzf "$BUILD"/kenlm-*.tar.gz -C "$BUILD"
  SRC=$(ls -d "$BUILD"/kenlm-*/ | head -1)
  cmake -S "$SRC" -B "$SRC/build" -DCMAKE_BUILD_TYPE=Release -DKENLM_MAX_ORDER=6 >/dev/null
  make -s -C "$SRC/build" -j"$(nproc)" lmplz build_binary >/dev/null
  cp "$SRC/build/bin/lmplz" "$SRC/build/bin/build_binary" "$VENV/bin/"
  rm -rf "$BUILD"
fi
log "done: activate with 'source .venv/bin/activate'"
