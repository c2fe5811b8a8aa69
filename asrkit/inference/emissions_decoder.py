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


def log_prob_items(emissions: Emissions, lengths=None, vocab_size: int | None = None) -> list[torch.Tensor]:
    """One (T_i, V) float log-probability tensor per utterance, from a padded batch (+ lengths) or a list.

    Each utterance is checked and log-softmaxed on its own frames only: padding is never read (a padded
    frame of -inf is not an error), and utterances of very different lengths cost the work of their real
    frames, not of B x the longest. Bad input is one UserError line naming the utterance's index."""
    if isinstance(emissions, (torch.Tensor, np.ndarray)) and np.ndim(emissions) == 3:
        batch = torch.as_tensor(np.asarray(emissions) if isinstance(emissions, np.ndarray) else emissions).float()
        lens = [batch.shape[1]] * batch.shape[0] if lengths is None else torch.as_tensor(lengths).tolist()
        if len(lens) != batch.shape[0] or any(not 0 <= int(n) <= batch.shape[1] for n in lens):
            raise UserError(f"emissions: lengths must be {batch.shape[0]} values in 0..{batch.shape[1]} frames")
        items = [batch[i, : int(n)] for i, n in enumerate(lens)]
        n_units = batch.shape[-1]
    else:
        if isinstance(emissions, (torch.Tensor, np.ndarray)):
            emissions = [emissions]
        items = [torch.as_tensor(np.asarray(e, dtype=np.float32)) for e in emissions]
        for i, e in enumerate(items):
            if e.ndim != 2:
                raise UserError(f"emissions {i}: expected (frames, units), got shape {tuple(e.shape)}")
        n_units = items[0].shape[-1] if items else vocab_size or 1
    for i, e in enumerate(items):
        if e.shape[-1] != n_units:
            raise UserError(f"emissions {i}: {e.shape[-1]} units per frame, the first utterance has {n_units}")
    if vocab_size is not None and n_units != vocab_size:
        raise UserError(f"the emissions have {n_units} units per frame but the vocabulary has {vocab_size}")
    for i, e in enumerate(items):
        # A finite frame maximum is a finite score in the frame: one reduction decides for almost every
        # utterance; the element-wise test (a NaN next to finite scores passes it) only where a maximum is not.
        if e.shape[0] == 0 or (e.shape[-1] and bool(torch.isfinite(e.amax(dim=-1)).all())):
            continue
        if not torch.isfinite(e).any(dim=-1).all():
            raise UserError(f"emissions {i}: a frame without any finite score")
    return [torch.log_softmax(e, dim=-1) for e in items]


def pad_batch(items: Sequence[torch.Tensor], n_units: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(B, T, V) zero-padded batch and (B,) lengths of (T_i, V) tensors."""
    lens = torch.tensor([e.shape[0] for e in items], dtype=torch.long)
    if not items:
        return torch.zeros(0, 0, n_units), lens
    return torch.nn.utils.rnn.pad_sequence(list(items), batch_first=True), lens


# Utterances searched per call, grouped by length: a padded batch of a thousand utterances of mixed lengths
# would hold (and copy) B x the longest frames (1.3 GB for the 1103 hotword-benchmark utterances).
_GROUP = 64


class EmissionsDecoder:
    """Every decoding method over log-probabilities from any CTC model whose units are ``vocab``."""

    def __init__(self, vocab: Vocabulary, config: DecodeConfig | None = None, **settings):
        cfg = config or DecodeConfig()
        self.config = DecodeConfig(**{**cfg.to_dict(), **{k: v for k, v in settings.items() if v is not None}})
        self.vocab = vocab
        self.engine = CTCDecoding(self.config, vocab)

    def _by_length(self, emissions: Emissions, lengths, search) -> list:
        """``search(log_probs, lengths)`` on groups of up to _GROUP utterances of similar length, the
        results put back in the input order (each utterance's search does not depend on its batch)."""
        items = log_prob_items(emissions, lengths, self.vocab.vocab_size)
        order = sorted(range(len(items)), key=lambda i: items[i].shape[0])
        out: list = [None] * len(items)
        for k in range(0, len(order), _GROUP):
            group = order[k: k + _GROUP]
            for i, result in zip(group, search(*pad_batch([items[i] for i in group], self.vocab.vocab_size))):
                out[i] = result
        return out

    def decode(self, emissions: Emissions, lengths=None) -> list[str]:
        """Texts, one per utterance."""
        return self._by_length(emissions, lengths, self.engine)

    def hypotheses(self, emissions: Emissions, lengths=None) -> list[list[Hypothesis]]:
        """Per utterance, the n-best of a beam method (units, scores, each scorer's total)."""
        return self._by_length(emissions, lengths, lambda lp, lens: self.engine.hypotheses((lp, lens)))
