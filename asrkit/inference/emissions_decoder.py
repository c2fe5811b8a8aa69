"""Decode any CTC model's log-probabilities with every asrkit method, LM and hotwords.

    from asrkit.inference.emissions_decoder import EmissionsDecoder
    from decoders.vocabulary import Vocabulary
    vocab = Vocabulary.from_tokens_txt("tokens.txt")                    # or from_sentencepiece / from_chars
    dec = EmissionsDecoder(vocab, method="shallow_fusion", lm="words.arpa", lm_weight=0.5,
                           hotwords="names.txt", hotword_weight=2.0)
    texts = dec.decode(log_probs)          # (B, T, V) tensor/array, or a list of (T, V) arrays

The emissions may come from anywhere (wav2vec2, NeMo, icefall, an ONNX runtime): logits are accepted too,
since a log-softmax over the units leaves log-probabilities unchanged. Keyword arguments are the fields
of :class:`asrkit.inference.decode_config.DecodeConfig`; the search is asrkit's engine on a CTC head made
from ``vocab`` alone (:class:`asrkit.inference.ctc_decoding.CTCDecoding`), so every method of
``docs/decoding.md`` applies, TLG included when its graph was built over the same units.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from asrkit.errors import UserError
from asrkit.inference.ctc_decoding import CTCDecoding
from asrkit.inference.decode_config import DecodeConfig
from decoders.hypothesis import Hypothesis
from decoders.vocabulary import Vocabulary

Emissions = torch.Tensor | np.ndarray | Sequence[torch.Tensor | np.ndarray]


def as_batch(emissions: Emissions, lengths=None, vocab_size: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """(B, T, V) float log-probabilities and (B,) lengths from a padded batch or a list of (T, V) arrays."""
    if isinstance(emissions, (torch.Tensor, np.ndarray)) and np.ndim(emissions) == 3:
        lp = torch.as_tensor(np.asarray(emissions) if isinstance(emissions, np.ndarray) else emissions).float()
        lens = torch.full((lp.shape[0],), lp.shape[1], dtype=torch.long) if lengths is None else \
            torch.as_tensor(lengths, dtype=torch.long)
    else:
        if isinstance(emissions, (torch.Tensor, np.ndarray)):
            emissions = [emissions]
        items = [torch.as_tensor(np.asarray(e, dtype=np.float32)) for e in emissions]
        for i, e in enumerate(items):
            if e.ndim != 2:
                raise UserError(f"emissions {i}: expected (frames, units), got shape {tuple(e.shape)}")
        lens = torch.tensor([e.shape[0] for e in items], dtype=torch.long)
        lp = torch.nn.utils.rnn.pad_sequence(items, batch_first=True) if items else torch.zeros(0, 0, vocab_size or 1)
    if vocab_size is not None and lp.shape[-1] != vocab_size:
        raise UserError(f"the emissions have {lp.shape[-1]} units per frame but the vocabulary has {vocab_size}")
    if not torch.isfinite(lp).any(dim=-1).all():
        raise UserError("the emissions have a frame without any finite score")
    return torch.log_softmax(lp, dim=-1), lens


class EmissionsDecoder:
    """Every decoding method over log-probabilities from any CTC model whose units are ``vocab``."""

    def __init__(self, vocab: Vocabulary, config: DecodeConfig | None = None, **settings):
        cfg = config or DecodeConfig()
        self.config = DecodeConfig(**{**cfg.to_dict(), **{k: v for k, v in settings.items() if v is not None}})
        self.vocab = vocab
        self.engine = CTCDecoding(self.config, vocab)

    def decode(self, emissions: Emissions, lengths=None) -> list[str]:
        """Texts, one per utterance."""
        lp, lens = as_batch(emissions, lengths, self.vocab.vocab_size)
        return self.engine(lp, lens) if len(lens) else []

    def hypotheses(self, emissions: Emissions, lengths=None) -> list[list[Hypothesis]]:
        """Per utterance, the n-best of a beam method (units, scores, each scorer's total)."""
        lp, lens = as_batch(emissions, lengths, self.vocab.vocab_size)
        return self.engine.hypotheses((lp, lens))
