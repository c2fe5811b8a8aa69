"""The hertz-codec front end of the CTC recognizer (``"frontend": {"type": "hertz", ...}`` in config.json).

    16 kHz audio -> HertzFrontend: zero-pad to a multiple of 2000, cut into (T, 2000) frames
                 -> [in the model] frozen codec encoder -> mu (B, T, 32) at 8 Hz
                 -> LatentUpsampler: CMVN (am.mvn, 32 dims), Linear 32 -> factor * D, reshape
                    -> (B, factor * T, D) at factor * 8 Hz -> small SANM encoder -> CTC head

The front end object only frames the audio, so the Recognizer's batching (``frontend(wave)``,
``pad_sequence``, ``model(batch, lengths)``) is the same for both front ends; padding frames are
zeros and the codec is causal, so they never change a valid latent. ``lengths`` count latents.
The upsampling exists because English BPE-500 text runs at about 5.2 units per second
(egs/bible train text): 8 Hz leaves 1.5 frames per unit, too few for CTC, whose blanks and repeats
need more; factor 2 gives 3.1, close to the Paraformer front end's 60 ms frames.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from asrkit.encoder.hertz import HertzCodecConfig
from asrkit.errors import UserError
from asrkit.frontend import GlobalCMVN
from asrkit.utils.config_io import from_dict

FRONTEND_TYPES = ("paraformer", "hertz")


@dataclass
class HertzFrontendConfig:
    codec: HertzCodecConfig = field(default_factory=HertzCodecConfig)
    upsample: int = 2  # model frames per latent

    def __post_init__(self) -> None:
        if self.upsample < 1:
            raise UserError(f"hertz front end: upsample must be >= 1, got {self.upsample}")

    @property
    def type(self) -> str:
        return "hertz"

    @property
    def output_dim(self) -> int:
        """Width of one front-end frame: the samples of one latent (2000)."""
        return self.codec.hop

    @property
    def frame_shift_s(self) -> float:
        """Duration of one encoder frame (after upsampling): 62.5 ms by default."""
        return self.codec.hop / self.codec.sample_rate / self.upsample

    def to_dict(self) -> dict:
        return {"type": "hertz", "codec": self.codec.to_dict(), "upsample": self.upsample}

    @classmethod
    def from_dict(cls, d: dict, where: str = "hertz front end config") -> HertzFrontendConfig:
        d = dict(d)
        d.pop("type", None)
        return from_dict(cls, d, where)


class HertzFrontend:
    """Callable: 16 kHz waveform (N,) -> (ceil(N / 2000), 2000) float32 frames, zero-padded at the end."""

    def __init__(self, config: HertzFrontendConfig, cmvn: GlobalCMVN | None = None):
        self.config = config
        self.cmvn = cmvn
        if cmvn is not None and cmvn.dim != config.codec.latent_dim:
            raise UserError(f"am.mvn has {cmvn.dim} dims but the hertz latents have {config.codec.latent_dim}")

    def __call__(self, wave: np.ndarray | torch.Tensor) -> torch.Tensor:
        w = torch.as_tensor(np.asarray(wave, dtype=np.float32)).flatten()
        hop = self.config.codec.hop
        t = -(-w.numel() // hop)
        return F.pad(w, (0, t * hop - w.numel())).view(t, hop)


class LatentUpsampler(nn.Module):
    """mu (B, T, 32) -> (mu + shift) * scale (am.mvn) -> Linear(32, factor * D) -> (B, factor * T, D).

    Each latent becomes ``factor`` consecutive encoder frames (a learned sub-pixel style split).
    The CMVN vectors are non-persistent buffers: they come from am.mvn, as for the fbank front end.
    """

    def __init__(self, latent_dim: int, dim: int, factor: int, cmvn: GlobalCMVN | None = None):
        super().__init__()
        self.dim, self.factor = dim, factor
        self.proj = nn.Linear(latent_dim, factor * dim)
        self.register_buffer("shift", torch.zeros(latent_dim), persistent=False)
        self.register_buffer("scale", torch.ones(latent_dim), persistent=False)
        if cmvn is not None:
            self.shift.copy_(cmvn.shift)
            self.scale.copy_(cmvn.scale)

    def forward(self, mu: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        b, t, _ = mu.shape
        x = self.proj((mu + self.shift) * self.scale)
        return x.reshape(b, t * self.factor, self.dim), lengths * self.factor
