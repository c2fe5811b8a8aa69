"""Join a test set's utterances into one long recording with pauses, for the long-form benchmark.

    python egs/bible/local/make_long_audio.py data/manifests/test_en.jsonl exp/long_form/test_en

writes ``OUT/long.wav`` (16 kHz, 16-bit), ``OUT/long.jsonl`` (a one-line manifest: the joined reference
text) and ``OUT/boundaries.jsonl`` (each utterance's id, start, end and text in the recording). Pauses are
drawn uniformly from [--min-pause, --max-pause] seconds (seeded) and filled with white noise at the level
of the preceding utterance's quietest frames, so the background does not drop to digital silence between
utterances (the recipe's utterances carry their own noise). The file is written utterance by utterance.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import soundfile as sf

from asrkit.frontend import SAMPLE_RATE, load_audio


def noise_floor(wave: np.ndarray, frame: int = 400) -> float:
    """RMS of the quietest 10% of 25 ms frames."""
    n = len(wave) // frame
    if n == 0:
        return 1e-4
    rms = np.sqrt(np.mean(wave[: n * frame].reshape(n, frame) ** 2, axis=1))
    return float(np.percentile(rms, 10))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("manifest")
    ap.add_argument("out")
    ap.add_argument("--min-pause", type=float, default=0.4)
    ap.add_argument("--max-pause", type=float, default=1.6)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    manifest = Path(args.manifest)
    rows = [json.loads(line) for line in manifest.read_text(encoding="utf-8").splitlines() if line.strip()]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(args.seed)
    t = 0
    bounds = []
    floor = 1e-4
    with sf.SoundFile(out / "long.wav", "w", samplerate=SAMPLE_RATE, channels=1, subtype="PCM_16") as f:
        for row in rows:
            pause = int(rng.uniform(args.min_pause, args.max_pause) * SAMPLE_RATE)
            f.write((rng.standard_normal(pause) * floor).astype(np.float32))
            t += pause
            wave = load_audio(manifest.parent / row["audio"])
            f.write(np.clip(wave, -1, 1))
            bounds.append({"id": row["id"], "start": t / SAMPLE_RATE, "end": (t + len(wave)) / SAMPLE_RATE,
                           "text": row["text"]})
            t += len(wave)
            floor = noise_floor(wave)
        tail = int(args.max_pause * SAMPLE_RATE)
        f.write((rng.standard_normal(tail) * floor).astype(np.float32))
        t += tail
    with (out / "boundaries.jsonl").open("w", encoding="utf-8") as f:
        for b in bounds:
            f.write(json.dumps(b, ensure_ascii=False) + "\n")
    text = " ".join(r["text"] for r in rows)
    line = {"id": "long", "audio": "long.wav", "duration": t / SAMPLE_RATE, "text": text}
    (out / "long.jsonl").write_text(json.dumps(line, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"{out / 'long.wav'}: {len(rows)} utterances, {t / SAMPLE_RATE / 60:.1f} min")


if __name__ == "__main__":
    main()
