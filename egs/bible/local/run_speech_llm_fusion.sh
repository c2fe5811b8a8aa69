#!/usr/bin/env bash
# LM fusion on the speech LLM head: the bundled bible-en-speechllm-tiny decoded with every decoding method
# on English ASR (Mark + Jude, WER), Spanish -> English speech translation (Spanish Mark + Jude audio
# against the English WEB text, BLEU) and, to see the methods that subtract an internal LM at work, English
# ASR of another text domain (fortunes, WER). Weights are tuned with `asrkit tune` on each task's dev set
# only, then the test set is decoded once with the tuned config. Dev sets: $n_dev seeded utterances of the
# held-out training-book verses (heldout_dev_en / heldout_dev_es: never synthesized for training and kept out
# of every LM text; Titus alone has 46) and the 100 held-out fortunes. Resumable: finished steps are skipped.
#   local/run_speech_llm_fusion.sh       (from egs/bible, after stages 0-5 of run.sh)
#   tasks="asr_fortunes ast_bible" methods="beam shallow_fusion ilme" local/run_speech_llm_fusion.sh
#   (sf_grid="lm_weight=..." and ctc_grid="ctc_weight=..." override those two grids; test_en=/test_es= other
#    Bible test manifests under data/manifests, e.g. ../../exp/speech_llm_v2/dev/test_en_200)
set -euo pipefail
cd "$(dirname "$0")/.."
asrkit=${asrkit:-../../.venv/bin/asrkit}
python=${python:-../../.venv/bin/python}
model=${model:-bible-en-speechllm-tiny}
lm=exp/lm
out=${out:-exp/speech_llm_v2/fusion}
beam=${beam:-4}
n_dev=${n_dev:-150}
tasks=${tasks:-"asr_fortunes ast_bible asr_bible"}
methods=${methods:-"greedy beam shallow_fusion rescore density_ratio lodr ilme beam+ctc shallow_fusion+ctc lodr+ctc ilme+ctc"}
export OMP_NUM_THREADS=1
mkdir -p $out exp/speech_llm_v2/dev
for set in heldout_dev_en heldout_dev_es; do
  [ -s exp/speech_llm_v2/dev/$set.jsonl ] || $python local/subset_manifest.py --manifest data/manifests/$set.jsonl \
    --n $n_dev --seed 0 --out exp/speech_llm_v2/dev/$set.jsonl
done

# LODR's low-order source LM: a word 2-gram of the Bible training text (the speech LLM's training targets).
[ -s $lm/source_word2.arpa ] || $asrkit lm ngram --text data/lm/train_text_en.txt --order 2 --unit word \
  --output $lm/source_word2.arpa

# name: task : metric : dev set : test set : external LM stem
declare -A specs=(
  [asr_bible]=asr:wer:../../exp/speech_llm_v2/dev/heldout_dev_en:${test_en:-test_en}:source
  [ast_bible]=ast:bleu:../../exp/speech_llm_v2/dev/heldout_dev_es:${test_es:-test_es}:source
  [asr_fortunes]=asr:wer:fortunes_dev_en:fortunes_test_en:target
)
for name in $tasks; do
  IFS=: read -r task metric dev test tgt <<< "${specs[$name]}"
  d=$out/$name
  mkdir -p $d
  ext=$lm/${tgt}_word3.arpa
  common="--task $task --beam $beam"
  declare -A args grids
  args[greedy]="--method greedy --task $task"
  args[beam]="--method beam $common"
  args[shallow_fusion]="--method shallow_fusion --lm $ext $common"
  args[rescore]="--method rescore --lm $ext --nbest $beam $common"
  # The speech LLM was trained on Bible text, so its source-domain LM is the Bible train-text n-gram;
  # in domain that is the external LM itself (tuning then decides whether subtracting it helps).
  args[density_ratio]="--method density_ratio --lm $ext --source-lm $lm/source_word3.arpa $common"
  args[lodr]="--method lodr --lm $ext --source-lm $lm/source_word2.arpa $common"
  args[ilme]="--method ilme --lm $ext $common"  # internal LM: the LLM on the prompt without the audio
  # Protocol (as local/run_cross_domain.sh): shallow fusion searches (lambda, eos bias) -- the AR search's
  # length control; rescoring (lambda, insertion bonus); the subtracting methods keep shallow fusion's
  # eos bias and search (lambda, mu) with mu = 0 included, so on dev they can only match or beat it.
  grids[shallow_fusion]=${sf_grid:-"lm_weight=0.1,0.2,0.3,0.5 eos_bias=-0.2,-1"}
  grids[rescore]="lm_weight=0.1,0.3,0.5 word_bonus=0,1"
  sub_grid="lm_weight=0.2,0.3,0.5"
  grids[density_ratio]="$sub_grid source_weight=0,0.1,0.2"
  grids[lodr]="$sub_grid source_weight=0,0.1,0.2"
  grids[ilme]="$sub_grid ilm_weight=0,0.1,0.2"
  # Joint CTC/attention decoding (asr only: the adapter's CTC reads the spoken words): "beam+ctc" tunes the
  # CTC weight and the pre-beam (--prune-topk: how many of the LLM's most likely tokens per step the CTC
  # scores; the LLM's own top 8 often lack the token the audio holds); each "METHOD+ctc" is METHOD with those
  # two fixed, tuned like METHOD.
  if [ $task = asr ]; then
    args[beam+ctc]="--method beam $common"
    grids[beam+ctc]=${ctc_grid:-"ctc_weight=0.3,0.5,0.8 prune_topk=8,64"}
    for m in shallow_fusion density_ratio lodr ilme; do args[$m+ctc]=${args[$m]}; grids[$m+ctc]=${grids[$m]}; done
  fi
  best() { $python -c "import json;print(json.load(open('$d/tune_$1/best.json'))['$2'])"; }
  for method in $methods; do
    [ -n "${args[$method]:-}" ] || continue
    extra=()
    if [[ $method = *+ctc && $method != beam+ctc ]]; then
      extra=(--ctc-weight "$(best beam+ctc ctc_weight)")
      topk=$(best beam+ctc prune_topk)
      [ "$topk" = None ] || extra+=(--prune-topk "$topk")
    fi
    case $method in density_ratio|lodr|ilme) extra+=(--eos-bias "$(best shallow_fusion eos_bias)") ;;
      density_ratio+ctc|lodr+ctc|ilme+ctc) extra+=(--eos-bias "$(best shallow_fusion+ctc eos_bias)") ;;
    esac
    threads=1 local/tune_and_decode.sh $d $method $model $dev $test $metric "${args[$method]}" "${grids[$method]:-}" \
      "${extra[@]}"
  done
  unset args grids
done
$python local/speech_llm_fusion_table.py $out > $out/table.md
cat $out/table.md
