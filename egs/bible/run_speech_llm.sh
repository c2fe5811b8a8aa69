#!/usr/bin/env bash
# Speech LLM recipe (MooER-style): tiny Qwen2 LLM pretraining, adapter + LoRA training on a frozen
# SANM encoder (the demo CTC model's), evaluation, bundling.  Run from egs/bible after ./run.sh stages 0-3.
#   ./run_speech_llm.sh [--stage N] [--stop-stage M]
# Stages: 0 pretrain the LLM (byte-level BPE + 4x256 Qwen2) on allowed text -- or, with init=DIR (the default),
#           take the LLM (LoRA merged) and adapter of an earlier speech LLM folder and continue from it,
#         1 cache frozen-encoder outputs and train the adapter + LoRA on train_en (asr) + train_es (ast and
#           asr_ast), with the adapter CTC loss kept as an auxiliary term (conf/speech_llm_listen.json),
#         2 decode test_en (WER) and test_es (BLEU) with HF generate, greedy and beam 4,
#         3 bundle asrkit/pretrained/bible-en-speechllm-tiny (float16, LoRA merged) and re-score it.
# Several processes / GPUs: prefix the python commands with `torchrun --nproc_per_node N` (DDP).
set -euo pipefail
cd "$(dirname "$0")"

stage=0
stop_stage=100
python=${python:-../../.venv/bin/python}
exp=exp/speech_llm_v2
conf=conf/speech_llm_listen.json
# Continue from the first bundled model (issue 5's run: its LoRA merged into llm/), restored from git history
# (commit f583ab7). Set init= (empty) and conf=conf/speech_llm_tiny.json for the from-scratch recipe of stage 0.
init=${init-exp/speech_llm_v1/model}
init_commit=f583ab7
encoder_model=exp/ctc_small/model
max_utts=      # evaluation subset (first N utterances of each test set); empty = all
name=bible-en-speechllm-tiny
export OMP_NUM_THREADS=1
# Bounded oneDNN primitive cache and glibc arenas: without them training grew by hundreds of MB a minute.
export ONEDNN_PRIMITIVE_CACHE_CAPACITY=64 DNNL_PRIMITIVE_CACHE_CAPACITY=64 MALLOC_ARENA_MAX=2

while [ $# -gt 0 ]; do
  case "$1" in
    --stage) stage=$2; shift 2 ;;
    --stop-stage|--stop_stage) stop_stage=$2; shift 2 ;;
    *) echo "unknown option: $1" >&2; exit 1 ;;
  esac
done

if [ $stage -le 0 ] && [ $stop_stage -ge 0 ] && [ -n "$init" ]; then
  echo "stage 0: restore the speech LLM to continue from ($init, from commit $init_commit)"
  if [ ! -s $init/llm/model.safetensors ]; then
    src=asrkit/pretrained/bible-en-speechllm-tiny
    for f in $(git -C ../.. ls-tree -r --name-only $init_commit $src); do
      mkdir -p "$init/$(dirname "${f#$src/}")"
      git -C ../.. show "$init_commit:$f" > "$init/${f#$src/}"
    done
  fi
fi

if [ $stage -le 0 ] && [ $stop_stage -ge 0 ] && [ -z "$init" ]; then
  echo "stage 0: tiny Qwen2 LLM pretraining (English train-book text + Spanish train_es transcripts)"
  [ -s $exp/llm/model.safetensors ] || nice -n 19 $python -m asrkit.cli.main speech-llm pretrain \
    --config conf/speech_llm_lm.json --text data/lm/train_text_en.txt data/manifests/train_es.jsonl:text \
    --dev data/manifests/dev_en.jsonl:text --exp $exp/llm_pretrain -o $exp/llm --resume
fi

if [ $stage -le 1 ] && [ $stop_stage -ge 1 ]; then
  echo "stage 1: adapter + LoRA training (frozen encoder outputs cached once)"
  if [ -n "$init" ]; then llm_args="--llm $init/llm --init-adapter $init"; else llm_args="--llm $exp/llm"; fi
  # shellcheck disable=SC2086  # llm_args is a word list
  [ -s $exp/train/model/config.json ] || nice -n 19 $python -m asrkit.cli.main speech-llm train \
    --config $conf --encoder-model $encoder_model $llm_args \
    --data data/manifests/train_en.jsonl:asr data/manifests/train_es.jsonl:ast data/manifests/train_es.jsonl:asr_ast \
    --dev data/manifests/dev_en.jsonl:asr data/manifests/dev_es.jsonl:ast \
    -o $exp/train --feats-dir exp/feats --cache-dir $exp/enc_cache --resume
fi

if [ $stage -le 2 ] && [ $stop_stage -ge 2 ]; then
  echo "stage 2: decoding (HF generate, MooER defaults) + scoring"
  nice -n 19 $python local/eval_speech_llm.py --model $exp/train/model --manifest data/manifests/test_en.jsonl \
    --task asr --beams 1 4 ${max_utts:+--max-utts $max_utts} --out $exp/train/decode/test_en
  nice -n 19 $python local/eval_speech_llm.py --model $exp/train/model --manifest data/manifests/test_es.jsonl \
    --task ast --beams 1 4 ${max_utts:+--max-utts $max_utts} --out $exp/train/decode/test_es
  nice -n 19 $python local/eval_speech_llm.py --model $exp/train/model --manifest data/manifests/test_es.jsonl \
    --task asr_ast --beams 4 ${max_utts:+--max-utts $max_utts} --out $exp/train/decode/test_es_asr_ast
fi

if [ $stage -le 3 ] && [ $stop_stage -ge 3 ]; then
  echo "stage 3: bundle $name and score the bundled (float16) model"
  out=../../asrkit/pretrained/$name
  $python local/bundle_speech_llm.py --exp $exp/train --out $exp/bundle/$name --stage model \
    --tasks asr ast asr_ast
  for set in test_en:asr test_es:ast test_es:asr_ast; do
    d=${set%%:*}; [ ${set#*:} = asr_ast ] && d=${d}_asr_ast
    nice -n 19 $python local/eval_speech_llm.py --model $exp/bundle/$name --manifest data/manifests/${set%%:*}.jsonl \
      --task ${set#*:} --beams 1 4 ${max_utts:+--max-utts $max_utts} --out $exp/bundle/decode/$d
  done
  if [ -n "$init" ]; then card_args="--parent $init"; else card_args="--llm-exp $exp/llm_pretrain"; fi
  # shellcheck disable=SC2086  # card_args is a word list
  $python local/bundle_speech_llm.py --exp $exp/train $card_args --out $exp/bundle/$name \
    --stage card --decode $exp/bundle/decode --max-utts "${max_utts:-all}"
  rm -rf $out && cp -r $exp/bundle/$name $out
fi
