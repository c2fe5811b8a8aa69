#!/usr/bin/env python3
"""Streaming benchmark: test utterances streamed at real-time pace over the WebSocket of `asrkit serve`.

    python local/bench_streaming.py --model bible-en-ctc-stream --manifest data/manifests/test_en.jsonl \
        --limit 100 --concurrency 8 [--method shallow_fusion --lm exp/lm/source_token4.arpa --lm-weight 1.2 ...] \
        --out exp/streaming/bench_sf.json

A server (asrkit.server.app.ServerThread, one decoding thread = one CPU core) gets ``--concurrency``
clients at once; client k streams utterances k, k+C, ... one after another, each in 100 ms int16 messages
sent on a real-time clock, then ``{"type": "end"}``. Measured per utterance: first-partial latency (first
audio message sent -> first partial received), end -> final latency, the final text, and the server's
compute time (front end + encoder + search) per second of audio. The same model and decoding config is
also run offline (whole utterances, `Recognizer`), for the streamed/offline WER ratio; ``--offline-model``
adds another model's offline WER (e.g. the full-context demo model). Prints one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

from asrkit.frontend import load_audio
from asrkit.inference import Recognizer
from asrkit.inference.streaming import StreamingRecognizer
from asrkit.metrics.wer import error_rate
from asrkit.server.app import ServerThread
from asrkit.text import normalize_text

PIECE_S = 0.1


def read_manifest(path: Path, limit: int) -> list[dict]:
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()][:limit]
    for r in rows:
        r["audio_path"] = str((path.parent / r["audio"]).resolve())
    return rows


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))]


async def client(port: int, waves: list[np.ndarray], out: list[dict]) -> None:
    from websockets.asyncio.client import connect

    async with connect(f"ws://127.0.0.1:{port}/asr", max_size=None) as ws:
        for wave in waves:
            pcm = (np.clip(wave, -1, 1) * 32767).astype("<i2")
            step = int(PIECE_S * 16000)
            first_partial: list[float] = []
            final: dict = {}

            async def reader(first_partial=first_partial, final=final):
                while True:
                    msg = json.loads(await ws.recv())
                    if msg["type"] == "partial" and not first_partial:
                        first_partial.append(time.perf_counter())
                    elif msg["type"] == "final":
                        final.update(msg, t=time.perf_counter())
                        return

            task = asyncio.create_task(reader())
            t0 = time.perf_counter()
            for k, i in enumerate(range(0, len(pcm), step)):
                delay = t0 + k * PIECE_S - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                await ws.send(pcm[i:i + step].tobytes())
            # The last message carries audio up to len/16000 s; "end" goes when that audio would have ended.
            delay = t0 + len(pcm) / 16000 - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            t_end = time.perf_counter()
            await ws.send(json.dumps({"type": "end"}))
            await asyncio.wait_for(task, 120)
            out.append({"text": final["text"], "end_to_final_ms": 1000 * (final["t"] - t_end),
                        "first_partial_ms": 1000 * (first_partial[0] - t0) if first_partial else None,
                        "audio_s": final["audio_s"], "compute_s": final["compute_s"]})


async def stream_all(port: int, waves: list[np.ndarray], concurrency: int) -> list[dict]:
    results: list[list[dict]] = [[] for _ in range(concurrency)]
    await asyncio.gather(*(client(port, waves[k::concurrency], results[k]) for k in range(concurrency)))
    # Back to input order (client k got utterances k, k+C, ...).
    ordered: list[dict] = [{}] * len(waves)
    for k in range(concurrency):
        for j, r in enumerate(results[k]):
            ordered[k + j * concurrency] = r
    return ordered


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True)
    p.add_argument("--manifest", type=Path, required=True)
    p.add_argument("--limit", type=int, default=100)
    p.add_argument("--concurrency", type=int, default=1)
    p.add_argument("--chunk-frames", type=int, default=None, help="encoder chunk in 60 ms frames [model's / 8]")
    p.add_argument("--mode", default=None, choices=("chunked", "window"),
                   help="streaming mode [chunked for a chunk-trained model, else window]")
    p.add_argument("--offline-model", default=None, help="also this model's offline WER (same decoding config)")
    p.add_argument("--skip-offline", action="store_true")
    p.add_argument("--out", type=Path, default=None)
    p.add_argument("--method", default="greedy")
    p.add_argument("--lm", default=None)
    p.add_argument("--lm-weight", type=float, default=None)
    p.add_argument("--insertion-bonus", type=float, default=None)
    p.add_argument("--word-bonus", type=float, default=None)
    p.add_argument("--beam", type=int, default=None)
    args = p.parse_args()
    torch.set_num_threads(1)
    settings = {k: v for k, v in dict(method=args.method, lm=args.lm, lm_weight=args.lm_weight, beam=args.beam,
                                      insertion_bonus=args.insertion_bonus, word_bonus=args.word_bonus).items()
                if v is not None}
    rows = read_manifest(args.manifest, args.limit)
    refs = [normalize_text(r["text"]) for r in rows]
    waves = [load_audio(r["audio_path"]) for r in rows]
    audio_s = sum(len(w) for w in waves) / 16000
    res: dict = {"model": args.model, "settings": settings, "utts": len(rows), "audio_min": round(audio_s / 60, 2),
                 "concurrency": args.concurrency, "manifest": str(args.manifest)}

    rec = StreamingRecognizer(args.model, chunk_size=args.chunk_frames, mode=args.mode, **settings)
    res["mode"] = rec.mode
    res["chunk_ms"] = round(1000 * rec.chunk_s)
    res["lookahead_ms"] = round(1000 * rec.lookahead_frames * rec.frame_s)
    res["algorithmic_latency_ms"] = round(1000 * rec.algorithmic_latency_s())
    if not args.skip_offline:
        for name, model in (("offline", args.model), ("offline_other", args.offline_model)):
            if model is None:
                continue
            off = Recognizer(model, **settings)
            t0 = time.perf_counter()
            hyps = [off.decode_waves([w])[0] for w in waves]
            res[f"{name}_wer"] = round(error_rate(refs, hyps, "wer").value, 2)
            res[f"{name}_rtf"] = round((time.perf_counter() - t0) / audio_s, 4)
            if name == "offline_other":
                res["offline_other_model"] = model

    with ServerThread(rec) as srv:
        t0 = time.perf_counter()
        out = asyncio.run(stream_all(srv.port, waves, args.concurrency))
        wall = time.perf_counter() - t0
    hyps = [o["text"] for o in out]
    res["stream_wer"] = round(error_rate(refs, hyps, "wer").value, 2)
    if "offline_wer" in res:
        res["stream_vs_offline"] = round(res["stream_wer"] / max(res["offline_wer"], 1e-9), 3)
    e2f = [o["end_to_final_ms"] for o in out]
    fp = [o["first_partial_ms"] for o in out if o["first_partial_ms"] is not None]
    res.update(end_to_final_ms_median=round(statistics.median(e2f), 1), end_to_final_ms_p95=round(pct(e2f, 0.95), 1),
               first_partial_ms_median=round(statistics.median(fp), 1) if fp else None,
               first_partial_ms_p95=round(pct(fp, 0.95), 1) if fp else None,
               compute_rtf=round(sum(o["compute_s"] for o in out) / sum(o["audio_s"] for o in out), 4),
               wall_s=round(wall, 1))
    res["streams_per_core_from_rtf"] = round(1 / max(res["compute_rtf"], 1e-9), 1)
    print(json.dumps(res))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps({**res, "hyps": hyps}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
