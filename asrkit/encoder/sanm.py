"""Paraformer's SANM encoder: self-attention with an FSMN memory block (Gao et al., 2022,
"Paraformer: Fast and Accurate Parallel Transformer for Non-autoregressive End-to-End Speech
Recognition", arXiv 2206.08317).

Module and parameter names follow FunASR's SANMEncoder so that its ``model.pt`` (under
``encoder.``) and MooER's ``paraformer-encoder.pth`` (no prefix) load key for key.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from asrkit.encoder.config import SANMConfig
from asrkit.errors import UserError

# FunASR builds every LayerNorm of this encoder with eps=1e-12; other values shift real checkpoints.
_LN_EPS = 1e-12


def sinusoidal_position_encoding(length: int, depth: int, device=None, offset: int = 0) -> torch.Tensor:
    """FunASR's SinusoidalPositionEncoder: positions offset+1..offset+T, [sin | cos] halves concatenated
    (a streaming encoder passes the frames it has already encoded as ``offset``).

    Computed in float32 because bf16 positions above 256 are too coarse.
    """
    pos = torch.arange(offset + 1, offset + length + 1, dtype=torch.float32, device=device)[:, None]
    inc = math.log(10000.0) / (depth / 2 - 1)
    inv = torch.exp(torch.arange(depth // 2, dtype=torch.float32, device=device) * -inc)[None, :]
    return torch.cat([torch.sin(pos * inv), torch.cos(pos * inv)], dim=1)


class MultiHeadedAttentionSANM(nn.Module):
    """Multi-head self-attention plus a depthwise-conv FSMN memory over the values."""

    def __init__(self, n_head: int, in_feat: int, n_feat: int, dropout: float, kernel_size: int, shift: int = 0):
        super().__init__()
        assert n_feat % n_head == 0
        self.d_k = n_feat // n_head
        self.h = n_head
        self.linear_q_k_v = nn.Linear(in_feat, n_feat * 3)
        self.linear_out = nn.Linear(n_feat, n_feat)
        self.fsmn_block = nn.Conv1d(n_feat, n_feat, kernel_size, stride=1, padding=0, groups=n_feat, bias=False)
        left = (kernel_size - 1) // 2 + shift
        self.pad = (left, kernel_size - 1 - left)
        self.dropout = dropout

    def fsmn(self, v: torch.Tensor, mask: torch.Tensor, chunk_size: int | None = None) -> torch.Tensor:
        # mask: (B, T, 1). Padding frames are zeroed before the conv so they never leak into valid ones.
        x = (v * mask).transpose(1, 2)
        if chunk_size is None:
            x = self.fsmn_block(F.pad(x, self.pad)).transpose(1, 2)
        else:
            x = self.chunked_fsmn(x, chunk_size)
        x = F.dropout(x + v, self.dropout, self.training)
        return x * mask

    def chunked_fsmn(self, x: torch.Tensor, chunk_size: int) -> torch.Tensor:
        """The FSMN conv where output frame i reads no input frame past the end of i's chunk
        (those taps see zeros, as after the end of the input): x (B, D, T) -> (B, T, D)."""
        t, kernel, left = x.size(2), self.fsmn_block.kernel_size[0], self.pad[0]
        taps = F.pad(x, self.pad).unfold(2, kernel, 1)  # (B, D, T, K): tap k of frame i reads frame i + k - left
        i = torch.arange(t, device=x.device)[:, None]
        reads = i + torch.arange(kernel, device=x.device)[None, :] - left
        allowed = reads < (i // chunk_size + 1) * chunk_size  # (T, K)
        w = self.fsmn_block.weight[:, 0, :]  # (D, K)
        return torch.einsum("bdtk,dk->btd", taps * allowed.to(taps.dtype), w)

    def forward(self, x: torch.Tensor, mask: torch.Tensor, attn_mask: torch.Tensor | None = None,
                chunk_size: int | None = None) -> torch.Tensor:
        """x: (B, T, in_feat); mask: (B, T) bool, True on valid frames; attn_mask: optional (B, T, T) bool
        (query, key) mask, True where attention is allowed (limited context); chunk_size: the FSMN of a
        chunk-wise encoder reads nothing past each frame's chunk."""
        b, t, _ = x.shape
        q, k, v = self.linear_q_k_v(x).chunk(3, dim=-1)
        memory = self.fsmn(v, mask[:, :, None].to(v.dtype), chunk_size)
        q, k, vh = (z.reshape(b, t, self.h, self.d_k).transpose(1, 2) for z in (q, k, v))
        # A key mask is all FunASR applies; masked keys get probability 0, exactly what SDPA does.
        allowed = mask[:, None, None, :] if attn_mask is None else attn_mask[:, None]
        att = F.scaled_dot_product_attention(
            q, k, vh, attn_mask=allowed, dropout_p=self.dropout if self.training else 0.0
        )
        att = att.transpose(1, 2).reshape(b, t, self.h * self.d_k)
        return self.linear_out(att) + memory


class PositionwiseFeedForward(nn.Module):
    def __init__(self, idim: int, hidden: int, dropout: float):
        super().__init__()
        self.w_1 = nn.Linear(idim, hidden)
        self.w_2 = nn.Linear(hidden, idim)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.w_2(self.dropout(torch.relu(self.w_1(x))))


