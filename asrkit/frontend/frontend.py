"""The Paraformer/MooER acoustic front end: waveform -> fbank -> LFR -> CMVN."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np
import torch

from asrkit.frontend.cmvn import GlobalCMVN
from asrkit.frontend.fbank import FbankConfig, fbank
from asrkit.frontend.lfr import apply_lfr
from asrkit.utils.config_io import from_dict


@dataclass
class FrontendConfig:
    fbank: FbankConfig = field(default_factory=FbankConfig)
    lfr_m: int = 7
    lfr_n: int = 6

    @property
    def output_dim(self) -> int:
        return self.fbank.num_mel_bins * self.lfr_m

    @property
    def frame_shift_s(self) -> float:
        return self.fbank.frame_shift_ms * self.lfr_n / 1000

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict, where: str = "frontend config") -> FrontendConfig:
        return from_dict(cls, d, where)


class Frontend:
    """Callable turning a 16 kHz waveform into normalised LFR features (T_lfr, 560)."""

    def __init__(self, config: FrontendConfig | None = None, cmvn: GlobalCMVN | None = None):
        self.config = config or FrontendConfig()
        self.cmvn = cmvn
        if cmvn is not None and cmvn.dim != self.config.output_dim:
            raise ValueError(f"CMVN has {cmvn.dim} dims but the front end emits {self.config.output_dim}")

    def fbank(self, wave: np.ndarray | torch.Tensor) -> torch.Tensor:
        return fbank(wave, self.config.fbank)

    def lfr(self, feats: torch.Tensor) -> torch.Tensor:
        out = apply_lfr(feats, self.config.lfr_m, self.config.lfr_n)
        return self.cmvn(out) if self.cmvn is not None else out

    def __call__(self, wave: np.ndarray | torch.Tensor) -> torch.Tensor:
        return self.lfr(self.fbank(wave))
