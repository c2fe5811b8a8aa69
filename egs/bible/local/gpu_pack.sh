#!/usr/bin/env bash
# Build the folder that egs/bible/local/gpu_train_all.sh needs on a GPU machine (which has PyTorch but no
# espeak-ng, sox, soundfile or jiwer, and no network): run from the repository root on this machine after
# `bash install.sh` and ./run.sh --stage 0 --stop-stage 1 (data/sets). Writes .dev/ (git-ignored through
# .git/info/exclude); pass it to the device tool as a carried path.
#   bash egs/bible/local/gpu_pack.sh [PYTHON_VERSION]     # the GPU machine's Python (default 3.12)
set -euo pipefail
pyver=${1:-3.12}
dev=.dev
grep -qx "/$dev/" .git/info/exclude 2>/dev/null || echo "/$dev/" >> .git/info/exclude
rm -rf "$dev" && mkdir -p "$dev"/{bin,lib,share,whl,site,sets}
# espeak-ng with its two libraries; libpcaudio (audio playback, never used with --stdout) is replaced by a
# stub so that the ALSA/PulseAudio chain it links need not travel.
cp "$(command -v espeak-ng)" "$dev/bin/"
libdir=$(dirname "$(ldconfig -p | awk '/libespeak-ng.so.1 /{print $NF; exit}')")
cp -L "$libdir/libespeak-ng.so.1" "$libdir/libsonic.so.0" "$dev/lib/"
cat > "$dev/pcaudio_stub.c" <<'C'
#include <stddef.h>
struct audio_object;
struct audio_object *create_audio_device_object(const char *d, const char *a, const char *b) { return NULL; }
int audio_object_open(struct audio_object *o, int f, unsigned r, unsigned char c) { return -1; }
void audio_object_close(struct audio_object *o) {}
void audio_object_destroy(struct audio_object *o) {}
int audio_object_write(struct audio_object *o, const void *d, size_t n) { return -1; }
int audio_object_drain(struct audio_object *o) { return -1; }
int audio_object_flush(struct audio_object *o) { return -1; }
const char *audio_object_strerror(struct audio_object *o, int e) { return "no audio"; }
C
gcc -shared -fPIC -O2 -o "$dev/lib/libpcaudio.so.0" "$dev/pcaudio_stub.c"
# The voices' data for English, Spanish and Mandarin only (the whole folder is 13 MB).
data=$libdir/espeak-ng-data
mkdir -p "$dev/share/espeak-ng-data"
cp -r "$data"/{intonations,lang,phondata,phondata-manifest,phonindex,phontab,voices,en_dict,es_dict,cmn_dict} \
  "$dev/share/espeak-ng-data/"
# Python packages the GPU image lacks (binary wheels for its Python; docopt, num2words' need, is pure Python).
.venv/bin/python -m pip download -q --no-deps --only-binary=:all: --python-version "$pyver" --implementation cp \
  --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
  -d "$dev/whl" soundfile cffi pycparser jiwer rapidfuzz num2words
cp "$(.venv/bin/python -c 'import docopt; print(docopt.__file__)')" "$dev/site/"
cp egs/bible/data/sets/{train_en,train_es,dev_en,dev_es,test_en,test_es,dev_zh,test_zh,train_zh_large}.tsv "$dev/sets/"
# The speech LLM's extra training verses (local/make_extra_train.py), when made.
for set in train_en_extra train_es_extra train_en_extra2 train_es_extra2; do
  if [ -s egs/bible/data/sets/$set.tsv ]; then cp egs/bible/data/sets/$set.tsv "$dev/sets/"; fi
done
LD_LIBRARY_PATH=$dev/lib ESPEAK_DATA_PATH=$dev/share "$dev/bin/espeak-ng" -v en --stdout "check" > /dev/null
du -sh "$dev"
