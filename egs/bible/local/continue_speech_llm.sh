#!/usr/bin/env bash
# Continue a speech LLM folder (a bundle: LoRA merged into llm/, adapter) with a new LoRA on every synthesized
# training set, then check it on the held-out dev sets, decode the 200-utterance test subsets and write its
# card. The CPU continuations of issue 12 (v13, v14, v15 in RESULTS.md) are runs of this script.
#   (from egs/bible, after ./run.sh --stage 0 --stop-stage 2 and the make_extra_train.py sets it uses)
#   init=asrkit/pretrained/bible-en-speechllm-tiny exp=exp/speech_llm_v15 local/continue_speech_llm.sh train
#   exp=exp/speech_llm_v15 local/continue_speech_llm.sh dev    # held-out dev beam 4 (150 asr + 150 ast)
#   exp=exp/speech_llm_v15 local/continue_speech_llm.sh test   # bundle folder, test subsets, ILM perplexity
#   exp=exp/speech_llm_v15 local/continue_speech_llm.sh card   # model card (after the parent's stages)
#   exp=exp/speech_llm_v15 local/continue_speech_llm.sh fusion # the fusion table of the bundle (needs run.sh stage 5's word LMs)
# Variables: conf (training config), epochs, threads (torch threads of the training), init (the folder to
# continue from, copied to EXP/parent; a path not found from egs/bible is taken from the repository root),
# dev_n / test_n (subset sizes, seeded like every subset of the recipe), hardware / data_note (card text),
# precision (card text for a train.log older than its "precision:" line, which the card reads otherwise).
# Training resumes from EXP/train/checkpoint.pt.
set -euo pipefail
cd "$(dirname "$0")/.."
python=${python:-../../.venv/bin/python}
asrkit=${asrkit:-../../.venv/bin/asrkit}
init=${init:-../../asrkit/pretrained/bible-en-speechllm-tiny}
[ -d "$init" ] || init=../../$init
exp=${exp:?set exp=exp/speech_llm_vN}
conf=${conf:-conf/speech_llm_listen_longer.json}
epochs=${epochs:-1}
threads=${threads:-2}
dev_n=${dev_n:-150}
test_n=${test_n:-200}
m=data/manifests
subsets=exp/speech_llm_subsets
name=bible-en-speechllm-tiny
parent=$exp/parent  # the folder this run continues (copied from init by the train step)
# Bounded oneDNN primitive cache and glibc arenas (see run_speech_llm.sh).
export ONEDNN_PRIMITIVE_CACHE_CAPACITY=64 DNNL_PRIMITIVE_CACHE_CAPACITY=64 MALLOC_ARENA_MAX=2

subset() {  # subset NAME N: the seeded N-utterance subset of data/manifests/NAME.jsonl
  mkdir -p $subsets
  [ -s $subsets/$1_$2.jsonl ] || $python local/subset_manifest.py --manifest $m/$1.jsonl --n "$2" --seed 0 \
    --out $subsets/$1_$2.jsonl >&2
  echo $subsets/$1_$2.jsonl
}

en_sets=(); es_sets=()  # every training set present: asr on the English ones, ast and asr_ast on the Spanish
for s in train_en train_en_extra train_en_extra2 train_en_extra3; do if [ -s $m/$s.jsonl ]; then en_sets+=("$s"); fi; done
for s in train_es train_es_extra train_es_extra2; do if [ -s $m/$s.jsonl ]; then es_sets+=("$s"); fi; done

data_note() {  # the training sets as the card says them, with the example counts of train.log
  local n; n=$(grep -o "train examples {[^}]*}" $exp/train/train.log | tail -n 1)
  local en es; en=$(printf ' + `%s`' "${en_sets[@]}"); es=$(printf ' + `%s`' "${es_sets[@]}")
  echo "${en# + } (asr), ${es# + } (ast and asr_ast); ${n#train }"
}

