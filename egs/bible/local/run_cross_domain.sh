#!/usr/bin/env bash
# Cross-domain LM fusion experiment (issue 4): the Bible-trained CTC model on an in-domain test set
# (Mark + Jude, LM = Bible train text) and a target-domain one (fortunes, LM = other fortunes).
# Every method's weights are tuned with `asrkit tune` on that domain's dev set (Titus / 100 held-out
# fortunes), then the test set is decoded once with the tuned config. Resumable: finished steps are skipped.
#   local/run_cross_domain.sh            (from egs/bible, after stages 0-5)
set -euo pipefail
cd "$(dirname "$0")/.."
asrkit=${asrkit:-../../.venv/bin/asrkit}
python=${python:-../../.venv/bin/python}
model=${model:-exp/ctc_small/model}
lm=exp/lm
out=exp/cross_domain
beam=${beam:-8}
mkdir -p $out

# The CTC model's internal LM for ILME: its label prior over 500 training utterances.
[ -s $out/ctc_prior.json ] || $asrkit lm prior -m $model -i data/manifests/train_en.jsonl --max-utts 500 \
  -o $out/ctc_prior.json

# domain: dev set, test set, external (target) LM stem
for spec in bible:dev_en:test_en:source fortunes:fortunes_dev_en:fortunes_test_en:target; do
  IFS=: read -r domain dev test tgt <<< "$spec"
  d=$out/$domain
  mkdir -p $d
  tok_lm=$lm/${tgt}_token4.arpa
  common="--beam $beam"
  declare -A args grids
  args[greedy]="--method greedy"
  args[beam]="--method beam $common"
  args[shallow_fusion]="--method shallow_fusion --lm $tok_lm $common"
  args[shallow_fusion_word]="--method shallow_fusion --lm $lm/${tgt}_word3.arpa $common"
  args[rescore]="--method rescore --lm $tok_lm --nbest $beam $common"
  args[density_ratio]="--method density_ratio --lm $tok_lm --source-lm $lm/source_token4.arpa $common"
  args[lodr]="--method lodr --lm $tok_lm --source-lm $lm/source_token2.arpa $common"
  args[ilme]="--method ilme --lm $tok_lm --ilm $out/ctc_prior.json $common"
  # TLG over the domain's word 3-gram (the graph is built once per LM).
  [ -s $lm/graph_${tgt}/TLG.fst ] || $asrkit lm tlg --lm $lm/${tgt}_word3.arpa --model $model --out $lm/graph_${tgt}
  args[tlg]="--method tlg --graph $lm/graph_${tgt} --search-beam 16"
  # Protocol: shallow fusion (and rescoring, TLG) get a (lambda, beta) grid; the methods that subtract a
  # second LM keep shallow fusion's beta and search (lambda, mu) with mu = 0 included, so on dev they can
  # only match or beat shallow fusion.
  sf_grid="lm_weight=0.2:1.6:0.2 insertion_bonus=0:5:1"
  grids[shallow_fusion]=$sf_grid
  grids[shallow_fusion_word]=$sf_grid
  grids[rescore]="lm_weight=0.2:1.6:0.2 word_bonus=0:3:1"
  grids[tlg]="lm_weight=0.4:1.2:0.2 blank_penalty=0,1,2"
  sub_grid="lm_weight=0.6:1.4:0.2"
  grids[density_ratio]="$sub_grid source_weight=0,0.1,0.2,0.35,0.5"
  grids[lodr]="$sub_grid source_weight=0,0.1,0.2,0.35,0.5"
  grids[ilme]="$sub_grid ilm_weight=0,0.1,0.2,0.35,0.5"
  for method in greedy beam shallow_fusion shallow_fusion_word rescore density_ratio lodr ilme tlg; do
    extra=()
    case $method in density_ratio|lodr|ilme)
      extra=(--insertion-bonus "$($python -c "import json;print(json.load(open('$d/tune_shallow_fusion/best.json'))['insertion_bonus'])")") ;;
    esac
    local/tune_and_decode.sh $d $method $model $dev $test wer "${args[$method]}" "${grids[$method]:-}" "${extra[@]}"
  done
  unset args grids
done
$python local/cross_domain_table.py $out > $out/table.md
cat $out/table.md
