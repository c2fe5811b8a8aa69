#!/usr/bin/env bash
# One GPU session, one command: synthesize the training audio there, then train three models at once on the
# one GPU, each fitted to a time budget (--time-budget), and decode the speech LLM's test sets:
#   1. the speech LLM (continued from the bundled bible-en-speechllm-tiny: adapter + a new LoRA, aux CTC),
#   2. the chunk-wise streaming CTC model (from the demo CTC model),
#   3. the Mandarin character CTC model (encoder from the demo CTC model),
# plus the MooER-7B-shaped bf16 speed row of bench/speech_llm_speed.py while the CPUs synthesize.
# Results (models, logs, decodes) go to $OUT/results.tar.part-* (split under the 16 MiB per-file limit).
#
# Run from the repository root on the GPU machine, with a folder DEV (default .dev) that carries what that
# machine lacks: bin/espeak-ng + lib/ (its libraries) + share/espeak-ng-data, whl/*.whl (soundfile, jiwer, ...),
# site/ (pure-Python modules) and sets/*.tsv (this recipe's data/sets).
# egs/bible/local/gpu_pack.sh builds that folder here.
#   [MODELS="llm stream zh"] bash egs/bible/local/gpu_train_all.sh [SECONDS]   # SECONDS: the command's deadline
# Size: the device tool sends the working tree (64 MiB at most) plus DEV (~12 MB). With the two models bundled
# since the first run (bible-en-ctc-stream, fortunes-zh-ctc-small) the tracked tree is ~85 MB, so a next run
# must leave those two folders (the script does not need them) out of what travels, e.g. move them out of the
# index and the tree for the call (git rm -r --cached + .git/info/exclude) and restore them afterwards.
set -u
total=${1:-580}
models=" ${MODELS:-llm stream zh} "
want() { [[ $models == *" $1 "* ]]; }
t_start=$(date +%s)
left() { echo $(( total - ($(date +%s) - t_start) )); }
root=$PWD
dev=${DEV:-$root/.dev}
out=${OUT:-/tmp/gpu_out}
mkdir -p "$out/logs"
logs=$out/logs
export PATH=$dev/bin:$PATH LD_LIBRARY_PATH=$dev/lib ESPEAK_DATA_PATH=$dev/share PYTHONUNBUFFERED=1
[ -n "${SKIP_PIP:-}" ] || python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site $dev/whl/*.whl \
  > "$logs/pip.txt" 2>&1
export PYTHONPATH=/tmp/site:$dev/site:$root
py=python3
nproc > "$logs/machine.txt"; nvidia-smi >> "$logs/machine.txt" 2>&1
$py -c "import torch, transformers, peft; print(torch.__version__, transformers.__version__, peft.__version__)" \
  >> "$logs/machine.txt" 2>&1

cd egs/bible
mkdir -p data/sets exp/gpu
cp "$dev"/sets/*.tsv data/sets/
pretrained=$root/asrkit/pretrained

synth() { $py local/synth.py --data data --nj "$1" "${@:2}"; }
synth 15 --set test_en > "$logs/synth_test_en.txt" 2>&1
# The 7B-shaped speed row first: the GPU is idle while the CPUs synthesize (its audio: the first test_en clips).
(timeout 200 $py ../../bench/speech_llm_speed.py full --device cuda --batches 1 8 --beams 1 4 --new-tokens 64 \
  --manifest data/manifests/test_en.jsonl > "$logs/speech_llm_speed_full.txt" 2>&1) &

synth 15 --set train_en --set train_es --set dev_en --set dev_es > "$logs/synth_enes.txt" 2>&1
# The speech LLM also reads the extra training verses of local/make_extra_train.py when they were packed.
llm_extra=()
for x in extra extra2; do
  if want llm && [ -s data/sets/train_en_$x.tsv ] && [ -s data/sets/train_es_$x.tsv ]; then
    synth 15 --set train_en_$x --set train_es_$x > "$logs/synth_$x.txt" 2>&1
    llm_extra+=(data/manifests/train_en_$x.jsonl:asr data/manifests/train_es_$x.jsonl:ast
                data/manifests/train_es_$x.jsonl:asr_ast)
  fi
done
echo "en/es synthesized, $(left) s left" | tee -a "$logs/timeline.txt"

# Training must end by `stop` seconds before the deadline: the speech LLM's test decoding and packing follow.
stop=${STOP:-150}
budget_min() { awk -v s="$(( $(left) - stop - $1 ))" 'BEGIN { printf "%.2f", (s < 60 ? 60 : s) / 60 }'; }

llm_budget=$(budget_min 60)
want llm && (timeout $(( $(left) - stop + 60 )) $py -m asrkit.cli.main speech-llm train --config conf/speech_llm_listen_gpu.json \
  --encoder-model "$pretrained/bible-en-ctc-small" --llm "$pretrained/bible-en-speechllm-tiny/llm" \
  --init-adapter "$pretrained/bible-en-speechllm-tiny" \
  --data data/manifests/train_en.jsonl:asr data/manifests/train_es.jsonl:ast data/manifests/train_es.jsonl:asr_ast \
    "${llm_extra[@]}" --dev data/manifests/dev_en.jsonl:asr data/manifests/dev_es.jsonl:ast \
  -o exp/gpu/speech_llm --feats-dir exp/gpu/feats_llm --nj 6 --threads 2 --time-budget "$llm_budget" \
  > "$logs/speech_llm_train.txt" 2>&1) &
llm_pid=$!

stream_budget=$(budget_min 40)
want stream && (timeout $(( $(left) - stop + 20 )) $py -m asrkit.cli.main train --config conf/ctc_stream_small_gpu.json \
  --train data/manifests/train_en.jsonl --dev data/manifests/dev_en.jsonl -o exp/gpu/ctc_stream \
  --init "$pretrained/bible-en-ctc-small" --nj 4 --threads 2 --time-budget "$stream_budget" \
  > "$logs/ctc_stream_train.txt" 2>&1) &
stream_pid=$!

synth 8 --set test_es > "$logs/synth_test.txt" 2>&1
want zh && synth 8 --set dev_zh --set test_zh --set train_zh_large > "$logs/synth_zh.txt" 2>&1
echo "zh synthesized, $(left) s left" | tee -a "$logs/timeline.txt"
zh_budget=$(budget_min 40)
want zh && (timeout $(( $(left) - stop + 20 )) $py -m asrkit.cli.main train --config conf/ctc_zh_small_gpu.json \
  --train data/manifests/train_zh_large.jsonl --dev data/manifests/dev_zh.jsonl -o exp/gpu/ctc_zh \
  --init-encoder "$pretrained/bible-en-ctc-small" --nj 8 --threads 2 --time-budget "$zh_budget" \
  > "$logs/ctc_zh_train.txt" 2>&1) &
zh_pid=$!
echo "budgets (min): llm $llm_budget stream $stream_budget zh $zh_budget" | tee -a "$logs/timeline.txt"

wait $llm_pid
echo "speech LLM training ended (rc $?), $(left) s left" | tee -a "$logs/timeline.txt"
model=exp/gpu/speech_llm/model
[ -d $model ] || model=exp/gpu/speech_llm/last_epoch_model
bundle=exp/gpu/bible-en-speechllm-tiny
$py local/bundle_speech_llm.py --exp exp/gpu/speech_llm --out $bundle --stage model --tasks asr ast asr_ast \
  > "$logs/bundle.txt" 2>&1 || cp -r $model $bundle
for spec in test_en:asr test_es:ast test_es:asr_ast; do
  set=${spec%%:*}; task=${spec#*:}; d=$set; [ "$task" = asr_ast ] && d=${set}_asr_ast
  [ "$(left)" -gt 45 ] || break
  timeout $(( $(left) - 40 )) $py local/eval_speech_llm.py --model $bundle --manifest data/manifests/$set.jsonl \
    --task "$task" --beams 4 --batch 64 --out exp/gpu/decode/$d >> "$logs/speech_llm_eval.txt" 2>&1
done
wait $stream_pid $zh_pid
echo "all ended, $(left) s left" | tee -a "$logs/timeline.txt"

# Pack: models without the frozen encoder copy (it is the demo model's), CTC weights in float16 (as the
# bundled models keep them), logs, decodes.
rm -f $bundle/encoder.safetensors
$py - <<'EOF2' >> "$logs/pack.txt" 2>&1
from pathlib import Path
from safetensors.torch import load_file, save_file
for p in Path("exp/gpu").glob("ctc_*/model/model.safetensors"):
    sd = load_file(p)
    save_file({k: v.half() if v.is_floating_point() else v for k, v in sd.items()}, p)
    print("float16:", p)
EOF2
for d in exp/gpu/ctc_stream exp/gpu/ctc_zh exp/gpu/speech_llm; do cp $d/train.log "$logs/$(basename $d).train.log" 2>/dev/null; done
tar cf - "$logs" $bundle exp/gpu/decode exp/gpu/ctc_stream/model exp/gpu/ctc_zh/model \
  exp/gpu/speech_llm/last_epoch_model/train_history.json 2>/dev/null | split -b 15m - "$out/results.tar.part-"
ls -la "$out"