class EncoderLayerSANM(nn.Module):
    """Pre-norm layer. The first layer changes width (560 -> 512) and so has no attention residual."""

    def __init__(self, in_size: int, size: int, cfg: SANMConfig):
        super().__init__()
        self.in_size, self.size = in_size, size
        self.self_attn = MultiHeadedAttentionSANM(
            cfg.attention_heads, in_size, size, cfg.attention_dropout_rate, cfg.kernel_size, cfg.sanm_shift
        )
        self.feed_forward = PositionwiseFeedForward(size, cfg.linear_units, cfg.dropout_rate)
        self.norm1 = nn.LayerNorm(in_size, eps=_LN_EPS)
        self.norm2 = nn.LayerNorm(size, eps=_LN_EPS)
        self.dropout = nn.Dropout(cfg.dropout_rate)

    def forward(self, x: torch.Tensor, mask: torch.Tensor, attn_mask: torch.Tensor | None = None,
                chunk_size: int | None = None) -> torch.Tensor:
        a = self.dropout(self.self_attn(self.norm1(x), mask, attn_mask, chunk_size))
        x = x + a if self.in_size == self.size else a
        return x + self.dropout(self.feed_forward(self.norm2(x)))


class SANMEncoder(nn.Module):
    """(B, T, input_size) LFR features -> (B, T, output_size); no time downsampling."""

    def __init__(self, config: SANMConfig | None = None):
        super().__init__()
        self.config = cfg = config or SANMConfig()
        _check_chunks(cfg)
        self.encoders0 = nn.ModuleList([EncoderLayerSANM(cfg.input_size, cfg.output_size, cfg)])
        self.encoders = nn.ModuleList(
            [EncoderLayerSANM(cfg.output_size, cfg.output_size, cfg) for _ in range(cfg.num_blocks - 1)]
        )
        self.after_norm = nn.LayerNorm(cfg.output_size, eps=_LN_EPS)
        self.pos_dropout = nn.Dropout(cfg.positional_dropout_rate)

    @property
    def output_size(self) -> int:
        return self.config.output_size

    def forward(self, feats: torch.Tensor, lengths: torch.Tensor, offset: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
        """``offset``: frames before ``feats`` (positions start at offset + 1), for a window of a longer input."""
        t = feats.size(1)
        mask = torch.arange(t, device=feats.device)[None, :] < lengths[:, None]
        attn_mask = self.context_mask(mask)
        # Paraformer scales by sqrt(output_size) even though the input is wider (560).
        x = feats * self.config.output_size**0.5
        pe = sinusoidal_position_encoding(t, feats.size(2), feats.device, offset)
        x = self.pos_dropout(x + pe.to(x.dtype))
        chunk = self.config.chunk_size
        for layer in self.encoders0:
            x = layer(x, mask, attn_mask, chunk)
        for layer in self.encoders:
            x = layer(x, mask, attn_mask, chunk)
        return self.after_norm(x), mask.sum(dim=1)

    def context_mask(self, mask: torch.Tensor) -> torch.Tensor | None:
        """(B, T, T) mask allowing query i to see keys i - left_context .. i + right_context (valid keys
        only); None when both are unlimited. Every query keeps at least itself, so no row is empty."""
        if self.config.chunk_size is not None:
            return self.chunk_mask(mask)
        left, right = self.config.left_context, self.config.right_context
        if left is None and right is None:
            return None
        t = mask.size(1)
        rel = torch.arange(t, device=mask.device)[None, :] - torch.arange(t, device=mask.device)[:, None]
        band = torch.ones(t, t, dtype=torch.bool, device=mask.device)
        if left is not None:
            band &= rel >= -left
        if right is not None:
            band &= rel <= right
        # The diagonal keeps padded queries finite (a row with no key would give NaN, and NaN * 0 = NaN in FSMN).
        eye = torch.eye(t, dtype=torch.bool, device=mask.device)
        return (band[None] & mask[:, None, :]) | eye[None]

    def chunk_mask(self, mask: torch.Tensor) -> torch.Tensor:
        """(B, T, T) chunk-wise mask: query i sees the valid keys of its own chunk and of the
        ``left_chunks`` chunks before it (all earlier chunks when None), never a later chunk."""
        t, size, left = mask.size(1), self.config.chunk_size, self.config.left_chunks
        c = torch.arange(t, device=mask.device) // size
        band = c[None, :] <= c[:, None]
        if left is not None:
            band &= c[None, :] >= c[:, None] - left
        eye = torch.eye(t, dtype=torch.bool, device=mask.device)
        return (band[None] & mask[:, None, :]) | eye[None]


def _check_chunks(cfg: SANMConfig) -> None:
    """Chunk settings a streaming encoder can run (one clear line each, not a shape error later)."""
    if cfg.chunk_size is None:
        if cfg.left_chunks is not None:
            raise UserError("encoder config: left_chunks needs chunk_size")
        return
    if cfg.chunk_size < 1:
        raise UserError(f"encoder config: chunk_size must be >= 1 or null, not {cfg.chunk_size}")
    if cfg.left_chunks is not None and cfg.left_chunks < 0:
        raise UserError(f"encoder config: left_chunks must be >= 0 or null, not {cfg.left_chunks}")
    if cfg.left_context is not None or cfg.right_context is not None:
        raise UserError("encoder config: chunk_size excludes left_context/right_context (two kinds of limited context)")
