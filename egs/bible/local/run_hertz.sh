#!/usr/bin/env bash
# hertz-codec front end for the CTC recognizer (docs/hertz.md), on the egs/bible data.
#   local/run_hertz.sh [--stage N] [--stop-stage M] [--n-train K]      (run from egs/bible)
# The official codec weights cannot be downloaded here, so the codec conv stack is frozen at a seeded
# random init; its outputs are cached once (one thread) for a random subset of train_en, and a small
# limited-context SANM + CTC (plus the codec's proj_in) is trained on them.
# Stages: 0 train subset (first K of a shuffled 4000-utterance subset); 1 training (fills the codec
#         cache first); 2 greedy decoding of test_en/dev_en from raw audio + WER; 3 latency benchmark;
#         4 control: the same small encoder, data and budget with the Paraformer fbank front end.
set -euo pipefail
cd "$(dirname "$0")/.."

stage=0
stop_stage=100
n_train=2000
data=data
python=${python:-../../.venv/bin/python}
asrkit=${asrkit:-../../.venv/bin/asrkit}
exp=exp/hertz/ctc_small
config=conf/ctc_hertz_small.json
run="nice -n 19 env OMP_NUM_THREADS=1"

while [ $# -gt 0 ]; do
  case "$1" in
    --stage) stage=$2; shift 2 ;;
    --stop-stage|--stop_stage) stop_stage=$2; shift 2 ;;
    --n-train) n_train=$2; shift 2 ;;
    *) echo "unknown option: $1" >&2; exit 1 ;;
  esac
done
train=exp/hertz/data/train_en_${n_train}.jsonl

if [ $stage -le 0 ] && [ $stop_stage -ge 0 ]; then
  echo "stage 0: training subset ($n_train utterances, <= 20 s, random over all train books)"
  $python local/subset_manifest.py --manifest $data/manifests/train_en.jsonl --n 4000 --max-duration 20 \
    --seed 0 --shuffle --out exp/hertz/data/train_en_4000.jsonl
  head -n $n_train exp/hertz/data/train_en_4000.jsonl > $train
fi

if [ $stage -le 1 ] && [ $stop_stage -ge 1 ]; then
  echo "stage 1: cache codec outputs (one thread), then train the small encoder + CTC"
  mkdir -p $exp
  # Same BPE units as the Paraformer model (exp/ctc_small), so the two front ends are compared on equal terms.
  [ -s $exp/tokenizer.model ] || cp exp/ctc_small/tokenizer.model $exp/tokenizer.model
  $run $asrkit train --config $config --train $train --dev $data/manifests/dev_en.jsonl --exp $exp \
    --feats-dir exp/hertz/latents --threads 1 --resume
fi

if [ $stage -le 2 ] && [ $stop_stage -ge 2 ]; then
  echo "stage 2: greedy decoding from raw audio (the codec runs inside the model) and WER"
  for set in test_en dev_en; do
    dir=$exp/decode_greedy/$set
    mkdir -p $dir
    $run $asrkit decode --model $exp/model --input $data/manifests/$set.jsonl --output $dir/hyp.jsonl \
      --batch-size 1 --resume -q
    $asrkit score --ref $data/manifests/$set.jsonl --hyp $dir/hyp.jsonl --metric wer --details $dir/details.jsonl \
      | tee $dir/wer.txt
    $asrkit score --ref $data/manifests/$set.jsonl --hyp $dir/hyp.jsonl --metric wer --json > $dir/wer.json
  done
fi

if [ $stage -le 3 ] && [ $stop_stage -ge 3 ]; then
  echo "stage 3: streaming latency and compute per 125 ms chunk (one thread)"
  $run $python local/bench_hertz_latency.py --model $exp/model --manifest $data/manifests/test_en.jsonl \
    --max-utts 20 | tee $exp/bench_latency.md
fi

if [ $stage -le 4 ] && [ $stop_stage -ge 4 ]; then
  echo "stage 4: control: same subset, small encoder and schedule, fbank/LFR front end"
  ctl=exp/hertz/ctc_fbank_control
  mkdir -p $ctl
  [ -s $ctl/tokenizer.model ] || cp exp/ctc_small/tokenizer.model $ctl/tokenizer.model
  $run $asrkit train --config conf/ctc_fbank_small_control.json --train $train --dev $data/manifests/dev_en.jsonl \
    --exp $ctl --feats-dir exp/hertz/feats --threads 1 --nj 1 --resume
  dir=$ctl/decode_greedy/test_en
  mkdir -p $dir
  $run $asrkit decode --model $ctl/model --input $data/manifests/test_en.jsonl --output $dir/hyp.jsonl --resume -q
  $asrkit score --ref $data/manifests/test_en.jsonl --hyp $dir/hyp.jsonl --metric wer | tee $dir/wer.txt
  $asrkit score --ref $data/manifests/test_en.jsonl --hyp $dir/hyp.jsonl --metric wer --json > $dir/wer.json
fi
