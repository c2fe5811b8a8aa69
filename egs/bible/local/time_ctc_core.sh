#!/usr/bin/env bash
# End-to-end RTF of the CTC methods with the compiled search core and with the Python search
# (ASRKIT_NATIVE=0), back to back in one session: the first 100 utterances of each cross-domain test set,
# one thread, the tuned weights of the cross-domain table in RESULTS.md (no tune runs needed). Prints one
# line per (domain, method, search) and whether both searches wrote the same hypotheses.
#   local/time_ctc_core.sh            (from egs/bible, after stages 0-5)
set -euo pipefail
cd "$(dirname "$0")/.."
asrkit=${asrkit:-../../.venv/bin/asrkit}
model=${model:-exp/ctc_small/model}
out=exp/ctc_core_rtf
mkdir -p $out
[ -s $out/ctc_prior.json ] || $asrkit lm prior -m $model -i data/manifests/train_en.jsonl --max-utts 500 \
  -o $out/ctc_prior.json
# domain:test set:LM stem:rescore lambda:DR mu:DR lambda:LODR mu:LODR/ILME lambda (ILME mu = DR mu)
for spec in bible:test_en:source:1.2:0:1.2:0:1.2 fortunes:fortunes_test_en:target:1.0:0.2:1.4:0.1:1.4; do
  IFS=: read -r domain test tgt rs_l dr_mu dr_l lodr_mu sub_l <<< "$spec"
  head -n 100 data/manifests/$test.jsonl > $out/$test.100.jsonl
  # relative audio paths must still resolve: the manifest copy points at the original folder
  sed -i "s#\"audio\": \"\.\./#\"audio\": \"$(pwd)/data/#" $out/$test.100.jsonl
  tok=exp/lm/${tgt}_token4.arpa
  declare -A cfg
  cfg[greedy]="--method greedy"
  cfg[beam]="--method beam --beam 8"
  cfg[shallow_fusion]="--method shallow_fusion --lm $tok --lm-weight 1.2 --insertion-bonus 5 --beam 8"
  cfg[shallow_fusion_word]="--method shallow_fusion --lm exp/lm/${tgt}_word3.arpa --lm-weight 0.6 --insertion-bonus 3 --beam 8"
  cfg[rescore]="--method rescore --lm $tok --lm-weight $rs_l --nbest 8 --beam 8"
  cfg[density_ratio]="--method density_ratio --lm $tok --source-lm exp/lm/source_token4.arpa --lm-weight $dr_l --source-weight $dr_mu --insertion-bonus 5 --beam 8"
  cfg[lodr]="--method lodr --lm $tok --source-lm exp/lm/source_token2.arpa --lm-weight $sub_l --source-weight $lodr_mu --insertion-bonus 5 --beam 8"
  cfg[ilme]="--method ilme --lm $tok --ilm $out/ctc_prior.json --lm-weight $sub_l --ilm-weight $dr_mu --insertion-bonus 5 --beam 8"
  for method in greedy beam shallow_fusion shallow_fusion_word rescore density_ratio lodr ilme; do
    for native in 0 1; do
      # shellcheck disable=SC2086  # the config is a list of flags
      ASRKIT_NATIVE=$native OMP_NUM_THREADS=1 $asrkit decode -q -m $model -i $out/$test.100.jsonl \
        -o $out/${domain}_${method}_n$native.jsonl ${cfg[$method]} --threads 1 2> $out/${domain}_${method}_n$native.log
      echo "$domain $method $([ $native = 1 ] && echo compiled || echo python): $(grep -o 'RTF [0-9.]*' \
        $out/${domain}_${method}_n$native.log | tail -1)"
    done
    same=$(cmp -s $out/${domain}_${method}_n0.jsonl $out/${domain}_${method}_n1.jsonl && echo same || echo DIFFERENT)
    echo "$domain $method hypotheses: $same"
  done
  unset cfg
done
