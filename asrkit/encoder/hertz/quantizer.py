"""hertz-dev's 15-bit latent quantizer (``LatentQuantizer``, checkpoint ``inference_volcano_3.pt``).

Maps each 32-dim codec latent to one of 8^5 = 32768 codes, the "phonetic scaffold" hertz-lm predicts:

    x = input(latent)                               Linear 32 -> 2048 (bias)
    gate, up = split(gateup_proj(x))                Linear 2048 -> 2 * 8192 (no bias); gate = first half
    x = down_proj(up * SiLU(gate))                  Linear 8192 -> 2048 (no bias); SwiGLU, no residual
    z = project_in(x)                               Linear 2048 -> 5 (bias), in float32
    FSQ (Mentzer et al., 2023, "Finite Scalar Quantization: VQ-VAE Made Simple", arXiv 2309.15505):
        half_l = (L - 1) (1 + 1e-3) / 2,  offset = 0.5 (L even),  shift = atanh(offset / half_l)
        bounded = tanh(z + shift) half_l - offset            in (-L/2 - ~0.004, L/2 - 1 + ~0.004)
        codes = round(bounded) / (L // 2)                    {-1, -0.75, ..., 0.75} for L = 8
        index = sum_i (codes_i (L_i // 2) + L_i // 2) basis_i,  basis = [1, 8, 64, 512, 4096]
    out = project_out(codes)                        Linear 5 -> 2048 (bias)

Rounding uses a straight-through estimator (identity gradient), so the module stays trainable.
Checkpoint keys are exactly ``input.*``, ``ffnn.gateup_proj.weight``, ``ffnn.down_proj.weight``,
``compressor.project_{in,out}.*``; the FSQ constants are non-persistent buffers (not checkpoint keys).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from asrkit.encoder.hertz.checkpoint import check_and_load, read_state_dict
from asrkit.encoder.hertz.config import HertzQuantizerConfig


class SwiGLU(nn.Module):
    """down_proj(up * SiLU(gate)), [gate | up] = gateup_proj(x) (Shazeer, 2020, "GLU Variants Improve Transformer")."""

    def __init__(self, dim: int, hidden: int):
        super().__init__()
        self.gateup_proj = nn.Linear(dim, 2 * hidden, bias=False)
        self.down_proj = nn.Linear(hidden, dim, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        gate, up = self.gateup_proj(x).chunk(2, dim=-1)
        return self.down_proj(up * F.silu(gate))


class FSQ(nn.Module):
    """Finite scalar quantization with one codebook of prod(levels) codes."""

    def __init__(self, levels: list[int], dim: int, eps: float = 1e-3):
        super().__init__()
        self.eps = eps
        lv = torch.tensor(levels, dtype=torch.float32)
        basis = torch.cumprod(torch.tensor([1] + levels[:-1], dtype=torch.float64), 0)
        self.register_buffer("_levels", lv, persistent=False)
        self.register_buffer("_basis", basis, persistent=False)
        self.project_in = nn.Linear(dim, len(levels))
        self.project_out = nn.Linear(len(levels), dim)

    @property
    def half_width(self) -> torch.Tensor:
        return torch.div(self._levels, 2, rounding_mode="floor")

    def bound(self, z: torch.Tensor) -> torch.Tensor:
        """tanh(z + shift) * half_l - offset: squashes each dim into L_i bins centred on the integers."""
        half_l = (self._levels - 1) * (1 + self.eps) / 2
        offset = torch.where(self._levels % 2 == 0, 0.5, 0.0)
        shift = torch.atanh(offset / half_l)
        return torch.tanh(z + shift) * half_l - offset

    def quantize(self, z: torch.Tensor) -> torch.Tensor:
        """Codes in [-1, 1): round with a straight-through gradient, then divide by L // 2."""
        bounded = self.bound(z)
        rounded = bounded + (torch.round(bounded) - bounded).detach()
        return rounded / self.half_width

    def codes_to_indices(self, codes: torch.Tensor) -> torch.Tensor:
        """index = sum_i (codes_i * (L_i // 2) + L_i // 2) * basis_i, as int64."""
        digits = torch.round(codes * self.half_width + self.half_width).double()
        return (digits * self._basis).sum(dim=-1).round().long()

    def indices_to_codes(self, indices: torch.Tensor) -> torch.Tensor:
        digits = torch.remainder(torch.div(indices[..., None], self._basis.long(), rounding_mode="floor"),
                                 self._levels.long())
        return (digits.float() - self.half_width) / self.half_width

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """x (..., dim) -> (project_out(codes) (..., dim), codes (..., n_levels), indices (...)), all in float32."""
        # The original forces quantisation to float32 (its dtype check always casts); so do we.
        with torch.autocast(x.device.type, enabled=False):
            codes = self.quantize(self.project_in(x.float()))
            return self.project_out(codes), codes, self.codes_to_indices(codes)


@dataclass
class QuantizerOutput:
    out: torch.Tensor  # (B, T, 2048), project_out of the codes
    codes: torch.Tensor  # (B, T, 5) in {-1, -0.75, ..., 0.75}
    indices: torch.Tensor  # (B, T) in [0, 32768)


class LatentQuantizer(nn.Module):
    """(B, T, 32) latents (mu or samples) -> :class:`QuantizerOutput`. 50,421,765 parameters at full size."""

    def __init__(self, config: HertzQuantizerConfig | None = None):
        super().__init__()
        self.config = cfg = config or HertzQuantizerConfig()
        self.input = nn.Linear(cfg.latent_dim, cfg.dim)
        self.ffnn = SwiGLU(cfg.dim, cfg.ffn_dim)
        self.compressor = FSQ(cfg.levels, cfg.dim)

    def forward(self, latents: torch.Tensor) -> QuantizerOutput:
        out, codes, indices = self.compressor(self.ffnn(self.input(latents)))
        return QuantizerOutput(out, codes, indices)


def load_quantizer_checkpoint(quantizer: LatentQuantizer, path: str | Path) -> LatentQuantizer:
    """Load ``inference_volcano_3.pt`` strictly (hertz-dev loads it with strict=True too); returns the module."""
    c = quantizer.config
    what = f"hertz latent quantizer (latent_dim {c.latent_dim}, dim {c.dim}, ffn {c.ffn_dim}, levels {c.levels})"
    check_and_load(quantizer, read_state_dict(path), path, what)
    return quantizer
