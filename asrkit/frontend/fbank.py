"""Kaldi-compatible log mel filterbank, vectorised in torch.

Implements Kaldi's ``compute-fbank-feats`` (and so ``torchaudio.compliance.kaldi.fbank`` and
kaldi-native-fbank) for the settings Paraformer and MooER were trained with; tests compare it
with kaldi-native-fbank. Per frame: remove DC offset, pre-emphasis, window, zero-pad to a power
of two, power spectrum, triangular mel filters on the Kaldi mel scale ``1127 ln(1 + f/700)``,
natural log floored at float32 epsilon.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from functools import lru_cache

import numpy as np
import torch

_EPS = float(np.finfo(np.float32).eps)


@dataclass(frozen=True)
class FbankConfig:
    """Defaults are MooER's front-end settings (its FunASR ``WavFrontend`` configuration,
    github.com/MooreThreads/MooER)."""

    sample_rate: int = 16000
    num_mel_bins: int = 80
    frame_length_ms: float = 25.0
    frame_shift_ms: float = 10.0
    dither: float = 0.0
    preemphasis: float = 0.97
    remove_dc_offset: bool = True
    window_type: str = "hamming"
    low_freq: float = 20.0
    high_freq: float = 0.0  # <= 0 means offset from Nyquist, as in Kaldi
    snip_edges: bool = True
    # MooER multiplies the [-1, 1] waveform by 2**15 so features match int16-trained models.
    input_scale: float = 32768.0

    @property
    def window_size(self) -> int:
        return int(self.sample_rate * self.frame_length_ms / 1000)

    @property
    def window_shift(self) -> int:
        return int(self.sample_rate * self.frame_shift_ms / 1000)

    @property
    def fft_size(self) -> int:
        return 1 << (self.window_size - 1).bit_length()

    def to_dict(self) -> dict:
        return asdict(self)


def _window(kind: str, n: int) -> torch.Tensor:
    i = torch.arange(n, dtype=torch.float64)
    a = 2 * math.pi / (n - 1)
    if kind == "hamming":
        w = 0.54 - 0.46 * torch.cos(a * i)
    elif kind == "hanning":
        w = 0.5 - 0.5 * torch.cos(a * i)
    elif kind == "povey":
        w = (0.5 - 0.5 * torch.cos(a * i)) ** 0.85
    elif kind == "rectangular":
        w = torch.ones(n, dtype=torch.float64)
    else:
        raise ValueError(f"unknown window_type {kind!r}")
    return w.float()


def _mel(f: torch.Tensor) -> torch.Tensor:
    return 1127.0 * torch.log1p(f / 700.0)


@lru_cache(maxsize=8)
def mel_filterbank(cfg: FbankConfig) -> torch.Tensor:
    """(num_fft_bins, num_mel_bins) matrix of Kaldi's triangular mel filters (Nyquist bin gets 0)."""
    n_bins = cfg.fft_size // 2
    nyquist = cfg.sample_rate / 2
    high = cfg.high_freq if cfg.high_freq > 0 else nyquist + cfg.high_freq
    mel_lo, mel_hi = _mel(torch.tensor(cfg.low_freq, dtype=torch.float64)), _mel(
        torch.tensor(high, dtype=torch.float64)
    )
    delta = (mel_hi - mel_lo) / (cfg.num_mel_bins + 1)
    edges = mel_lo + delta * torch.arange(cfg.num_mel_bins + 2, dtype=torch.float64)
    left, center, right = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    freqs = _mel(cfg.sample_rate / cfg.fft_size * torch.arange(n_bins, dtype=torch.float64))[None, :]
    up = (freqs - left) / (center - left)
    down = (right - freqs) / (right - center)
    weights = torch.clamp(torch.minimum(up, down), min=0.0)  # (mel, bins)
    # Append the Nyquist bin with zero weight so the matrix matches the rfft output size.
    weights = torch.cat([weights, torch.zeros(cfg.num_mel_bins, 1, dtype=torch.float64)], dim=1)
    return weights.T.float().contiguous()


def num_frames(num_samples: int, cfg: FbankConfig = FbankConfig()) -> int:
    if cfg.snip_edges:
        return 0 if num_samples < cfg.window_size else 1 + (num_samples - cfg.window_size) // cfg.window_shift
    return (num_samples + cfg.window_shift // 2) // cfg.window_shift


def fbank(wave: np.ndarray | torch.Tensor, cfg: FbankConfig = FbankConfig(), seed: int = 0) -> torch.Tensor:
    """Log mel filterbank of a 1-D waveform in [-1, 1]; returns (frames, num_mel_bins) float32."""
    x = torch.as_tensor(wave, dtype=torch.float32).reshape(-1) * cfg.input_scale
    n = num_frames(x.numel(), cfg)
    if n == 0:
        return torch.zeros(0, cfg.num_mel_bins)
    if not cfg.snip_edges:
        # Kaldi reflects the signal at both ends so frames are centred on multiples of the shift.
        pad_left = cfg.window_size // 2 - cfg.window_shift // 2
        pad_right = (n - 1) * cfg.window_shift + cfg.window_size - pad_left - x.numel()
        x = torch.cat([x[:pad_left].flip(0), x, x[max(0, x.numel() - pad_right):].flip(0)])
    frames = x.unfold(0, cfg.window_size, cfg.window_shift)[:n].clone()
    if cfg.dither > 0:
        gen = torch.Generator().manual_seed(seed)
        frames += cfg.dither * torch.randn(frames.shape, generator=gen)
    if cfg.remove_dc_offset:
        frames -= frames.mean(dim=1, keepdim=True)
    if cfg.preemphasis:
        prev = torch.cat([frames[:, :1], frames[:, :-1]], dim=1)
        frames = frames - cfg.preemphasis * prev
    frames = frames * _window(cfg.window_type, cfg.window_size)
    spec = torch.fft.rfft(frames, n=cfg.fft_size)
    power = spec.real.square() + spec.imag.square()
    mel = power @ mel_filterbank(cfg)
    return torch.log(torch.clamp(mel, min=_EPS))