case "${1:?train | dev | test | card | fusion}" in
train)
  data=()
  for s in "${en_sets[@]}"; do data+=("$m/$s.jsonl:asr"); done
  for s in "${es_sets[@]}"; do data+=("$m/$s.jsonl:ast" "$m/$s.jsonl:asr_ast"); done
  # A copy of the starting folder: the card step reads its card, and init may be the package folder that
  # this run's bundle later replaces.
  [ -s $parent/config.json ] || { mkdir -p $exp && cp -r "$init" $parent; }
  echo "continue $init on ${data[*]}"
  # The frozen encoder is the demo CTC model's (the speech LLM folder holds the same weights).
  OMP_NUM_THREADS=$threads nice -n 19 $asrkit speech-llm train --config $conf \
    --encoder-model ../../asrkit/pretrained/bible-en-ctc-small --llm $parent/llm --init-adapter $parent \
    --data "${data[@]}" --dev $m/dev_en.jsonl:asr $m/dev_es.jsonl:ast --epochs "$epochs" \
    --threads "$threads" --nj "$threads" -o $exp/train --feats-dir exp/feats --cache-dir exp/speech_llm_enc_cache \
    --resume
  ;;
dev)
  model=$exp/train/model; [ -s $model/config.json ] || model=$exp/train/last_epoch_model
  $python local/eval_speech_llm.py --model $model --manifest "$(subset heldout_dev_en $dev_n)" --task asr \
    --beams 4 --device cpu --threads "$threads" --out $exp/dev_check/en
  $python local/eval_speech_llm.py --model $model --manifest "$(subset heldout_dev_es $dev_n)" --task ast \
    --beams 4 --device cpu --threads "$threads" --out $exp/dev_check/es
  ;;
test)
  $python local/bundle_speech_llm.py --exp $exp/train --out $exp/bundle/$name --stage model --tasks asr ast asr_ast
  for t in test_en:asr:test_en test_es:ast:test_es test_es:asr_ast:test_es_asr_ast; do
    IFS=: read -r set task out <<< "$t"
    $python local/eval_speech_llm.py --model $exp/bundle/$name --manifest "$(subset $set $test_n)" --task $task \
      --beams 4 --device cpu --threads 1 --out $exp/bundle/decode/$out  # the card's RTF: one thread
  done
  $python local/ilm_ppl.py --model $exp/bundle/$name --task asr --json $exp/bundle/ilm_ppl.json \
    --text bible=$m/test_en.jsonl fortunes=$m/fortunes_test_en.jsonl
  ;;
card)
  # The card lists the parent's training stages, then this one (epochs and hours from train.log).
  $python local/bundle_speech_llm.py --exp $exp/train --parent $parent --out $exp/bundle/$name --stage card \
    --decode $exp/bundle/decode --max-utts "$test_n" \
    --hardware "${hardware:-a 2-core x86-64 CPU ($threads threads)}" --data-note "${data_note:-$(data_note)}" \
    ${precision:+--precision "$precision"}
  ;;
fusion)
  # The fusion table of the new bundle (local/run_speech_llm_fusion.sh with v10's grids: tuned on the dev sets,
  # the test subsets decoded once, pre-beam 64 for the +ctc rows); two processes, one per core.
  fuse() {
    ctc_grid="ctc_weight=0.5,0.8,1.0 prune_topk=64" model=$exp/bundle/$name out=$exp/fusion \
      test_en=../../$subsets/test_en_$test_n test_es=../../$subsets/test_es_$test_n tasks=$1 methods=$2 \
      bash local/run_speech_llm_fusion.sh
  }
  fuse asr_fortunes "beam shallow_fusion beam+ctc shallow_fusion+ctc ilme+ctc" > $exp/fusion_fortunes.log 2>&1 &
  pid=$!
  { fuse ast_bible "beam shallow_fusion"; fuse asr_bible "beam beam+ctc shallow_fusion+ctc"; } \
    > $exp/fusion_bible.log 2>&1
  wait $pid
  $python local/speech_llm_fusion_table.py $exp/fusion > $exp/fusion/table.md
  cat $exp/fusion/table.md
  ;;
*) echo "unknown step: $1 (train | dev | test | card | fusion)" >&2; exit 1 ;;
esac
