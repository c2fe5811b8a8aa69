"""Stage 2: synthesize one utterance set with espeak-ng + sox, degrade it lightly, write wavs + manifest.

Usage: synth.py --data data --set train_en [--nj 2]
Reads data/sets/<set>.tsv (utt_id, lang, text, translation); writes data/wav/<set>/<utt_id>.wav and
data/manifests/<set>.jsonl. Every random choice is drawn from a generator seeded by a hash of the
utterance id, so re-running gives identical files, and existing wavs are not synthesized again.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from multiprocessing import Pool
from pathlib import Path

import numpy as np
import soundfile as sf
from scipy.signal import fftconvolve, resample_poly
from tqdm import tqdm

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import read_tsv, stable_hash  # noqa: E402

SR = 16000
VOICES = {
    # espeak-ng's own voices only: the mbrola ones are listed by --voices but mbrola is not installed.
    "en": ["en-us", "en-gb", "en-gb-x-rp", "en-029", "en-gb-scotland", "en-gb-x-gbclan", "en-gb-x-gbcwmd",
           "en-us-nyc"],
    "es": ["es", "es-419"],
    "zh": ["cmn-latn-pinyin"],  # plain "cmn" reads Han characters as English-spoken pinyin
}
# Variants (espeak-ng-data/voices/!v) that change timbre without making speech unintelligible.
VARIANTS = ["", "+m1", "+m2", "+m3", "+m4", "+m5", "+m6", "+m7", "+f1", "+f2", "+f3", "+f4",
            "+klatt", "+klatt2", "+klatt3"]
NOISE_COLORS = {"white": 0.0, "pink": 1.0, "brown": 2.0}


@dataclass
class SynthParams:
    voice: str
    speed: int  # words per minute
    pitch: int  # espeak 0-99
    snr_db: float
    reverb: float  # RT60 in seconds, 0.0 = no reverberation
    noise: str


def utt_rng(utt_id: str) -> np.random.Generator:
    return np.random.default_rng(stable_hash(utt_id))


def draw_params(utt_id: str, lang: str) -> SynthParams:
    """All random settings of one utterance; the same id always gives the same settings."""
    rng = utt_rng(utt_id)
    voice = VOICES[lang][rng.integers(len(VOICES[lang]))] + VARIANTS[rng.integers(len(VARIANTS))]
    speed = int(rng.integers(130, 191))
    pitch = int(rng.integers(30, 71))
    reverb = round(float(rng.uniform(0.15, 0.5)), 3) if rng.random() < 0.5 else 0.0
    snr_db = round(float(rng.uniform(15.0, 35.0)), 2)
    noise = list(NOISE_COLORS)[rng.integers(len(NOISE_COLORS))]
    return SynthParams(voice, speed, pitch, snr_db, reverb, noise)


def espeak(text: str, voice: str, speed: int, pitch: int) -> np.ndarray:
    """espeak-ng (22.05 kHz) resampled to 16 kHz mono 16-bit by sox, or by scipy's polyphase filter where
    sox is absent (a GPU machine carrying only espeak-ng); returns float32 in [-1, 1]."""
    wav = subprocess.run(["espeak-ng", "-b", "1", "-v", voice, "-s", str(speed), "-p", str(pitch), "--stdout"],
                         input=text.encode("utf-8"), capture_output=True, check=True).stdout
    if shutil.which("sox") is None:
        return _resample_without_sox(wav)
    # Raw little-endian PCM out of sox: a piped wav header would carry a bogus length anyway.
    # -D: no dither, whose random LSBs would make the output differ from run to run.
    out = subprocess.run(["sox", "-V1", "-D", "-t", "wav", "-", "-r", str(SR), "-c", "1", "-b", "16", "-e", "signed",
                          "-L", "-t", "raw", "-"], input=wav, capture_output=True, check=True).stdout
    pcm = np.frombuffer(out[: len(out) // 2 * 2], dtype="<i2")
    return pcm.astype(np.float32) / 32768.0


def _resample_without_sox(wav: bytes) -> np.ndarray:
    """espeak-ng's piped wav (a 44-byte header with a bogus length, 16-bit mono) to 16 kHz by polyphase
    filtering; within about -35 dB of sox's output, rounded to 16 bits like it."""
    rate = int.from_bytes(wav[24:28], "little")
    pcm = np.frombuffer(wav[44: 44 + (len(wav) - 44) // 2 * 2], dtype="<i2").astype(np.float64)
    g = math.gcd(SR, rate)
    y = resample_poly(pcm, SR // g, rate // g)
    return (np.clip(np.round(y), -32768, 32767) / 32768.0).astype(np.float32)


def synthetic_rir(rt60: float, rng: np.random.Generator, sr: int = SR) -> np.ndarray:
    """Exponentially decaying noise tail after a direct-path impulse: amplitude falls 60 dB in rt60 s."""
    n = int(rt60 * sr)
    t = np.arange(n) / sr
    h = rng.standard_normal(n) * np.exp(-3.0 * np.log(10.0) * t / rt60)
    h[:int(0.002 * sr)] = 0.0  # a short gap before the first reflections
    h *= 0.5 / np.sqrt(np.sum(h ** 2) + 1e-12)  # diffuse tail a bit weaker than the direct sound
    h[0] = 1.0
    return h.astype(np.float32)


def colored_noise(n: int, color: str, rng: np.random.Generator) -> np.ndarray:
    """Unit-RMS noise whose power spectrum falls as 1/f^alpha (white 0, pink 1, brown 2)."""
    alpha = NOISE_COLORS[color]
    spec = np.fft.rfft(rng.standard_normal(n))
    f = np.arange(len(spec), dtype=np.float64)
    f[0] = 1.0
    spec *= f ** (-alpha / 2.0)
    spec[0] = 0.0  # no DC offset
    x = np.fft.irfft(spec, n)
    return (x / (np.sqrt(np.mean(x ** 2)) + 1e-12)).astype(np.float32)


def degrade(x: np.ndarray, params: SynthParams, rng: np.random.Generator, peak: float = 0.9,
            return_parts: bool = False) -> np.ndarray | tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Optional reverberation, then noise at params.snr_db, then peak normalisation.

    The SNR is the ratio of the (reverberant) speech power to the noise power over the whole file;
    the final gain scales both, so it does not change the SNR. With return_parts the scaled speech and
    noise components are returned as well (for tests).
    """
    x = x.astype(np.float32)
    if params.reverb > 0:
        x = fftconvolve(x, synthetic_rir(params.reverb, rng))[: len(x)].astype(np.float32)
    p_sig = float(np.mean(x.astype(np.float64) ** 2)) + 1e-12
    noise = colored_noise(len(x), params.noise, rng) * np.float32(np.sqrt(p_sig / 10 ** (params.snr_db / 10)))
    y = x + noise
    gain = np.float32(peak / (np.max(np.abs(y)) + 1e-9))
    if return_parts:
        return y * gain, x * gain, noise * gain
    return y * gain


def _work(item: tuple[str, str, str, str]) -> tuple[str, float, dict]:
    utt, lang, text, out_path = item
    params = draw_params(utt, lang)
    path = Path(out_path)
    if path.exists():
        return utt, sf.info(str(path)).frames / SR, asdict(params)
    x = espeak(text, params.voice, params.speed, params.pitch)
    # The degradation draws from its own generator so that changing it never changes the voice choice.
    y = degrade(x, params, np.random.default_rng(stable_hash("degrade:" + utt)))
    tmp = path.with_name(path.stem + ".tmp.wav")
    sf.write(str(tmp), y, SR, subtype="PCM_16")
    os.replace(tmp, path)
    return utt, len(y) / SR, asdict(params)


def synth_set(data: Path, name: str, nj: int) -> None:
    rows = list(read_tsv(data / "sets" / f"{name}.tsv"))
    wav_dir = data / "wav" / name
    wav_dir.mkdir(parents=True, exist_ok=True)
    items = [(r[0], r[1], r[2], str(wav_dir / f"{r[0]}.wav")) for r in rows]
    todo = sum(1 for it in items if not Path(it[3]).exists())
    t0 = time.time()
    results = []
    with Pool(nj) as pool:
        for res in tqdm(pool.imap(_work, items, chunksize=4), total=len(items), desc=name, mininterval=5,
                        file=sys.stdout):
            results.append(res)
    man = data / "manifests" / f"{name}.jsonl"
    man.parent.mkdir(parents=True, exist_ok=True)
    tmp = man.with_suffix(".tmp")
    total = 0.0
    with open(tmp, "w", encoding="utf-8") as f:
        for (utt, lang, text, translation), (utt2, dur, params) in zip(rows, results, strict=True):
            assert utt == utt2
            total += dur
            obj = {"id": utt, "audio": f"../wav/{name}/{utt}.wav", "duration": round(dur, 3), "text": text,
                   "lang": lang}
            if lang == "es":
                obj["translation"] = translation
            obj.update(params)
            f.write(json.dumps(obj, ensure_ascii=False) + "\n")
    tmp.replace(man)
    wall = time.time() - t0
    print(f"{name}: {len(rows)} utts ({todo} synthesized), {total / 3600:.2f} h, {wall:.1f} s wall -> {man}",
          flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=Path("data"))
    ap.add_argument("--set", dest="sets", action="append", required=True, help="set name (repeatable)")
    ap.add_argument("--nj", type=int, default=2)
    args = ap.parse_args()
    for name in args.sets:
        synth_set(args.data, name, args.nj)


if __name__ == "__main__":
    main()
