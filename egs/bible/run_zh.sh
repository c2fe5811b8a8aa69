#!/usr/bin/env bash
# Mandarin CER recipe: a character-unit CTC model on synthetic fortunes-zh speech, its encoder transferred
# from the English demo model, a character n-gram LM, shallow fusion tuned on dev_zh, TLG, the bundled model.
# Run from egs/bible after ./run.sh stages 0-2 (zh.tsv, test_zh).
#   ./run_zh.sh [--stage N] [--stop-stage M] [--n-train N]
# Stages: 0 dev_zh, train_zh_large and the LM text from the fortunes-zh sentences not in test_zh,
#         1 synthesis (espeak-ng cmn-latn-pinyin) of dev_zh, train_zh_large (and test_zh if missing),
#         2 CTC training (char units, encoder from bible-en-ctc-small; resumable),
#         3 greedy decoding + CER of dev_zh and test_zh,
#         4 character n-gram LMs (token unit over the model's characters) + perplexities,
#         5 shallow fusion: weights tuned on dev_zh, then test_zh decoded with them,
#         6 TLG (a character lexicon: every character is a "word"): tuned on dev_zh, decoded on test_zh,
#         7 bundle fortunes-zh-ctc-small + Mandarin samples into the package, CER table.
set -euo pipefail
cd "$(dirname "$0")"

stage=0
stop_stage=100
nj=2
data=data
python=${python:-../../.venv/bin/python}
asrkit=${asrkit:-../../.venv/bin/asrkit}
exp=exp/ctc_zh_gpu
conf=conf/ctc_zh_small_gpu.json
epochs=16
init_encoder=../../asrkit/pretrained/bible-en-ctc-small
n_train=0        # train_zh_large sentences (0: every fortunes-zh sentence outside test_zh and dev_zh)
n_dev=250
threads=1
lm_order=5       # the character n-gram of shallow fusion
tlg_order=5      # the character n-gram in the TLG graph (the same LM as the token 5-gram: 48 MiB graph)
hardware="one NVIDIA H200 (lent for one session; the epochs fitted to a 3.5-minute --time-budget; the GPU shared with two other trainings)"
beam=16
name=fortunes-zh-ctc-small
# Heavy steps yield to other jobs on the machine (a speech-LLM training shares it).
nice="nice -n 10"

while [ $# -gt 0 ]; do
  case "$1" in
    --stage) stage=$2; shift 2 ;;
    --stop-stage|--stop_stage) stop_stage=$2; shift 2 ;;
    --n-train) n_train=$2; shift 2 ;;
    --nj) nj=$2; shift 2 ;;
    *) echo "unknown option: $1" >&2; exit 1 ;;
  esac
done

if [ $stage -le 0 ] && [ $stop_stage -ge 0 ]; then
  echo "stage 0: dev_zh, train_zh_large, LM text"
  $python local/prepare_zh.py --data $data --n-dev $n_dev --n-train $n_train
fi

if [ $stage -le 1 ] && [ $stop_stage -ge 1 ]; then
  echo "stage 1: synthesis"
  for set in dev_zh test_zh train_zh_large; do
    [ -s $data/manifests/$set.jsonl ] && [ $data/manifests/$set.jsonl -nt $data/sets/$set.tsv ] && continue
    $nice $python local/synth.py --data $data --set $set --nj $nj
  done
fi

if [ $stage -le 2 ] && [ $stop_stage -ge 2 ]; then
  echo "stage 2: CTC training (character units; encoder and CMVN from $init_encoder)"
  # The bundled model was trained on a lent H200 by local/gpu_train_all.sh with --time-budget, which chose
  # 16 epochs (3.5 minutes there); --epochs 16 gives the same schedule here (many CPU hours).
  $nice $asrkit train --config $conf --train $data/manifests/train_zh_large.jsonl --dev $data/manifests/dev_zh.jsonl \
    --exp $exp --init-encoder $init_encoder --epochs $epochs --resume --threads $threads --nj $nj
  cp $exp/model/tokenizer.model $exp/tokenizer.model
fi

if [ $stage -le 3 ] && [ $stop_stage -ge 3 ]; then
  echo "stage 3: greedy decoding and CER"
  for set in dev_zh test_zh; do
    dir=$exp/decode_greedy/$set
    mkdir -p $dir
    $nice $asrkit decode --model $exp/model --input $data/manifests/$set.jsonl --output $dir/hyp.jsonl -q
    $asrkit score --ref $data/manifests/$set.jsonl --hyp $dir/hyp.jsonl --metric cer --lang zh \
      --details $dir/details.jsonl | tee $dir/cer.txt
    $asrkit score --ref $data/manifests/$set.jsonl --hyp $dir/hyp.jsonl --metric cer --lang zh --json > $dir/cer.json
  done
