#!/usr/bin/env python3
"""Long-form benchmark: one long recording (local/make_long_audio.py) decoded with `asrkit decode` as a user
would, against decoding its utterances one by one.

    python local/bench_long_form.py --long exp/long_form/test_en --manifest data/manifests/test_en.jsonl \
        --onnx exp/long_form/onnx_model

Each decode is its own process with one thread (``--threads 1``); the table gives its wall time, CPU time
(user + system, what one free core would take), real-time speed (audio seconds per wall second) and peak
resident memory (``ru_maxrss`` of that process, from ``os.wait4``). Rows:

- per-utterance: ``-i MANIFEST`` (each utterance decoded whole, greedy)
- long-form: ``-i long.jsonl`` with no other flag (Silero VAD segments, greedy); ``--vad energy`` as well
- long-form + timestamps: ``--timestamps --format srt`` (word alignment and subtitles on top)
- with ``--onnx DIR``: the per-utterance and long-form rows again with ``--model DIR`` (onnxruntime)

WER: per utterance against each reference; long-form against all references joined (one long hypothesis,
so a word moved across an utterance boundary is no error, as in any long-form scoring). Timestamps: for
each utterance, the segment start nearest to where the utterance begins in the recording, and the first
word of that segment; the mean and median |start error| (segments start ``pad_s`` = 0.2 s before the speech
the VAD found, and each utterance's file starts with some silence of its own, so the signed mean is given too).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from asrkit.metrics import wer


def run_decode(args: list[str]) -> dict:
    """`asrkit decode ARGS --threads 1 -q` in its own process: wall s, CPU s and peak RSS (MB)."""
    cmd = [sys.executable, "-m", "asrkit.cli.main", "decode", *args, "--threads", "1", "-q"]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
    stderr = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    if status != 0:
        raise SystemExit(f"decode failed ({status}): {' '.join(cmd)}\n{stderr}")
    return {"cmd": "asrkit decode " + " ".join(args) + " --threads 1 -q", "wall_s": wall,
            "cpu_s": usage.ru_utime + usage.ru_stime, "peak_rss_mb": usage.ru_maxrss / 1024,
            "log": stderr.strip().splitlines()[-1]}


def rows_of(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def start_errors(hyp: dict, bounds: list[dict]) -> dict:
    starts = np.array([b["start"] for b in bounds])
    seg = hyp["segments"]
    seg_starts = np.array([s["start"] for s in seg])
    nearest = np.abs(starts[:, None] - seg_starts[None, :]).argmin(1)
    signed = seg_starts[nearest] - starts
    out = {"segments": len(seg), "utterances": len(bounds), "seg_start_mean_abs_s": float(np.abs(signed).mean()),
           "seg_start_median_abs_s": float(np.median(np.abs(signed))), "seg_start_mean_signed_s": float(signed.mean())}
    words = hyp.get("words")
    if words:
        word_starts = np.array([w["start"] for w in words])
        firsts = []
        for i, b in zip(nearest, bounds):
            k = int(np.searchsorted(word_starts, seg[i]["start"]))
            if k < len(words) and words[k]["start"] < seg[i]["end"]:
                firsts.append(words[k]["start"] - b["start"])
        firsts = np.array(firsts)
        out.update({"word_start_mean_abs_s": float(np.abs(firsts).mean()),
                    "word_start_median_abs_s": float(np.median(np.abs(firsts))),
                    "word_start_mean_signed_s": float(firsts.mean())})
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--long", required=True, help="folder from make_long_audio.py")
    ap.add_argument("--manifest", required=True, help="the same utterances as a manifest")
    ap.add_argument("--model", default=None)
    ap.add_argument("--onnx", default=None, help="an `asrkit export` folder of the same model")
    ap.add_argument("--out", default=None, help="[LONG/bench]")
    ap.add_argument("--fresh", action="store_true", help="redo every run (default: keep those in OUT/bench.json)")
    args = ap.parse_args()
    long_dir = Path(args.long)
    out = Path(args.out or long_dir / "bench")
    out.mkdir(parents=True, exist_ok=True)
    refs = {r["id"]: r["text"] for r in rows_of(Path(args.manifest))}
    bounds = rows_of(long_dir / "boundaries.jsonl")
    long_ref = rows_of(long_dir / "long.jsonl")[0]
    audio_s = long_ref["duration"]
    utt_audio_s = sum(b["end"] - b["start"] for b in bounds)
    model = ["--model", args.model] if args.model else []
    # Finished runs are kept in bench.json (an interrupted benchmark goes on where it stopped; --fresh redoes all).
    saved = out / "bench.json"
    results = json.loads(saved.read_text()) if saved.exists() and not args.fresh else {}

    def save(name: str, r: dict) -> None:
        r["x_real_time"] = r["audio_s"] / r["wall_s"]
        r["x_real_time_cpu"] = r["audio_s"] / r["cpu_s"]
        results[name] = r
        saved.write_text(json.dumps(results, indent=2) + "\n")

    def per_utt(name: str, extra: list[str]) -> None:
        if name in results:
            return
        hyp = out / f"{name}.jsonl"
        r = run_decode(["-i", args.manifest, "-o", str(hyp), *model, *extra])
        hyps = {h["id"]: h["text"] for h in rows_of(hyp)}
        r.update(audio_s=utt_audio_s, wer=wer([refs[k] for k in refs], [hyps.get(k, "") for k in refs]).value)
        save(name, r)

    def long_form(name: str, extra: list[str]) -> None:
        if name in results:
            return
        hyp = out / f"{name}.jsonl"
        r = run_decode(["-i", str(long_dir / "long.jsonl"), "-o", str(hyp), *model, *extra])
        h = rows_of(hyp)[0]
        r.update(audio_s=audio_s, wer=wer([long_ref["text"]], [h["text"]]).value, **start_errors(h, bounds))
        save(name, r)

    per_utt("per_utterance", [])
    long_form("long_form", [])
    long_form("long_form_energy_vad", ["--vad", "energy"])
    long_form("long_form_timestamps_srt", ["--timestamps", "--format", "srt"])
    if args.onnx:
        model = ["--model", args.onnx]
        per_utt("per_utterance_onnx", [])
        long_form("long_form_onnx", [])
    base = results["per_utterance"]["wer"]
    print(f"audio: {audio_s / 60:.1f} min long recording, {len(bounds)} utterances ({utt_audio_s / 60:.1f} min)")
    print("| run | WER % | x WER per-utt | wall s | CPU s | x real time (wall / CPU) | peak RSS MB | segments "
          "| mean abs seg start err s |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name, r in results.items():
        seg = f"{r['segments']} | {r['seg_start_mean_abs_s']:.3f}" if "segments" in r else "- | -"
        print(f"| {name} | {r['wer']:.2f} | {r['wer'] / base:.3f} | {r['wall_s']:.1f} | {r['cpu_s']:.1f} | "
              f"{r['x_real_time']:.0f} / {r['x_real_time_cpu']:.0f} | {r['peak_rss_mb']:.0f} | {seg} |")


if __name__ == "__main__":
    main()
