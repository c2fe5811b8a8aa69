#!/usr/bin/env bash
# Bible speech recipe: synthetic en/es/zh speech from public-domain Bibles and fortunes.
#   ./run.sh [--stage N] [--stop-stage M]      (run from egs/bible; defaults run everything)
# Stages: 0 text extraction, 1 alignment + splits + LM text, 2 synthesis + manifests,
#         3 CTC training, 4 greedy decoding + scoring, 5 LMs (n-gram, neural, G.fst, perplexity),
#         6 bundle the demo model + samples into the package, 7 benchmarks.
set -euo pipefail
cd "$(dirname "$0")"

stage=0
stop_stage=100
nj=2
data=data
python=${python:-../../.venv/bin/python}
asrkit=${asrkit:-../../.venv/bin/asrkit}
exp=exp/ctc_small
threads=2

# selection sizes (utterances)
n_train_en=7000
n_train_es=4000
n_fortunes=400
n_zh=1200
n_zh_test=200
max_train_words=70   # longer train verses (> ~25 s of speech) are not synthesized
seed=1

while [ $# -gt 0 ]; do
  case "$1" in
    --stage) stage=$2; shift 2 ;;
    --stop-stage|--stop_stage) stop_stage=$2; shift 2 ;;
    --nj) nj=$2; shift 2 ;;
    *) echo "unknown option: $1" >&2; exit 1 ;;
  esac
done

if [ $stage -le 0 ] && [ $stop_stage -ge 0 ]; then
  echo "stage 0: text (WEB, RV1909, fortunes, fortunes-zh)"
  if [ -s $data/text/web.tsv ] && [ -s $data/text/rv1909.tsv ] && [ -s $data/text/fortunes_en.tsv ] \
      && [ -s $data/text/zh.tsv ]; then
    echo "  $data/text already done; remove it to redo"
  else
    $python local/text_prep.py $data/text
  fi
fi

if [ $stage -le 1 ] && [ $stop_stage -ge 1 ]; then
  echo "stage 1: es-en alignment, splits, selections, LM text"
  $python local/prepare_data.py --data $data --n-train-en $n_train_en --n-train-es $n_train_es \
    --n-fortunes $n_fortunes --n-zh $n_zh --n-zh-test $n_zh_test --max-train-words $max_train_words --seed $seed
fi

if [ $stage -le 2 ] && [ $stop_stage -ge 2 ]; then
  echo "stage 2: synthesis (espeak-ng + sox + noise/reverb) and manifests"
  # English first: each manifest is written as soon as its set is complete.
  for set in train_en dev_en test_en fortunes_test_en fortunes_dev_en train_es dev_es test_es train_zh test_zh \
      heldout_dev_en heldout_dev_es; do
    $python local/synth.py --data $data --set $set --nj $nj
  done
  $python local/data_stats.py $data/manifests
fi

if [ $stage -le 3 ] && [ $stop_stage -ge 3 ]; then
  echo "stage 3: train the SANM-CTC model in two phases (each resumes from its checkpoint.pt)"
  # Phase 1: 3 epochs with large batches (4000 frames), LR schedule of an 8-epoch run.
  $asrkit train --config conf/ctc_small_stage1.json --train $data/manifests/train_en.jsonl \
    --dev $data/manifests/dev_en.jsonl --exp ${exp}_p1 --feats-dir exp/feats --stop-after-epoch 3 \
    --resume --threads $threads --nj $nj
  # Phase 2: from phase 1's weights, 7 epochs of 4x smaller batches (4x more updates), lower dropout.
  $asrkit train --config conf/ctc_small_stage2.json --train $data/manifests/train_en.jsonl \
    --dev $data/manifests/dev_en.jsonl --exp $exp --feats-dir exp/feats --init ${exp}_p1/epoch-3.pt \
    --resume --threads $threads --nj $nj
fi

if [ $stage -le 4 ] && [ $stop_stage -ge 4 ]; then
  echo "stage 4: greedy decoding and WER"
  for set in dev_en test_en fortunes_test_en; do
    dir=$exp/decode_greedy/$set
    mkdir -p $dir
    $asrkit decode --model $exp/model --input $data/manifests/$set.jsonl --output $dir/hyp.jsonl --resume -q
    $asrkit score --ref $data/manifests/$set.jsonl --hyp $dir/hyp.jsonl --metric wer --details $dir/details.jsonl \
      | tee $dir/wer.txt
    $asrkit score --ref $data/manifests/$set.jsonl --hyp $dir/hyp.jsonl --metric wer --json > $dir/wer.json
  done
