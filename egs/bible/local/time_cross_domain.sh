#!/usr/bin/env bash
# Real-time factor of each cross-domain method, measured apart from the WER runs (run it on an idle
# machine): the first 100 utterances of each test set, one thread, tuned configs. Writes
# exp/cross_domain/timing/DOMAIN_METHOD.log, which local/cross_domain_table.py prefers for its RTF column.
set -euo pipefail
cd "$(dirname "$0")/.."
asrkit=${asrkit:-../../.venv/bin/asrkit}
model=${model:-exp/ctc_small/model}
out=exp/cross_domain
mkdir -p $out/timing
for spec in bible:test_en fortunes:fortunes_test_en; do
  IFS=: read -r domain test <<< "$spec"
  head -n 100 data/manifests/$test.jsonl > $out/timing/$test.100.jsonl
  # relative audio paths must still resolve: the manifest copy points at the original folder
  sed -i "s#\"audio\": \"\.\./#\"audio\": \"$(pwd)/data/#" $out/timing/$test.100.jsonl
  for method in greedy beam shallow_fusion shallow_fusion_word rescore density_ratio lodr ilme tlg; do
    d=$out/$domain
    if [ -s $d/tune_$method/best.json ]; then conf="--config $d/tune_$method/best.json"
    elif [ $method = beam ]; then conf="--method beam --beam 8"
    elif [ $method = greedy ]; then conf="--method greedy"
    else continue; fi
    $asrkit decode -q -m $model -i $out/timing/$test.100.jsonl -o $out/timing/${domain}_$method.jsonl $conf \
      --threads 1 2> $out/timing/${domain}_$method.log
    echo "$domain $method: $(tail -n 1 $out/timing/${domain}_$method.log)"
  done
done
