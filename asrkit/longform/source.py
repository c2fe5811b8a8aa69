"""An input's audio read piece by piece, so an hour-long file never sits in memory whole.

``FileSource`` seeks into the file with soundfile and resamples only the part asked for. Resampling a
part gives the same samples as resampling the whole file: the part is widened by a margin longer than the
resampling filter and starts on an input sample whose output position is a whole number, then trimmed.
A file at 16 kHz is read as it is.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from math import gcd
from pathlib import Path

import numpy as np
import soundfile as sf

from asrkit.errors import UserError
from asrkit.frontend import SAMPLE_RATE, resample
from asrkit.frontend.wav_header import declared_wav_frames


class AudioSource:
    """16 kHz mono float32 audio of one input, read between any two sample indices."""

    name: str
    num_samples: int

    @property
    def duration(self) -> float:
        return self.num_samples / SAMPLE_RATE

    def read(self, start: int, end: int) -> np.ndarray:
        raise NotImplementedError

    def read_seconds(self, start: float, end: float) -> np.ndarray:
        return self.read(int(round(start * SAMPLE_RATE)), int(round(end * SAMPLE_RATE)))

    def blocks(self, block_samples: int) -> Iterator[np.ndarray]:
        """The whole input in consecutive pieces of ``block_samples`` (the last one shorter)."""
        for start in range(0, self.num_samples, block_samples):
            yield self.read(start, min(start + block_samples, self.num_samples))


class ArraySource(AudioSource):
    """Audio already in memory (e.g. what lhotse loaded for a cut)."""

    def __init__(self, wave: np.ndarray, name: str):
        self.wave = np.ascontiguousarray(wave, dtype=np.float32)
        self.name = name
        self.num_samples = int(self.wave.size)
        if self.num_samples == 0:
            raise UserError(f"{name}: audio has no samples")
        if not np.isfinite(self.wave).all():
            raise UserError(f"{name}: audio contains NaN or infinite samples")

    def read(self, start: int, end: int) -> np.ndarray:
        return self.wave[max(0, start): min(end, self.num_samples)]


class FileSource(AudioSource):
    """A soundfile-readable file, or the part ``[offset_s, offset_s + duration_s)`` of one; channels are
    averaged (as :func:`asrkit.frontend.load_audio` does) unless ``channel`` picks one."""

    def __init__(self, path: str | Path, offset_s: float = 0.0, duration_s: float | None = None,
                 channel: int | None = None):
        self.path = Path(path)
        self.name = str(path)
        # The checks and messages of asrkit.frontend.load_audio, which reads a whole file at once.
        try:
            st = self.path.stat()
        except FileNotFoundError:
            raise UserError(f"{self.path}: no such file") from None
        except (OSError, ValueError) as err:  # a name too long, a NUL byte, no permission
            raise UserError(f"{self.path}: cannot access ({getattr(err, 'strerror', None) or err})") from None
        if self.path.is_dir():
            raise UserError(f"{self.path}: is a folder, not an audio file")
        if st.st_size == 0:
            raise UserError(f"{self.path}: empty file")
        try:
            info = sf.info(str(self.path))
        except Exception as err:  # soundfile raises several types for unreadable input
            msg = str(err).splitlines()[0] if str(err) else type(err).__name__
            raise UserError(f"{self.path}: not readable as audio ({msg})") from None
        self.sr = int(info.samplerate)
        self.channels = int(info.channels)
        if channel is not None and not 0 <= channel < self.channels:
            raise UserError(f"{self.path}: no channel {channel} (the file has {self.channels})")
        self.channel = channel
        first = int(round(offset_s * self.sr))
        last = int(info.frames)
        if duration_s is not None:
            last = min(last, first + int(round(duration_s * self.sr)))
        declared = declared_wav_frames(self.path)
        if declared is not None and info.frames < declared:
            raise UserError(f"{self.path}: truncated WAV file (the header declares {declared / self.sr:.2f} s of "
                            f"audio, the file holds {info.frames / self.sr:.2f} s)")
        if info.frames <= 0 or last <= first:
            raise UserError(f"{self.path}: audio has no samples" + (f" after {offset_s:.2f} s" if first else ""))
        self.first, self.last = first, last  # native sample range of this input
        g = gcd(self.sr, SAMPLE_RATE)
        self.up, self.down = SAMPLE_RATE // g, self.sr // g
        self.num_samples = math.ceil((last - first) * self.up / self.down)
        # Input samples read beyond each end of a part: more than the resampling filter's half-length
        # (10 * max(up, down) taps of the upsampled signal in scipy's resample_poly), in whole steps of ``down``.
        reach = 10 * max(self.up, self.down) / self.up + 16
        self.margin = self.down * math.ceil(reach / self.down)

    def _native(self, start: int, stop: int) -> np.ndarray:
        """Native samples [start, stop) relative to ``first``, mono float32."""
        start, stop = max(0, start), min(stop, self.last - self.first)
        if stop <= start:
            return np.zeros(0, dtype=np.float32)
        try:
            with sf.SoundFile(str(self.path)) as f:
                f.seek(self.first + start)
                data = f.read(stop - start, dtype="float32", always_2d=True)
        except Exception as err:
            msg = str(err).splitlines()[0] if str(err) else type(err).__name__
            where = f"samples {self.first + start}-{self.first + stop}"
            raise UserError(f"{self.path}: cannot read {where} ({msg})") from None
        if data.shape[0] < stop - start:
            raise UserError(f"{self.path}: truncated: the header promises {self.last} samples but the data ends "
                            f"at {self.first + start + data.shape[0]}")
        if self.channel is not None:
            mono = data[:, self.channel]
        else:
            mono = data.mean(axis=1) if data.shape[1] > 1 else data[:, 0]
        if not np.isfinite(mono).all():
            raise UserError(f"{self.path}: audio contains NaN or infinite samples")
        return np.ascontiguousarray(mono, dtype=np.float32)

    def read(self, start: int, end: int) -> np.ndarray:
        start, end = max(0, start), min(end, self.num_samples)
        if end <= start:
            return np.zeros(0, dtype=np.float32)
        if self.up == self.down:
            return self._native(start, end)
        # Native sample q * down maps to output sample q * up exactly; start there, widened by the margin.
        q0 = start // self.up
        a = max(0, q0 * self.down - self.margin)
        b = math.ceil(end / self.up) * self.down + self.margin
        out = resample(self._native(a, b), self.sr, SAMPLE_RATE)
        o = a * self.up // self.down
        return np.ascontiguousarray(out[start - o: end - o])


def open_source(path: str | Path, start: float = 0.0, duration: float | None = None,
                channel: int | None = None) -> AudioSource:
    """A file (or the part ``[start, start + duration)`` of it) as an :class:`AudioSource`; a file that cannot
    be read gets one :class:`UserError` line."""
    return FileSource(path, offset_s=start, duration_s=duration, channel=channel)