fi

if [ $stage -le 5 ] && [ $stop_stage -ge 5 ]; then
  echo "stage 5: LMs: source (Bible train text), target (fortunes), general (all allowed text)"
  lmdir=exp/lm
  mkdir -p $lmdir
  $python local/manifest_text.py $data/manifests/test_en.jsonl > $lmdir/eval_bible.txt
  $python local/manifest_text.py $data/manifests/fortunes_test_en.jsonl > $lmdir/eval_fortunes.txt
  $python local/manifest_text.py $data/manifests/dev_en.jsonl > $lmdir/dev_bible.txt
  for src in source:train_text_en target:fortunes_lm_en general:all_text_en; do
    name=${src%%:*}; text=$data/lm/${src#*:}.txt
    [ -s $lmdir/${name}_word3.arpa ] || $asrkit lm ngram --text $text --order 3 --unit word --output $lmdir/${name}_word3.arpa
    [ -s $lmdir/${name}_token4.arpa ] || $asrkit lm ngram --text $text --order 4 --unit token \
      --tokenizer $exp/tokenizer.model --output $lmdir/${name}_token4.arpa
    # LODR needs a low-order source LM.
    [ $name != source ] || [ -s $lmdir/source_token2.arpa ] || $asrkit lm ngram --text $text --order 2 \
      --unit token --tokenizer $exp/tokenizer.model --output $lmdir/source_token2.arpa
  done
  [ -s $lmdir/general_word3.bin ] || $asrkit lm ngram --text $data/lm/all_text_en.txt --order 3 --unit word \
    --output $lmdir/general_word3.bin
  [ -s $lmdir/G_general/G.fst ] || $asrkit lm gfst --arpa $lmdir/general_word3.arpa --output-dir $lmdir/G_general
  [ -s $lmdir/general_transformer/config.json ] || $asrkit lm train --text $data/lm/all_text_en.txt \
    --dev $lmdir/dev_bible.txt --tokenizer $exp/tokenizer.model --config conf/lm_transformer_small.json \
    --output $lmdir/general_transformer --resume --threads $threads
  : > $lmdir/ppl.jsonl
  for lm in $lmdir/*.arpa $lmdir/general_transformer; do
    for eval in bible fortunes; do
      echo "{\"lm\": \"$(basename $lm)\", \"eval\": \"$eval\", \"result\": $($asrkit lm ppl --lm $lm \
        --text $lmdir/eval_$eval.txt --tokenizer $exp/tokenizer.model --json)}" >> $lmdir/ppl.jsonl
    done
  done
  $python local/ppl_table.py $lmdir/ppl.jsonl
fi

if [ $stage -le 6 ] && [ $stop_stage -ge 6 ]; then
  echo "stage 6: bundle the demo model and sample audio into the package"
  $python local/make_samples.py --manifest $data/manifests/test_en.jsonl:6 \
    $data/manifests/fortunes_test_en.jsonl:2 --out ../../asrkit/samples
  hours=$($python -c "import json; print(sum(json.loads(l)['duration'] for l in open('$data/manifests/train_en.jsonl'))/3600)")
  $python local/bundle_model.py --exp $exp --out ../../asrkit/pretrained/bible-en-ctc-small --train-hours $hours \
    --scores "Mark+Jude (test_en)=$exp/decode_greedy/test_en/wer.json" \
    "fortunes (fortunes_test_en)=$exp/decode_greedy/fortunes_test_en/wer.json" \
    "Titus (dev_en)=$exp/decode_greedy/dev_en/wer.json" \
    --command "cd egs/bible && ./run.sh --stage 0 --stop-stage 6"
  $asrkit demo | tee $exp/demo.txt
fi

if [ $stage -le 7 ] && [ $stop_stage -ge 7 ]; then
  echo "stage 7: benchmarks (one CPU thread)"
  $python local/bench_rtf.py --manifest $data/manifests/test_en.jsonl --max-utts 100 | tee $exp/bench_rtf.md
  $python ../../bench/lm_throughput.py --lm exp/lm/general_word3.arpa --lm exp/lm/general_word3.bin \
    --lm exp/lm/general_token4.arpa --lm exp/lm/general_transformer --tokenizer $exp/tokenizer.model \
    --text exp/lm/eval_bible.txt | tee exp/lm/bench_lm.md
fi
