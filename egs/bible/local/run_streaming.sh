#!/usr/bin/env bash
# Streaming recipe (issue 16), from egs/bible after stages 0-5: fine-tune the demo model chunk-wise, tune
# shallow fusion on dev, benchmark streaming over the WebSocket at real-time pace, bundle the model.
#   local/run_streaming.sh [--limit 100] [--stage 0]
# Stage 0 trains (resumable; stop it any time: stage 1 takes the last checkpoint).
set -euo pipefail
cd "$(dirname "$0")/.."
limit=100
stage=0
while [ $# -gt 0 ]; do
  case $1 in
    --limit) limit=$2; shift 2 ;;
    --stage) stage=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
py=../../.venv/bin/python
asrkit=../../.venv/bin/asrkit
exp=exp/ctc_stream
out=exp/streaming
mkdir -p $out

if [ $stage -le 0 ]; then
  nice -n 10 $asrkit train --config conf/ctc_stream_small.json --train data/manifests/train_en.jsonl \
    --dev data/manifests/dev_en.jsonl --exp $exp --init ../../asrkit/pretrained/bible-en-ctc-small \
    --feats-dir exp/feats --threads 1 --nj 1 --resume
fi
model=$exp/model
if [ $stage -le 1 ] && [ ! -f $exp/model/model.safetensors ]; then
  $py local/model_from_checkpoint.py --exp $exp --out $exp/model_step
fi
[ -f $exp/model/model.safetensors ] || model=$exp/model_step

if [ $stage -le 2 ]; then
  # Shallow fusion weights for this model, on dev only (Titus).
  $asrkit tune -m $model --dev data/manifests/dev_en.jsonl --method shallow_fusion --lm exp/lm/source_token4.arpa \
    --grid lm_weight=0.6:1.4:0.4 insertion_bonus=1:5:2 --out $out/tune_sf
fi

if [ $stage -le 3 ]; then
  bench="$py local/bench_streaming.py --manifest data/manifests/test_en.jsonl --limit $limit"
  sf=$($py -c "import json; c = json.load(open('$out/tune_sf/best.json')); print(c['lm_weight'], c['insertion_bonus'])")
  read -r lw ib <<< "$sf"
  $bench --model $model --concurrency 8 --method greedy --offline-model bible-en-ctc-small --out $out/greedy.json
  $bench --model $model --concurrency 8 --method beam --out $out/beam.json
  $bench --model $model --concurrency 8 --method shallow_fusion --lm exp/lm/source_token4.arpa --lm-weight $lw \
    --insertion-bonus $ib --offline-model bible-en-ctc-small --out $out/sf.json
  $bench --model $model --concurrency 1 --method shallow_fusion --lm exp/lm/source_token4.arpa --lm-weight $lw \
    --insertion-bonus $ib --skip-offline --limit 20 --out $out/sf_c1.json
  $bench --model $model --concurrency 16 --method shallow_fusion --lm exp/lm/source_token4.arpa --lm-weight $lw \
    --insertion-bonus $ib --skip-offline --out $out/sf_c16.json
  # The full-context demo model with chunks imposed at inference (no fine-tuning): the baseline.
  $bench --model bible-en-ctc-small --chunk-frames 8 --concurrency 8 --method greedy --out $out/demo_chunked.json
fi

if [ $stage -le 4 ]; then
  $py local/bundle_stream_model.py --model $model --exp $exp --out ../../asrkit/pretrained/bible-en-ctc-stream \
    --bench $out/greedy.json $out/beam.json $out/sf.json --command "local/run_streaming.sh --limit $limit"
fi
