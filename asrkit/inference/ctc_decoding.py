"""Decoding given CTC log-probabilities: ``CTCDecoding(cfg, tokenizer)(log_probs, lengths) -> texts``.

The engine (:mod:`asrkit.inference.engine`) on a :class:`~asrkit.inference.heads.CTCHead` made from the
tokenizer alone, for callers that compute emissions themselves (``asrkit tune``, benchmarks).
"""

from __future__ import annotations

import torch

from asrkit.inference.decode_config import DecodeConfig
from asrkit.inference.engine import Decoder
from asrkit.inference.heads import CTCHead
from asrkit.inference.methods import load_token_lm
from asrkit.tokenizer import Tokenizer

__all__ = ["CTCDecoding", "load_token_lm"]


class CTCDecoding(Decoder):
    """``CTCDecoding(cfg, tokenizer)(log_probs, lengths) -> texts``: log_probs (B, T, V), lengths (B,)."""

    def __init__(self, cfg: DecodeConfig, tokenizer: Tokenizer):
        super().__init__(cfg, CTCHead(tokenizer))

    def __call__(self, log_probs: torch.Tensor, lengths: torch.Tensor | None = None) -> list[str]:
        if lengths is None:
            lengths = torch.full((log_probs.size(0),), log_probs.size(1), dtype=torch.long)
        return super().__call__((log_probs, lengths))
