#!/usr/bin/env bash
# One step of a decoding-method comparison: tune the method's weights on dev (when it has a grid), decode
# the test set once with the tuned config, score it. Finished parts are skipped (resumable).
#   local/tune_and_decode.sh DIR METHOD MODEL DEV TEST METRIC "DECODE ARGS" "GRID" [EXTRA TUNE ARGS...]
# Writes DIR/tune_METHOD/best.json, DIR/METHOD.jsonl, DIR/METHOD.log (with the RTF), DIR/METHOD.METRIC.json.
# $threads (optional) is passed to tune and decode as --threads.
set -euo pipefail
asrkit=${asrkit:-../../.venv/bin/asrkit}
d=$1 method=$2 model=$3 dev=$4 test=$5 metric=$6 conf=$7 grid=$8
shift 8
thr=${threads:+--threads $threads}
if [ -n "$grid" ]; then
  # shellcheck disable=SC2086  # conf, grid and thr are word lists
  [ -s $d/tune_$method/best.json ] || $asrkit tune -m $model --dev data/manifests/$dev.jsonl $conf "$@" \
    --metric $metric --grid $grid --out $d/tune_$method $thr
  conf="--config $d/tune_$method/best.json"
fi
if [ ! -s $d/$method.log ]; then
  echo "== $d $method: $conf" >&2
  # shellcheck disable=SC2086
  $asrkit decode -q -m $model -i data/manifests/$test.jsonl -o $d/$method.jsonl $conf $thr 2> $d/$method.log.tmp
  mv $d/$method.log.tmp $d/$method.log
fi
$asrkit score --ref data/manifests/$test.jsonl --hyp $d/$method.jsonl --metric $metric --json > $d/$method.$metric.json
