#!/usr/bin/env python3
"""Bundle the trained speech LLM: ``--stage model`` writes the float16 folder (LoRA merged into llm/),
``--stage card`` writes its README.md model card from the recipe's outputs (configs, logs, score JSON
files of the bundled model's decodes); no number is typed by hand."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from asrkit.models.speech_llm import SpeechLLM


def _size_mb(folder: Path) -> float:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 1e6


def write_model(exp: Path, out: Path, tasks: list[str] | None) -> None:
    model = SpeechLLM.from_pretrained(exp / "model", merge_lora=False, trainable=True)
    if tasks:  # serve only these tasks (the trained ones); others are refused with the task list
        model.config.prompts = {t: p for t, p in model.config.prompts.items() if t in tasks}
    model.save_pretrained(out, dtype=torch.float16, merge_lora=True)
    print(f"wrote {out} ({_size_mb(out):.1f} MB)")


def _score_rows(decode: Path) -> list[str]:
    rows = []
    for set_dir in sorted(decode.iterdir()):
        for setting in ("greedy", "beam4"):
            f = set_dir / setting / "score.json"
            if not f.exists():
                continue
            s = json.loads(f.read_text())
            detail = (f"{s['substitutions']} / {s['deletions']} / {s['insertions']} of {s['ref_len']} words"
                      if s["metric"] == "wer" else s["line"].split("=", 1)[-1].strip())
            if "n_split" in s:  # asr_ast: the transcript line's WER and how many answers had both lines
                detail = f"transcript WER {s['wer']:.2f}; {s['n_split']} answers with 2 lines; {detail}"
            rows.append(f"| {set_dir.name} ({s['task']}) | {setting} | {s['n_utts']} | {s['metric'].upper()} "
                        f"{s['value']:.2f} | {detail} | {s['rtf']:.3f} |")
    return rows


def _parent_logs(parent: Path) -> list[str]:
    """The training-log lines of the model card of the folder a continued run started from."""
    text = (parent / "README.md").read_text()
    block = text.split("## Training logs", 1)[1].split("```")[1]
    return [x for x in block.splitlines() if x.strip()]


def _parent_stages(parent: Path) -> list[str]:
    """The training-stage lines of the parent's card (its ``Lineage`` list), so that a continued card keeps
    the whole history even where the parent's own logs are no longer on disk."""
    text = (parent / "README.md").read_text()
    if "- **Lineage**" not in text:
        return []
    block = text.split("- **Lineage**", 1)[1].split("\n- **", 1)[0]
    return [x for x in block.splitlines() if x.startswith("  - `")]


def _precision(log: Path, amp: str, given: str | None = None) -> str:
    """How a training computed: ``given`` (for logs older than the line), else the ``precision:`` its trainer
    wrote into train.log (asrkit/train/precision.py), else what its config's ``amp`` asked for."""
    if given:
        return given
    lines = [x for x in log.read_text().splitlines() if "; precision: " in x]
    if lines:
        return lines[-1].split("; precision: ", 1)[1].strip()
    return "bf16 autocast" if amp == "bf16" else "float32"


def _wall_hours(lines: list[str]) -> float:
    """Wall-clock hours between the first and last timestamped lines of a training log (restarts included)."""
    stamps = [time.mktime(time.strptime(x[:19], "%Y-%m-%d %H:%M:%S")) for x in lines if x[:4].isdigit()]
    return (max(stamps) - min(stamps)) / 3600 if stamps else 0.0


def _results_logs_use(name: str, decode: Path, subset: str, logs: list[str], bleu_note: str) -> str:
    """The card's results table, training logs and usage: the same for a from-scratch and a continued run."""
    return f"""## Results (this folder, Hugging Face `generate` with MooER's defaults)

Greedy = 1 beam; beam4 = 4 beams, length penalty 0.8, EOS log-prob bias -0.2, at most 200 new tokens.
{subset} of each test set (Mark + Jude); WER on `asrkit.text.normalize_text` output,
BLEU = sacreBLEU 13a, cased, against the English WEB translation{bleu_note}. RTF on one CPU thread (shared machine).

| test set | decoding | utterances | score | details | RTF |
|---|---|---|---|---|---|
{chr(10).join(_score_rows(decode))}

## Training logs

```
{chr(10).join(logs)}
```

## Use

```python
from asrkit.models.speech_llm import load_speech_llm
from asrkit.frontend import load_audio
m = load_speech_llm("{name}")
print(m.generate([load_audio("a.wav")], "asr"))   # "ast" (or "asr_ast" where trained) for Spanish audio
```

"""


