"""Decoding with a speech LLM: ``LLMDecoding(cfg, speech_llm)(waves) -> texts``.

The engine (:mod:`asrkit.inference.engine`) on a :class:`~asrkit.inference.heads.SpeechLLMHead`: the same
named methods as for CTC, run by the autoregressive search over the LLM conditioned on each utterance's
audio and prompt. External LMs must score the LLM's own tokens (a word n-gram through the BPE adapter, or
a causal LM sharing the tokenizer); ``rescore`` works with any LM because it re-encodes the text. ILME's
internal LM is the LLM on the prompt with the audio removed.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from asrkit.inference.decode_config import DecodeConfig
from asrkit.inference.engine import Decoder
from asrkit.inference.heads import SpeechLLMHead


class LLMDecoding(Decoder):
    """``LLMDecoding(cfg, speech_llm)(waves) -> texts``."""

    def __init__(self, cfg: DecodeConfig, model: torch.nn.Module):
        super().__init__(cfg, SpeechLLMHead(model, cfg.task))
        self.model = model

    @torch.inference_mode()
    def __call__(self, waves: Sequence[np.ndarray]) -> list[str]:
        return super().__call__(self.head.acoustics(waves))
