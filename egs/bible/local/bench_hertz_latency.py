#!/usr/bin/env python3
"""Streaming latency and compute per 125 ms chunk of a hertz-front-end CTC model, ONE CPU thread.

- algorithmic latency = one latent frame (2000 samples = 125 ms, the chunk) + the small encoder's
  lookahead (SANMConfig.lookahead_frames() encoder frames of 62.5 ms; unbounded for full attention);
- codec, streamed: StreamingHertzEncoder.push of one 2000-sample chunk (true incremental state);
- codec, offline: the whole utterance in one call, per chunk, for comparison;
- small encoder + CTC head: one offline call over the utterance's latents, per chunk (amortised; an
  incremental SANM with caches is not implemented, see docs/hertz.md).

    python local/bench_hertz_latency.py --model exp/hertz/ctc_small/model --manifest data/manifests/test_en.jsonl
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from asrkit.encoder.hertz import StreamingHertzEncoder
from asrkit.frontend import load_audio
from asrkit.models import CTCModel


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", required=True, help="hertz-front-end CTC model folder")
    ap.add_argument("--manifest", required=True)
    ap.add_argument("--max-utts", type=int, default=20)
    args = ap.parse_args()
    torch.set_num_threads(1)
    model = CTCModel.from_pretrained(args.model)
    if model.codec is None:
        raise SystemExit(f"{args.model}: not a hertz-front-end model")
    hop, sr = model.codec.hop, model.codec.config.sample_rate
    man = Path(args.manifest)
    utts = [json.loads(x) for x in man.read_text().splitlines() if x.strip()][: args.max_utts]
    waves = [torch.from_numpy(load_audio(man.parent / u["audio"])) for u in utts]

    stream = StreamingHertzEncoder(model.codec)
    per_chunk, state = [], 0
    t_offline = t_small = 0.0
    n_chunks = 0
    with torch.inference_mode():
        stream.push(waves[0][: 4 * hop])  # warm-up
        for w in waves:
            stream.reset()
            for start in range(0, len(w) - hop + 1, hop):
                t = time.perf_counter()
                stream.push(w[start : start + hop])
                per_chunk.append(time.perf_counter() - t)
            state = max(state, stream.state_size())
            frames = model.frontend(w.numpy())[None]
            t = time.perf_counter()
            mu = model.codec(frames.reshape(1, -1))[0]
            t_offline += time.perf_counter() - t
            lengths = torch.tensor([mu.size(1)])
            t = time.perf_counter()
            model(mu, lengths, inputs="latents")
            t_small += time.perf_counter() - t
            n_chunks += mu.size(1)
    ms = np.array(per_chunk) * 1000
    chunk_ms = 1000 * hop / sr
    enc = model.config.encoder
    look = enc.lookahead_frames()
    frame_ms = 1000 * model.config.frontend.frame_shift_s
    lat = "unbounded (full attention)" if look is None else f"{chunk_ms + look * frame_ms:.1f} ms"
    n_codec = sum(p.numel() for p in model.codec.parameters())
    n_all = sum(p.numel() for p in model.parameters())
    print(f"{len(waves)} utterances, {n_chunks} chunks of {hop} samples ({chunk_ms:.0f} ms), 1 CPU thread\n")
    print("| quantity | value |\n|---|---|")
    print(f"| parameters: codec (frozen) / small encoder + CTC / total | {n_codec:,} / {n_all - n_codec:,} / "
          f"{n_all:,} |")
    print(f"| algorithmic latency: chunk + lookahead ({look} x {frame_ms:.1f} ms) | {lat} |")
    print(f"| codec streamed, ms per chunk: mean / p50 / p95 | {ms.mean():.1f} / {np.median(ms):.1f} / "
          f"{np.percentile(ms, 95):.1f} |")
    print(f"| codec streaming state per stream (numbers) | {state:,} |")
    print(f"| codec offline, ms per chunk | {1000 * t_offline / n_chunks:.1f} |")
    print(f"| small encoder + CTC (offline, amortised), ms per chunk | {1000 * t_small / n_chunks:.2f} |")
    print(f"| real-time factor of streamed codec + small encoder | "
          f"{(ms.mean() + 1000 * t_small / n_chunks) / chunk_ms:.3f} |")


if __name__ == "__main__":
    main()