def write_card(exp: Path, llm_exp: Path | None, out: Path, decode: Path, max_utts: str,
               parent: Path | None = None, via: list[str] | None = None, hardware: str | None = None,
               data_note: str | None = None, *, name: str, precision: str | None = None) -> None:
    cfg = json.loads((out / "config.json").read_text())
    llm = json.loads((out / "llm" / "config.json").read_text())
    tcfg = json.loads((exp / "train_config.json").read_text())
    if parent is not None:
        given = {k: v for k, v in (("hardware", hardware), ("data_note", data_note)) if v}  # else its defaults
        return _write_continued_card(exp, parent, out, decode, max_utts, cfg, llm, tcfg, via, name=name,
                                     precision=precision, **given)
    lcfg = json.loads((llm_exp / "train_config.json").read_text())
    model = SpeechLLM.from_pretrained(out)
    n_enc = sum(p.numel() for p in model.encoder.parameters())
    n_ad = sum(p.numel() for p in model.encoder_projector.parameters())
    n_llm = sum(p.numel() for p in model.lm.parameters())
    log = [x for x in (exp / "train.log").read_text().splitlines() if "end of epoch" in x or "trainable" in x]
    llm_log = [x for x in (llm_exp / "train.log").read_text().splitlines() if "end of epoch" in x or "LLM " in x]
    enc, ad, lo, o = cfg["encoder"], cfg["adapter"], tcfg["lora"], tcfg["optim"]
    subset = "All utterances" if max_utts in ("", "all") else f"The first {max_utts} utterances"
    card = f"""# {name}

A tiny **speech LLM** in the MooER style (frozen speech encoder -> 120 ms adapter -> Qwen2-architecture LLM
with LoRA), trained from scratch on CPU by asrkit's `egs/bible` recipe (`run_speech_llm.sh`). Tasks:
English speech recognition (`asr`) and Spanish -> English speech translation (`ast`). A demo of the
architecture and of asrkit's decoding interfaces, not a useful recognizer: it knows espeak-ng voices and
Bible-style text only.

- **Encoder** (frozen): the SANM encoder of `bible-en-ctc-small` ({enc['num_blocks']} blocks x
  {enc['output_size']}, {n_enc / 1e6:.2f}M parameters), 80-dim fbank, LFR 7/6 (60 ms frames), `am.mvn` CMVN.
- **Adapter**: MooER's LinearAdapter, {ad['downsample_rate']} frames concatenated ->
  Linear({ad['downsample_rate'] * ad['encoder_dim']} -> {ad['hidden_dim']}) -> ReLU ->
  Linear({ad['hidden_dim']} -> {ad['llm_dim']}): one embedding per 120 ms; {n_ad / 1e6:.2f}M parameters.
- **LLM**: Qwen2 architecture, {llm['num_hidden_layers']} layers x {llm['hidden_size']}, {llm['num_attention_heads']}
  heads ({llm['num_key_value_heads']} KV heads), FFN {llm['intermediate_size']}, tied embeddings, vocabulary
  {llm['vocab_size']} (byte-level BPE trained here, with Qwen's `<|endoftext|>`, `<|im_start|>`, `<|im_end|>`);
  {n_llm / 1e6:.2f}M parameters. Pretrained from scratch on the English WEB text of the training books
  (`data/lm/train_text_en.txt`) and the Spanish transcripts of `train_es`: {lcfg['optim']['epochs']} epochs,
  blocks of {lcfg['optim']['block_size']} tokens, AdamW lr {lcfg['optim']['lr']},
  {_precision(llm_exp / 'train.log', lcfg['optim'].get('amp', 'bf16'))}.
- **LoRA** (merged into `llm/` in this folder): r {lo['r']}, alpha {lo['alpha']}, dropout {lo['dropout']} on
  {', '.join(lo['target_modules'])}.
- **Speech training** (adapter + LoRA only): `train_en` (asr: transcript) and `train_es` (ast: Spanish audio,
  English WEB `translation` as target), MooER's prompts and chat template, audio before the prompt.
  First {o.get('ctc_warmup_steps', 0)} steps train the adapter alone with asrkit's adapter CTC warm-up
  (`asrkit/models/speech_llm/aux_ctc.py`: CTC of the spoken transcript against the LLM's frozen embedding
  matrix, lr {o.get('ctc_lr')}; without it, 2 epochs left the audio unused), then MooER's answer loss for
  {o['epochs']} epochs, AdamW lr {o['lr']}, warmup {o['warmup_steps']} then cosine, batches of
  {o['max_tokens']} padded positions, {_precision(exp / 'train.log', o.get('amp', 'bf16'), precision)},
  seed {o['seed']}.
- **Storage**: float16, {_size_mb(out):.1f} MB (`config.json`, `encoder.safetensors`, `am.mvn`,
  `adapter.safetensors`, `llm/`).

{_results_logs_use(name, decode, subset, llm_log + log, "")}
## Limits

Synthetic speech only (espeak-ng); Bible-domain text only; a 4-layer LLM trained for minutes: expect
hallucinated words, repetitions and weak translations (the train loss kept falling while the dev loss
flattened: the LoRA memorises the training books' text, which the LLM had also seen in pretraining; the
translation dev loss barely moved). The `asr_ast` task is not trained. Far weaker than the CTC model whose
encoder it uses (`bible-en-ctc-small`, see its card for the same test set): its value is as a small,
real model behind the speech-LLM decoding interfaces (`generate`, `prefix_lm`, `prompt_only_lm`).
"""
    (out / "README.md").write_text(card)
    print(f"wrote {out / 'README.md'}")


