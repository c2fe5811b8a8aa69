"""espeak-ng speech of a phrase as a 16 kHz mono waveform (``asrkit hotwords aliases`` reads phrases aloud).

espeak-ng (https://github.com/espeak-ng/espeak-ng) is a formant synthesizer packaged by Debian; it writes a
22,050 Hz WAV to stdout with ``--stdout``. The waveform is resampled to the models' 16 kHz.
"""

from __future__ import annotations

import io
import shutil
import subprocess

import numpy as np
import soundfile as sf

from asrkit.errors import UserError
from asrkit.frontend.audio import SAMPLE_RATE, resample


def speak(text: str, voice: str = "en-us", speed: int = 175, pitch: int = 50) -> np.ndarray:
    """``text`` read by espeak-ng's ``voice`` at ``speed`` words per minute: float32 samples at 16 kHz.
    One UserError line when espeak-ng is missing or does not know the voice."""
    exe = shutil.which("espeak-ng")
    if exe is None:
        raise UserError("espeak-ng is not installed (Debian: apt install espeak-ng); it reads the phrases aloud")
    run = subprocess.run([exe, "-v", voice, "-s", str(int(speed)), "-p", str(int(pitch)), "--stdout", text],
                         capture_output=True)
    if run.returncode != 0 or len(run.stdout) <= 44:
        msg = run.stderr.decode("utf-8", "replace").strip().splitlines()
        raise UserError(f"--voices {voice}: espeak-ng failed ({msg[-1] if msg else f'exit {run.returncode}'})")
    wave, sr = sf.read(io.BytesIO(run.stdout), dtype="float32")
    return resample(wave, sr, SAMPLE_RATE)
