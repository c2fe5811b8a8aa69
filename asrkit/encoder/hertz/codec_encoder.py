"""The hertz-codec encoder: 16 kHz audio -> 32-dim Gaussian latents at 8 Hz (one per 2000 samples).

Architecture (hertz-dev's WaveCodec encoder side, github.com/Standard-Intelligence/hertz-dev; causal
AudioDec-style ResNet, Wu et al., 2023, "AudioDec: An Open-source Streaming High-fidelity Neural Audio Codec"):

    x = wave / 0.05
    x = CausalConv(1 -> 16, k 7)                                          "data conv", no bias
    6 x block(C_in -> C_out, stride s):
        3 x res unit, dilation d in (1, 3, 9):  x = x + Conv1x1(ELU(CausalConv_k7,d(ELU(x))))   (no bias)
        C_in != C_out: CausalConv(C_in -> C_out, k 2s, stride s, bias)
        C_in == C_out: AvgPool(s, s)
    h = x^T                                                              (B, T, 256)
    mu, logvar = split(Linear_256->64(h))        GaussianZ.proj_in;  z = mu + exp(logvar / 2) * eps

A causal conv left-pads with (k-1)*dilation zeros, so output t never sees input after t.
Module names mirror the official ones, so this module's ``state_dict`` has the official key names
with the weight norm folded (``encoder.res_stack.*``, ``compressor.proj_in.*``); see checkpoint.py.

Length rule used by :meth:`HertzCodecEncoder.encode`: audio is right-padded with zeros to a multiple
of 2000 samples, giving ``ceil(N / 2000)`` latents; the last one summarises the final partial frame
plus silence. (The raw stack on a non-multiple length mixes ceil (strided convs) and floor (pools)
and would drop that partial frame; hertz-dev's own server trims prompts to multiples of 2000.)
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from asrkit.encoder.hertz.config import HertzCodecConfig


class CausalConv1d(nn.Module):
    """Conv1d on a sequence left-padded with ``(k - 1) * dilation`` zeros: output length ceil(L / stride)."""

    def __init__(self, c_in: int, c_out: int, kernel_size: int, stride: int = 1, dilation: int = 1,
                 bias: bool = True):
        super().__init__()
        self.pad_length = (kernel_size - 1) * dilation
        self.conv = nn.Conv1d(c_in, c_out, kernel_size, stride=stride, dilation=dilation, bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(F.pad(x, (self.pad_length, 0)))


class CausalResUnit(nn.Module):
    """x + Conv1x1(ELU(CausalConv_k,d(ELU(x)))), both convs without bias."""

    def __init__(self, channels: int, kernel_size: int, dilation: int):
        super().__init__()
        self.activation = nn.ELU()
        self.conv1 = CausalConv1d(channels, channels, kernel_size, dilation=dilation, bias=False)
        self.conv2 = nn.Conv1d(channels, channels, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv2(self.activation(self.conv1(self.activation(x))))


class ResNetBlock(nn.Module):
    """Three res units on C_in channels, then a strided causal conv (k = 2s) or, when the width is
    unchanged, an average pool (followed by an Identity, which keeps the official indices)."""

    def __init__(self, c_in: int, c_out: int, stride: int, cfg: HertzCodecConfig):
        super().__init__()
        units: list[nn.Module] = [CausalResUnit(c_in, cfg.kernel_size, d) for d in cfg.dilations]
        if c_in == c_out:
            units += [nn.AvgPool1d(stride, stride), nn.Identity()]
        else:
            units.append(CausalConv1d(c_in, c_out, 2 * stride, stride=stride, bias=cfg.bias))
        self.res_block = nn.Sequential(*units)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.res_block(x)


class ResNetEncoderStack(nn.Module):
    """``res_stack.0`` is the data conv, ``res_stack.1..n`` the blocks. (B, 1, N) -> (B, 256, T)."""

    def __init__(self, cfg: HertzCodecConfig):
        super().__init__()
        c = cfg.channels
        blocks = [ResNetBlock(c[i], c[i + 1], s, cfg) for i, s in enumerate(cfg.strides)]
        self.res_stack = nn.Sequential(CausalConv1d(1, c[0], cfg.kernel_size, bias=False), *blocks)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.res_stack(x)


class GaussianZIn(nn.Module):
    """The encoding half of GaussianZ: ``proj_in`` maps 256 -> 2 * 32 = [mu | logvar].

    (``proj_out``, 32 -> 256, feeds only the codec decoder and is not built here.)
    """

    def __init__(self, dim: int, latent_dim: int):
        super().__init__()
        self.proj_in = nn.Linear(dim, 2 * latent_dim)

    def forward(self, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mu, logvar = self.proj_in(h).chunk(2, dim=-1)
        return mu, logvar


@dataclass
class HertzLatents:
    """Encoder output for a batch: mu and logvar (B, T, 32), valid frames per item (B,)."""

    mu: torch.Tensor
    logvar: torch.Tensor
    lengths: torch.Tensor

    def sample(self, generator: torch.Generator | None = None) -> torch.Tensor:
        """z = mu + exp(logvar / 2) * eps, eps ~ N(0, I): what the official ``latent_from_data`` returns."""
        eps = torch.randn(self.mu.shape, generator=generator, dtype=self.mu.dtype, device=self.mu.device)
        return self.mu + torch.exp(self.logvar / 2) * eps


def num_latents(num_samples: int | torch.Tensor, hop: int = 2000) -> int | torch.Tensor:
    """Valid latents for ``num_samples`` of audio under the right-pad rule: ceil(N / hop)."""
    return -(-num_samples // hop)


class HertzCodecEncoder(nn.Module):
    """hertz-codec encoder + GaussianZ ``proj_in`` (5,515,824 + 16,448 parameters at full size).

    ``forward(wave)`` runs the raw stack; ``encode(wave, lengths)`` applies the padding rule and
    returns :class:`HertzLatents`; ``latents(...)`` returns mu (deterministic) or a sample.
    """

    def __init__(self, config: HertzCodecConfig | None = None):
        super().__init__()
        self.config = cfg = config or HertzCodecConfig()
        self.encoder = ResNetEncoderStack(cfg)
        self.compressor = GaussianZIn(cfg.hidden_dim, cfg.latent_dim)

    @property
    def hop(self) -> int:
        return self.config.hop

    def encoder_parameters(self) -> int:
        """Parameters of the ResNet stack alone (5,515,824 in the released codec)."""
        return sum(p.numel() for p in self.encoder.parameters())

    def hidden(self, wave: torch.Tensor) -> torch.Tensor:
        """(B, N) or (B, 1, N) float waveform in [-1, 1] -> encoder output (B, T, 256), T as the raw stack gives."""
        x = wave[:, None, :] if wave.dim() == 2 else wave
        return self.encoder(x / self.config.norm_stddev).transpose(1, 2)

    def forward(self, wave: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, N) waveform -> (mu, logvar), each (B, T, latent_dim); no padding applied."""
        return self.compressor(self.hidden(wave))

    def pad(self, wave: torch.Tensor, lengths: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Right-pad (B, N) audio with zeros to a multiple of the hop; zero samples past each item's length.

        Returns the padded audio and the valid latents per item, ceil(length / hop).
        """
        b, n = wave.shape
        if lengths is None:
            lengths = torch.full((b,), n, dtype=torch.long, device=wave.device)
        lengths = lengths.to(wave.device)
        t = int(num_latents(n, self.hop))
        # Zeroing past each length makes item b's latents independent of how it was batched.
        keep = torch.arange(n, device=wave.device)[None, :] < lengths[:, None]
        wave = F.pad(wave * keep, (0, t * self.hop - n))
        return wave, num_latents(lengths, self.hop)

    def encode(self, wave: torch.Tensor, lengths: torch.Tensor | None = None) -> HertzLatents:
        """(B, N) audio at 16 kHz, valid samples per item -> :class:`HertzLatents` with T = ceil(N / 2000).

        Latents at positions >= ``lengths_out[b]`` are computed from zero padding only and are not valid.
        Because every layer is causal, a valid latent never depends on the padding after it.
        """
        wave, out_lens = self.pad(wave, lengths)
        mu, logvar = self(wave)
        return HertzLatents(mu, logvar, out_lens)

    def latents(self, wave: torch.Tensor, lengths: torch.Tensor | None = None, sample: bool = False,
                generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Latents for ASR or an adapter: mu (``sample=False``, deterministic) or z ~ N(mu, exp(logvar)).

        Returns ((B, T, 32), valid lengths (B,)).
        """
        out = self.encode(wave, lengths)
        return (out.sample(generator) if sample else out.mu), out.lengths
