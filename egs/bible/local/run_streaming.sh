#!/usr/bin/env bash
# Streaming benchmarks (issue 16), from egs/bible after stages 0-5: the demo model streamed in window mode
# over the WebSocket at real-time pace (docs/streaming.md), with and without shallow fusion, at several
# concurrencies; then the chunk-imposed baseline.
#   local/run_streaming.sh [--limit 100]                    # benchmarks (results in exp/streaming/*.json)
#   local/run_streaming.sh --finetune                        # also: chunk-wise fine-tuning on this machine
# The bundled chunk-wise model bible-en-ctc-stream was trained on a lent GPU (local/gpu_train_all.sh,
# conf/ctc_stream_small_gpu.json, 24 epochs fitted to ~5 minutes); --finetune runs the same schedule here
# (CPU hours) and bundles it.
set -euo pipefail
cd "$(dirname "$0")/.."
limit=100
finetune=0
while [ $# -gt 0 ]; do
  case $1 in
    --limit) limit=$2; shift 2 ;;
    --finetune) finetune=1; shift ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
py=../../.venv/bin/python
out=exp/streaming
mkdir -p $out

if [ $finetune -eq 1 ]; then
  nice -n 10 ../../.venv/bin/asrkit train --config conf/ctc_stream_small_gpu.json --epochs 24 \
    --train data/manifests/train_en.jsonl --dev data/manifests/dev_en.jsonl --exp exp/ctc_stream_gpu \
    --init ../../asrkit/pretrained/bible-en-ctc-small --feats-dir exp/feats --threads 1 --nj 1 --resume
fi

# Shallow fusion weights: the demo model's, tuned on dev in the cross-domain table (local/run_cross_domain.sh).
b="nice -n 5 $py local/bench_streaming.py --manifest data/manifests/test_en.jsonl --model bible-en-ctc-small"
sf="--method shallow_fusion --lm exp/lm/source_token4.arpa --lm-weight 1.2 --insertion-bonus 5"
$b --limit $limit --concurrency 8 --method greedy --out $out/greedy.json
$b --limit $limit --concurrency 8 $sf --out $out/sf.json
$b --limit $limit --concurrency 8 --method beam --out $out/beam.json
$b --limit $limit --concurrency 16 $sf --skip-offline --out $out/sf_c16.json
$b --limit 20 --concurrency 1 $sf --skip-offline --out $out/sf_c1.json
$b --limit $limit --concurrency 8 --method greedy --mode chunked --skip-offline --out $out/greedy_chunked_imposed.json
# The chunk-wise model (chunked mode: exact streaming; offline WER of the demo model for comparison).
m=exp/ctc_stream_gpu/model
[ -d $m ] || m=bible-en-ctc-stream
s="nice -n 5 $py local/bench_streaming.py --manifest data/manifests/test_en.jsonl --model $m"
$s --offline-model bible-en-ctc-small --limit $limit --concurrency 8 --method greedy --out $out/stream_greedy.json
$s --offline-model bible-en-ctc-small --limit $limit --concurrency 8 $sf --out $out/stream_sf.json
$s --limit 20 --concurrency 1 $sf --skip-offline --out $out/stream_sf_c1.json
if [ $finetune -eq 1 ]; then
  $py local/bundle_stream_model.py --model exp/ctc_stream_gpu/model --exp exp/ctc_stream_gpu \
    --out ../../asrkit/pretrained/bible-en-ctc-stream --bench $out/stream_greedy.json $out/stream_sf.json \
    --command "local/run_streaming.sh --finetune --limit $limit"
fi
