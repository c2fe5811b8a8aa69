#!/usr/bin/env bash
# The hotword reject table's test command (RESULTS.md, "Hotwords"): the demo model, 100 and 1000 phrases, with and
# without aliases and shallow fusion, --hotword-checks 0,4 and --hotword-rejects 0,1 (dev-chosen: 1 without
# fusion). REPEATS (default 3) passes per row; OUT (default exp/hotwords_reject_test) the output folder, which
# keeps the alias readings (readings.json, readings_sf.json) for the next run.
set -euo pipefail
cd "$(dirname "$0")/.."
P=../../.venv/bin/python; M=../../asrkit/pretrained/bible-en-ctc-small; m=data/manifests
export OMP_NUM_THREADS=1
$P local/bench_hotwords.py --emissions exp/hotwords/test.npz \
    --test $m/test_en.jsonl $m/fortunes_test_en.jsonl --train $m/train_en.jsonl \
    --tokens $M/tokenizer.model --lm exp/lm/source_token4.arpa \
    --hotword-weights 3 --hotword-beams 2 --fusion-hotword-weights 2 --fusion-hotword-beams 2 --repeats ${REPEATS:-3} \
    --alias-model $M --known-words exp/lm/source_word3.arpa \
    --max-aliases 3 --alias-min-known-distance 0.3 --alias-fusion --hotword-fuzzy 0.34 \
    --hotword-checks 0,4 --hotword-rejects 0,1 --dump-hyps --out ${OUT:-exp/hotwords_reject_test}
