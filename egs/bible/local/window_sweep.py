#!/usr/bin/env python3
"""Greedy WER of a full-context model streamed in window mode, for several (chunk, left, right) windows.

    python local/window_sweep.py --manifest data/manifests/dev_en.jsonl --windows 8,32,0 8,32,4 8,32,8 8,64,8

Each utterance is encoded exactly as the stream encodes it (asrkit.encoder.sanm_streaming.WindowedSANMEncoder,
all windows in one pass: StreamingRecognizer.offline_emissions); greedy CTC. Also prints the offline WER.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

from asrkit.frontend import load_audio
from asrkit.inference import Recognizer
from asrkit.inference.streaming import StreamingRecognizer
from asrkit.metrics.wer import error_rate
from asrkit.text import normalize_text


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="bible-en-ctc-small")
    p.add_argument("--manifest", type=Path, required=True)
    p.add_argument("--limit", type=int, default=None)
    p.add_argument("--windows", nargs="+", default=["8,32,0", "8,32,4", "8,32,8", "8,64,8", "4,32,4", "4,32,6"])
    args = p.parse_args()
    torch.set_num_threads(1)
    rows = [json.loads(line) for line in args.manifest.read_text().splitlines() if line.strip()][: args.limit]
    waves = [load_audio(args.manifest.parent / r["audio"]) for r in rows]
    refs = [normalize_text(r["text"]) for r in rows]
    off = Recognizer(args.model)
    print(json.dumps({"window": "offline", "wer": round(error_rate(refs, off.decode_waves(waves), "wer").value, 2)}))
    for spec in args.windows:
        chunk, left, right = (int(x) for x in spec.split(","))
        rec = StreamingRecognizer(args.model, method="greedy", mode="window", chunk_size=chunk, left_frames=left,
                                  right_frames=right)
        hyps = []
        for w in waves:
            ids = rec.offline_emissions(w).argmax(-1).tolist()
            hyps.append(rec.head.text([u for i, u in enumerate(ids) if u and (i == 0 or u != ids[i - 1])]))
        print(json.dumps({"window": spec, "algorithmic_ms": round(1000 * rec.algorithmic_latency_s()),
                          "compute_x_offline": round((left + chunk + right) / chunk, 2),
                          "wer": round(error_rate(refs, hyps, "wer").value, 2)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
