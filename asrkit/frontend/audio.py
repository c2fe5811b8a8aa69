"""Audio loading: any soundfile-readable file (wav, flac, ogg) -> 16 kHz mono float32 in [-1, 1]."""

from __future__ import annotations

from math import gcd
from pathlib import Path

import numpy as np
import soundfile as sf
from scipy.signal import resample_poly

from asrkit.errors import UserError
from asrkit.frontend.wav_header import declared_wav_frames

SAMPLE_RATE = 16000


def resample(wave: np.ndarray, orig_sr: int, target_sr: int = SAMPLE_RATE) -> np.ndarray:
    """Band-limited polyphase resampling (exact rational ratio, so 44.1k/48k/8k all map cleanly)."""
    if orig_sr == target_sr:
        return wave
    g = gcd(orig_sr, target_sr)
    return resample_poly(wave, target_sr // g, orig_sr // g).astype(np.float32)


def load_audio(path: str | Path, target_sr: int = SAMPLE_RATE) -> np.ndarray:
    """Read an audio file, downmix to mono and resample to ``target_sr``.

    Raises UserError with the file name for missing, empty, truncated or non-audio files.
    """
    path = Path(path)
    try:
        st = path.stat()
    except FileNotFoundError:
        raise UserError(f"{path}: no such file") from None
    except (OSError, ValueError) as err:  # a name too long, a NUL byte, no permission
        raise UserError(f"{path}: cannot access ({getattr(err, 'strerror', None) or err})") from None
    if path.is_dir():
        raise UserError(f"{path}: is a folder, not an audio file")
    if st.st_size == 0:
        raise UserError(f"{path}: empty file")
    try:
        wave, sr = sf.read(str(path), dtype="float32", always_2d=True)
    except Exception as err:  # soundfile raises several types for unreadable input
        msg = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise UserError(f"{path}: not readable as audio ({msg})") from None
    if wave.shape[0] == 0:
        raise UserError(f"{path}: audio has no samples")
    declared = declared_wav_frames(path)
    if declared is not None and wave.shape[0] < declared:
        raise UserError(f"{path}: truncated WAV file (the header declares {declared / sr:.2f} s of audio, "
                        f"the file holds {wave.shape[0] / sr:.2f} s)")
    # Averaging channels matches MooER/FunASR's downmix.
    mono = wave.mean(axis=1) if wave.shape[1] > 1 else wave[:, 0]
    if not np.isfinite(mono).all():
        raise UserError(f"{path}: audio contains NaN or infinite samples")
    return resample(np.ascontiguousarray(mono, dtype=np.float32), sr, target_sr)
