#!/usr/bin/env python3
"""Copy a trained model folder into asrkit/pretrained/NAME in float16 and write its model card.

The card's numbers are read from the recipe's outputs (train_config.json, train.log, the score
JSON files of stage 4), never typed by hand.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from asrkit.models import CTCModel


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--exp", required=True, help="experiment folder with model/ and train_config.json")
    ap.add_argument("--out", required=True)
    ap.add_argument("--scores", nargs="*", default=[], help="NAME=score.json pairs for the card")
    ap.add_argument("--train-hours", type=float, required=True)
    ap.add_argument("--command", default="")
    ap.add_argument("--training-note", default="",
                    help="how the run started, for the card (e.g. its encoder taken from another model)")
    args = ap.parse_args()
    exp, out = Path(args.exp), Path(args.out)
    model = CTCModel.from_pretrained(exp / "model")
    model.save_pretrained(out, dtype=torch.float16)
    n_params = sum(p.numel() for p in model.parameters())
    cfg = json.loads((exp / "train_config.json").read_text())
    enc = cfg["encoder"]
    rows = []
    for spec in args.scores:
        name, path = spec.split("=", 1)
        s = json.loads(Path(path).read_text())
        rows.append(f"| {name} | {s['n_utts']} | {s['value']:.2f} | {s['substitutions']} / {s['deletions']} / "
                    f"{s['insertions']} | {s['ref_len']} |")
    log = (exp / "train.log").read_text().splitlines()
    log_tail = [x for x in log if "end of epoch" in x or "averaged" in x or "initialised from" in x]
    # What the run computed in, as the trainer logged it (bf16 autocast only on CPUs with native bf16).
    precision = next((x.split("precision: ", 1)[1].split(" (")[0] for x in log if "precision: " in x), "float32")
    # Epochs run (a --time-budget run may stop before the config's optim.epochs).
    epochs = sum("end of epoch" in x for x in log) or cfg["optim"]["epochs"]
    fe = model.config.frontend
    if cfg.get("units") == "char":
        units = (f"over {model.config.vocab_size} character units (letters, `'` and a lone `▁` between words, as "
                 "wav2vec2's `|`)")
    else:
        units = f"over {model.config.vocab_size} sentencepiece BPE units"
    size_mb = sum(p.stat().st_size for p in out.iterdir()) / 1e6
    card = f"""# {out.name}

English CTC speech recognizer trained by asrkit's `egs/bible` recipe. A demo model: small, trained on
CPU in about an hour, on synthetic speech (espeak-ng), so it knows espeak-ng voices and Bible-style
English, not real human speech.

- **Architecture**: Paraformer SANM encoder, {enc['num_blocks']} blocks x {enc['output_size']} dims,
  {enc['attention_heads']} heads, FFN {enc['linear_units']}, FSMN kernel {enc['kernel_size']}; CTC head
  {units}; {n_params / 1e6:.2f}M parameters, stored in float16 ({size_mb:.1f} MB folder).
- **Front end**: 80-dim Kaldi fbank (hamming, dither 0), LFR m={fe.lfr_m} n={fe.lfr_n}
  ({round(1000 * fe.frame_shift_s)} ms frames), CMVN `am.mvn` from the training data.
- **Training data**: {args.train_hours:.1f} h of English WEB Bible verses (all books except Mark, Jude,
  Titus, Ruth, Philemon, 3 John) synthesized with espeak-ng over many voices, speeds and pitches, with
  added noise (SNR 15-35 dB) and synthetic reverberation on half the utterances.
- **Training**: {args.training_note}{epochs} epochs, AdamW lr {cfg['optim']['lr']}, warmup
  {cfg['optim']['warmup_steps']} steps then cosine, {precision} on CPU, SpecAugment, average of the
  last {cfg['optim']['average_last']} epochs; seed {cfg['optim']['seed']}.

## Greedy CTC results

| test set | utterances | WER % | sub / del / ins | reference words |
|---|---|---|---|---|
{chr(10).join(rows)}

Text normalisation: `asrkit.text.normalize_text` (lowercase, punctuation removed, see docs/scoring.md).

Produced by:

```bash
{args.command}
```

## Training log (per epoch)

```
{chr(10).join(log_tail)}
```

## Limits

Synthetic speech only; expect very high error rates on real recordings. No LM is used here.
"""
    (out / "README.md").write_text(card, encoding="utf-8")
    print(f"wrote {out} ({size_mb:.1f} MB)")


if __name__ == "__main__":
    main()