fi

lmdir=$exp/lm
if [ $stage -le 4 ] && [ $stop_stage -ge 4 ]; then
  echo "stage 4: character n-gram LMs on the fortunes-zh text outside test_zh and dev_zh"
  mkdir -p $lmdir
  $python local/manifest_text.py $data/manifests/dev_zh.jsonl > $lmdir/dev_zh.txt
  $python local/manifest_text.py $data/manifests/test_zh.jsonl > $lmdir/test_zh.txt
  : > $lmdir/ppl.jsonl
  for order in 3 4 5; do
    lm=$lmdir/zh_char$order.arpa
    [ -s $lm ] || $asrkit lm ngram --text $data/lm/zh_lm.txt --order $order --unit token \
      --tokenizer $exp/tokenizer.model --output $lm
    for eval in dev_zh test_zh; do
      echo "{\"lm\": \"$(basename $lm)\", \"eval\": \"$eval\", \"result\": $($asrkit lm ppl --lm $lm \
        --text $lmdir/$eval.txt --tokenizer $exp/tokenizer.model --json)}" >> $lmdir/ppl.jsonl
    done
  done
  cat $lmdir/ppl.jsonl
fi

if [ $stage -le 5 ] && [ $stop_stage -ge 5 ]; then
  echo "stage 5: beam search without and with the LM (shallow fusion tuned on dev_zh), test_zh decoded once"
  d=$exp/fusion
  mkdir -p $d
  export threads
  local/tune_and_decode.sh $d beam $exp/model dev_zh test_zh cer "--method beam --beam $beam" ""
  local/tune_and_decode.sh $d shallow_fusion $exp/model dev_zh test_zh cer \
    "--method shallow_fusion --lm $lmdir/zh_char$lm_order.arpa --beam $beam" \
    "lm_weight=0.2:1.6:0.2 insertion_bonus=0:8:1"
  for m in beam shallow_fusion; do echo "$m: $(cat $d/$m.cer.json)"; done
fi

if [ $stage -le 6 ] && [ $stop_stage -ge 6 ]; then
  echo "stage 6: TLG with a character lexicon (a Chinese word LM's words are its characters)"
  d=$exp/fusion
  mkdir -p $d
  lm=$lmdir/zh_word${tlg_order}.arpa
  [ -s $lm ] || $asrkit lm ngram --text $data/lm/zh_lm.txt --order $tlg_order --unit word --output $lm
  [ -s $lmdir/graph/TLG.fst ] || $asrkit lm tlg --lm $lm --model $exp/model --topology compact --out $lmdir/graph
  export threads
  local/tune_and_decode.sh $d tlg $exp/model dev_zh test_zh cer "--method tlg --graph $lmdir/graph" \
    "lm_weight=0.2:1.2:0.2 word_bonus=0,2"
  echo "tlg: $(cat $d/tlg.cer.json)"
fi

if [ $stage -le 7 ] && [ $stop_stage -ge 7 ]; then
  echo "stage 7: bundle $name and Mandarin samples into the package, CER table"
  $python local/make_samples.py --manifest $data/manifests/test_zh.jsonl:6 --out ../../asrkit/samples \
    --name samples_zh.jsonl
  d=$exp/fusion
  scores=("test_zh|greedy=$exp/decode_greedy/test_zh/cer.json")
  for m in shallow_fusion tlg; do
    [ -s $d/$m.cer.json ] && scores+=("test_zh|$m (char $([ $m = tlg ] && echo $tlg_order || echo $lm_order)-gram)=$d/$m.cer.json")
  done
  scores+=("dev_zh|greedy=$exp/decode_greedy/dev_zh/cer.json")
  $python local/bundle_zh_model.py --exp $exp --out ../../asrkit/pretrained/$name \
    --train-manifest $data/manifests/train_zh_large.jsonl --init-encoder bible-en-ctc-small \
    --hardware "$hardware" --scores "${scores[@]}" --command "cd egs/bible && ./run.sh --stage 0 --stop-stage 2 && ./run_zh.sh"
  $asrkit demo --model $name | tee $exp/demo.txt
  $python local/zh_cer_table.py --exp $exp | tee $exp/cer_table.md
fi