def _log_lines(path: Path) -> list[str]:
    return [x for x in path.read_text().splitlines() if "end of epoch" in x or "trainable" in x or "initialised" in x]


def _stages(via: list[str], exp: Path, hardware: str) -> tuple[list[str], list[str]]:
    """Card lines for each training stage after the parent (``LOG=HARDWARE`` items, then this run), and the
    log lines of all of them. Epochs and hours come from the logs."""
    items = [tuple(v.split("=", 1)) for v in via] + [(str(exp / "train.log"), hardware)]
    lines, logs = [], []
    for log, hw in items:
        text = Path(log).read_text().splitlines()
        epochs = sum("end of epoch" in x for x in text)
        lines.append(f"  - `{log}`: "
                     f"{epochs} epoch{'s' if epochs != 1 else ''}, {_wall_hours(text):.2f} h wall clock, {hw}")
        logs += _log_lines(Path(log))
    return lines, logs


def _write_continued_card(exp: Path, parent: Path, out: Path, decode: Path, max_utts: str, cfg: dict, llm: dict,
                          tcfg: dict, via: list[str] | None = None,
                          hardware: str = "a 2-core x86-64 CPU (one thread, machine shared with other jobs)",
                          data_note: str = "`train_en` (asr), `train_es` (ast and asr_ast)", *,
                          name: str, precision: str | None = None) -> None:
    model = SpeechLLM.from_pretrained(out)
    n_enc = sum(p.numel() for p in model.encoder.parameters())
    n_ad = sum(p.numel() for p in model.encoder_projector.parameters())
    n_llm = sum(p.numel() for p in model.lm.parameters())
    parent_log = _parent_logs(parent)
    stage_lines, log = _stages(via or [], exp, hardware)
    stage_lines = _parent_stages(parent) + stage_lines
    enc, ad, lo, o = cfg["encoder"], cfg["adapter"], tcfg["lora"], tcfg["optim"]
    tasks = ", ".join(f"`{t}`" for t in cfg.get("prompts", {}))
    wd = o.get("word_dropout", 0)
    plural = "s" if o["epochs"] != 1 else ""
    wd_note = (f", word dropout {wd} of the teacher-forced answer tokens (`SpeechLLM.forward`)" if wd else "")
    subset = ("All utterances" if max_utts in ("", "all") else
              f"A seeded random subset of {max_utts} utterances (`local/subset_manifest.py --seed 0`)")
    card = f"""# {name}

A tiny **speech LLM** in the MooER style (frozen speech encoder -> 120 ms adapter -> Qwen2-architecture LLM
with LoRA), trained on CPU by asrkit's `egs/bible` recipe (`run_speech_llm.sh`). Tasks: {tasks} --
English speech recognition (`asr`), Spanish -> English speech translation (`ast`) and the multitask
answer `transcript\\ntranslation` (`asr_ast`, Spanish audio). A small real model behind the speech-LLM
decoding interfaces; it knows espeak-ng voices and Bible-style text only.

- **Encoder** (frozen): the SANM encoder of `bible-en-ctc-small` ({enc['num_blocks']} blocks x
  {enc['output_size']}, {n_enc / 1e6:.2f}M parameters), 80-dim fbank, LFR 7/6 (60 ms frames), `am.mvn` CMVN.
- **Adapter**: MooER's LinearAdapter, {ad['downsample_rate']} frames concatenated ->
  Linear({ad['downsample_rate'] * ad['encoder_dim']} -> {ad['hidden_dim']}) -> ReLU ->
  Linear({ad['hidden_dim']} -> {ad['llm_dim']}): one embedding per 120 ms; {n_ad / 1e6:.2f}M parameters.
- **LLM**: Qwen2 architecture, {llm['num_hidden_layers']} layers x {llm['hidden_size']}, {llm['num_attention_heads']}
  heads ({llm['num_key_value_heads']} KV heads), FFN {llm['intermediate_size']}, tied embeddings, vocabulary
  {llm['vocab_size']} (byte-level BPE trained here); {n_llm / 1e6:.2f}M parameters.
- **Lineage**: continued from an earlier bundled model of this name (its LLM with LoRA merged, and its
  adapter; in git history), whose own LLM pretraining and speech training are the first lines of the logs
  below, then trained in these stages (each a new LoRA on the previous stage's merged LLM; the last one is
  described in the next item):
{chr(10).join(stage_lines)}
- **This training** (adapter + new LoRA r {lo['r']}, alpha {lo['alpha']}, dropout {lo['dropout']} on
  {', '.join(lo['target_modules'])}; merged into `llm/` in this folder): {data_note},
  MooER's prompts and chat template, audio before the prompt. Loss: MooER's answer loss +
  {o.get('ctc_weight', 0)} x the adapter CTC loss (`asrkit/models/speech_llm/aux_ctc.py`, kept as an
  auxiliary term so the adapter keeps emitting the spoken tokens' embeddings); {o['epochs']} epoch{plural},
  AdamW lr {o['lr']}, warmup {o['warmup_steps']} then cosine, batches of {o['max_tokens']} padded positions,
  {_precision(exp / 'train.log', o.get('amp', 'bf16'), precision)}, seed {o['seed']}{wd_note}.
- **Storage**: float16, {_size_mb(out):.1f} MB (`config.json`, `encoder.safetensors`, `am.mvn`,
  `adapter.safetensors`, `llm/`).

{_results_logs_use(name, decode, subset, parent_log + log,
                   " (for `asr_ast`: the translation line; its transcript line's WER is in the details)")}
## Limits

Synthetic speech only (espeak-ng); Bible-domain text only; a 4-layer LLM trained for a few CPU hours: expect
hallucinated words and weak translations. Weaker than the CTC model whose encoder it uses
(`bible-en-ctc-small`, see its card for the same test set).
"""
    (out / "README.md").write_text(card)
    print(f"wrote {out / 'README.md'}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--exp", required=True, help="speech LLM training folder (model/, train_config.json, train.log)")
    ap.add_argument("--llm-exp", default=None, help="LLM pretraining folder (train_config.json, train.log)")
    ap.add_argument("--parent", default=None,
                    help="speech LLM folder the training continued from (its card's logs are carried over)")
    ap.add_argument("--via", nargs="*", default=[], metavar="LOG=HARDWARE",
                    help="training stages between --parent and --exp that the parent's card does not list: a "
                         "train.log and where it ran, in order")
    ap.add_argument("--hardware", default=None, help="where --exp ran [a 2-core x86-64 CPU ...]")
    ap.add_argument("--out", required=True)
    ap.add_argument("--stage", choices=("model", "card"), required=True)
    ap.add_argument("--decode", default=None, help="decode folder of the bundled model (card stage)")
    ap.add_argument("--max-utts", default="all")
    ap.add_argument("--tasks", nargs="*", default=None, help="tasks the bundled model serves (default: all)")
    ap.add_argument("--name", default="bible-en-speechllm-tiny",
                    help="the model's name in its card (the asrkit/pretrained folder it is copied to)")
    ap.add_argument("--data-note", default=None,
                    help="the training data, as the card of a continued model says it [`train_en` (asr), ...]")
    ap.add_argument("--precision", default=None,
                    help="how the run computed, for a train.log older than its 'precision:' line (e.g. float32 "
                         "on a CPU without native bf16)")
    args = ap.parse_args()
    if args.stage == "model":
        write_model(Path(args.exp), Path(args.out), args.tasks)
    else:
        write_card(Path(args.exp), Path(args.llm_exp) if args.llm_exp else None, Path(args.out), Path(args.decode),
                   args.max_utts, Path(args.parent) if args.parent else None, args.via, args.hardware,
                   args.data_note, name=args.name, precision=args.precision)


if __name__ == "__main__":
    main()
