#!/usr/bin/env python3
"""Copy the Mandarin CTC model into asrkit/pretrained/NAME in float16 and write its model card.

Every number on the card is read from the recipe's outputs (train_config.json, train.log, the manifests and
the score JSON files of run_zh.sh), never typed by hand. The training time is the wall time of the
training sessions in train.log (a resumed run has several; the gaps between them are not counted).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from asrkit.models import CTCModel


def training_seconds(log: Path) -> float:
    """Wall time of the sessions in a train.log: each session starts with the trainer's "model ..." line."""
    sessions: list[list[float]] = []
    for line in log.read_text(encoding="utf-8").splitlines():
        try:
            t = time.mktime(time.strptime(line[:19], "%Y-%m-%d %H:%M:%S"))
        except ValueError:
            continue
        if line[20:].startswith("model ") or not sessions:
            sessions.append([t, t])
        sessions[-1][1] = t
    return sum(end - start for start, end in sessions)


def hours(manifest: Path) -> tuple[int, float]:
    utts = [json.loads(x) for x in manifest.read_text(encoding="utf-8").splitlines() if x.strip()]
    return len(utts), sum(u["duration"] for u in utts) / 3600


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--exp", required=True, help="experiment folder with model/, train_config.json, train.log")
    ap.add_argument("--out", required=True)
    ap.add_argument("--train-manifest", required=True)
    ap.add_argument("--init-encoder", required=True, help="the model the encoder was transferred from")
    ap.add_argument("--scores", nargs="*", default=[], help="'TEST SET|DECODING=score.json' rows for the card")
    ap.add_argument("--hardware", required=True, help="what the training ran on")
    ap.add_argument("--command", default="")
    args = ap.parse_args()
    exp, out = Path(args.exp), Path(args.out)
    model = CTCModel.from_pretrained(exp / "model")
    model.save_pretrained(out, dtype=torch.float16)
    n_params = sum(p.numel() for p in model.parameters())
    cfg = json.loads((exp / "train_config.json").read_text())
    enc, optim = cfg["encoder"], cfg["optim"]
    n_train, train_h = hours(Path(args.train_manifest))
    rows = []
    for spec in args.scores:
        name, path = spec.rsplit("=", 1)
        test, decoding = name.split("|")
        s = json.loads(Path(path).read_text())
        rows.append(f"| {test} | {decoding} | {s['n_utts']} | {s['value']:.2f} | {s['substitutions']} / "
                    f"{s['deletions']} / {s['insertions']} | {s['ref_len']} |")
    log = exp / "train.log"
    log_tail = [x for x in log.read_text().splitlines() if "end of epoch" in x or "averaged" in x]
    minutes = training_seconds(log) / 60
    epochs = sum("end of epoch" in x for x in log_tail)  # a --time-budget run fits fewer than optim.epochs
    size_mb = sum(p.stat().st_size for p in out.iterdir()) / 1e6
    card = f"""# {out.name}

Mandarin CTC speech recognizer trained by asrkit's `egs/bible/run_zh.sh` recipe. A demo model: small,
trained briefly, on synthetic speech (espeak-ng's `cmn-latn-pinyin` voice reading fortunes-zh sentences), so it
knows espeak-ng's Mandarin and the fortunes-zh text style (proverbs, classical poetry, software documentation),
not real human speech.

- **Architecture**: Paraformer SANM encoder, {enc['num_blocks']} blocks x {enc['output_size']} dims,
  {enc['attention_heads']} heads, FFN {enc['linear_units']}, FSMN kernel {enc['kernel_size']}; CTC head over
  {model.config.vocab_size} units: blank, `<unk>` and one unit per Han character of the training text
  (sentencepiece `char` model); {n_params / 1e6:.2f}M parameters, stored in float16 ({size_mb:.1f} MB folder).
- **Front end**: 80-dim Kaldi fbank (hamming, dither 0), LFR m=7 n=6 (60 ms frames), CMVN `am.mvn` of the
  English model the encoder comes from.
- **Training data**: {n_train} fortunes-zh sentences ({train_h:.1f} h) synthesized with espeak-ng over voice
  variants, speeds and pitches, with added noise (SNR 15-35 dB) and synthetic reverberation on half the
  utterances. test_zh and dev_zh sentences are in neither the training text nor the LM text.
- **Training**: the encoder starts from `{args.init_encoder}` (English, `asrkit train --init-encoder`), the CTC
  output layer is new; {epochs} epochs of {optim['max_frames']}-frame batches, AdamW lr {optim['lr']},
  warmup {optim['warmup_steps']} steps then cosine, bf16 autocast, SpecAugment, average of the last
  {optim['average_last']} epochs; seed {optim['seed']}. **{minutes:.0f} minutes of training on {args.hardware}.**

## Results (CER %)

Greedy rows are this model alone; the LM rows add the recipe's character 5-gram (fortunes-zh text outside
test_zh and dev_zh), with weights tuned on dev_zh (`egs/bible/RESULTS.md` has the commands).

| test set | decoding | utterances | CER % | sub / del / ins | reference characters |
|---|---|---|---|---|---|
{chr(10).join(rows)}

Text normalisation: `asrkit.text.normalize_text` (Chinese: punctuation and the spaces between Han characters
removed; see docs/scoring.md). `asrkit demo --model {out.name}` decodes the bundled Mandarin samples.

Produced by:

```bash
{args.command}
```

## Training log (per epoch)

```
{chr(10).join(log_tail)}
```

## Limits

Synthetic speech of one TTS voice family only; expect very high error rates on real recordings. espeak-ng reads
every character with one fixed pronunciation, so characters that share a syllable and tone (是/事/市) sound the
same: the model can only tell them apart from context, which is where the LM helps. Characters not in the
training text cannot be output.
"""
    (out / "README.md").write_text(card, encoding="utf-8")
    print(f"wrote {out} ({size_mb:.1f} MB)")


if __name__ == "__main__":
    main()
