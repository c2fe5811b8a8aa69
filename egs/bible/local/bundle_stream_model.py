#!/usr/bin/env python3
"""Bundle the chunk-wise streaming CTC model into asrkit/pretrained/NAME (float16) with its model card.

The card's numbers come from the benchmark JSON files of local/bench_streaming.py and the training log,
never typed by hand; the algorithmic latency is computed from the model's config.

    python local/bundle_stream_model.py --model exp/ctc_stream_gpu/model --exp exp/ctc_stream_gpu \
        --out ../../asrkit/pretrained/bible-en-ctc-stream --bench exp/streaming/stream_greedy.json ...

"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from asrkit.inference.streaming import StreamingRecognizer
from asrkit.models import CTCModel

HEADER = ("| method | utts | WER % bible-en-ctc-small offline | WER % this model offline | WER % streamed | "
          "end -> final ms (median / p95) | first partial ms (median) | compute RTF |\n"
          "|---|---|---|---|---|---|---|---|")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", required=True, help="trained model folder")
    ap.add_argument("--exp", required=True, help="its training folder (train_config.json, train.log)")
    ap.add_argument("--out", required=True)
    ap.add_argument("--bench", nargs="*", default=[], help="bench_streaming.py JSON outputs for the card")
    ap.add_argument("--command", default="")
    args = ap.parse_args()
    exp, out = Path(args.exp), Path(args.out)
    model = CTCModel.from_pretrained(args.model)
    if model.config.encoder.chunk_size is None:
        raise SystemExit(f"{args.model}: not a chunk-wise model (encoder.chunk_size is unset)")
    model.save_pretrained(out, dtype=torch.float16)
    rec = StreamingRecognizer(out)
    enc = model.config.encoder
    cfg = json.loads((exp / "train_config.json").read_text())
    n_params = sum(p.numel() for p in model.parameters())
    size_mb = sum(p.stat().st_size for p in out.iterdir()) / 1e6
    rows = []
    for path in args.bench:
        b = json.loads(Path(path).read_text())
        s = b["settings"]
        name = s["method"] + (f" ({Path(s['lm']).name}, λ={s.get('lm_weight')})" if s.get("lm") else "")
        rows.append(f"| {name} | {b['utts']} | {b.get('offline_other_wer', '')} | {b.get('offline_wer', '')} | "
                    f"{b['stream_wer']} | {b['end_to_final_ms_median']} / {b['end_to_final_ms_p95']} | "
                    f"{b['first_partial_ms_median']} | {b['compute_rtf']} |")
    log = (exp / "train.log").read_text().splitlines()
    log_lines = [x for x in log if "end of epoch" in x or "averaged" in x][-4:]
    epochs = sum("end of epoch" in x for x in log)
    card = f"""# {out.name}

Streaming English CTC recognizer: the demo model `bible-en-ctc-small` fine-tuned with chunk-wise attention
so it decodes audio as it arrives (`asrkit serve`, `asrkit decode --streaming`, docs/streaming.md). Same
architecture and units; synthetic espeak-ng speech of Bible text only (see bible-en-ctc-small's card).

- **Chunk-wise SANM**: {enc.num_blocks} blocks x {enc.output_size} dims; chunks of {enc.chunk_size} frames of
  60 ms ({1000 * rec.chunk_s:.0f} ms); a frame attends to its chunk and {enc.left_chunks} chunks before it
  ({enc.left_chunks * rec.chunk_s:.2f} s); the FSMN memory reads nothing past the chunk's end. {n_params / 1e6:.2f}M
  parameters, float16 ({size_mb:.1f} MB folder).
- **Algorithmic latency: {1000 * rec.algorithmic_latency_s():.0f} ms** = the chunk ({1000 * rec.chunk_s:.0f} ms:
  a frame at the start of a chunk waits for its end) + the front end's lookahead past the chunk's last hop
  (3 fbank frames + the 25 ms window - 10 ms = 45 ms). Compute comes on top (table). The final result after
  the end of input needs compute only: the short last chunk is encoded at once.
- **Training**: initialised from bible-en-ctc-small, fine-tuned on train_en with the chunk masks, AdamW lr
  {cfg['optim']['lr']}, {cfg['optim']['max_frames']} LFR frames per batch, {epochs} epochs (the last
  {cfg['optim']['average_last']} averaged), fitted by `--time-budget` to about 5 minutes on one NVIDIA H200
  lent for one session (local/gpu_train_all.sh; the GPU shared with two other trainings); `--epochs {epochs}`
  gives the same schedule anywhere.
- Offline decoding (`asrkit decode -m bible-en-ctc-stream`) applies the same chunk masks, so it gives
  exactly the streamed text.

## Results (Mark + Jude test utterances streamed at real-time pace over the WebSocket)

{HEADER}
{chr(10).join(rows)}

Produced by:

```bash
{args.command}
```

Training log (last lines):

```
{chr(10).join(log_lines)}
```

## Limits

Synthetic speech only. WER is higher than the full-context demo model's (table): each frame sees at most
its own chunk, no lookahead (the demo model streamed in window mode, docs/streaming.md, waits 765 ms for
its lookahead instead). Minutes of GPU training, not a full recipe.
"""
    (out / "README.md").write_text(card, encoding="utf-8")
    print(f"wrote {out} ({size_mb:.1f} MB)")


if __name__ == "__main__":
    main()
