"""Perplexity of any :class:`lm.interface.LanguageModel` on text, through ``encode_text`` and ``score_sentences``.

For sentences s_1..s_S with total natural-log probability ``L = sum_s ln p(s </s> | <s>)``:

    token perplexity = exp(-L / (U + S))     U = LM units (tokens or words, as the LM sees them)
    word perplexity  = exp(-L / (W + S))     W = whitespace words of the normalised text

Both count one ``</s>`` per sentence, as KenLM and SRILM do. Word perplexity is the number to
compare across LMs with different units (a token LM spreads the same L over more units).
Unknown units are scored (as the LM's ``<unk>``), not skipped: an LM that maps much of the text to
``<unk>`` can look better than it is, so the OOV rate (unknown units / units) is reported beside it.
Lines are normalised with :func:`asrkit.text.normalize_text`; lines empty after normalisation are
skipped.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import torch

from asrkit.text.normalize import lm_words, normalize_text
from lm.interface import LanguageModel


def unknown_ids(lm: LanguageModel) -> set[int]:
    """Unit ids the LM treats as unknown: its ``unk_ids`` attribute when it has one (KenLM token LMs add the
    pieces missing from the LM), else the ids whose vocabulary string is ``<unk>``."""
    ids = getattr(lm, "unk_ids", None)
    if ids is not None:
        return set(ids)
    return {i for i, w in enumerate(lm.vocab) if w == "<unk>"}


def perplexity(lm: LanguageModel, lines: Iterable[str], batch_size: int = 64) -> dict:
    """Log-probability and perplexities of ``lines`` under ``lm`` (formulas in the module docstring).

    Returns ``sentences``, ``words``, ``units``, ``oov`` (unknown units), ``logprob`` (natural log),
    ``logprob10``, ``ppl_token``, ``ppl_word`` and ``oov_rate``.
    """
    unk = unknown_ids(lm)
    n_sent = n_words = n_units = n_oov = 0
    total = 0.0
    batch: list[list[int]] = []

    def flush() -> float:
        if not batch:
            return 0.0
        scores = lm.score_sentences(batch)
        batch.clear()
        return float(torch.as_tensor(scores, dtype=torch.float64).sum())

    for line in lines:
        text = normalize_text(line)
        if not text:
            continue
        ids = lm.encode_text(text)
        n_sent += 1
        n_words += len(lm_words(text))
        n_units += len(ids)
        n_oov += sum(1 for i in ids if i in unk)
        batch.append(ids)
        if len(batch) >= batch_size:
            total += flush()
    total += flush()
    if n_sent == 0:
        raise ValueError("no non-empty line to score")
    return {
        "sentences": n_sent,
        "words": n_words,
        "units": n_units,
        "oov": n_oov,
        "oov_rate": n_oov / n_units if n_units else 0.0,
        "logprob": total,
        "logprob10": total / math.log(10.0),
        "ppl_token": math.exp(-total / (n_units + n_sent)),
        "ppl_word": math.exp(-total / (n_words + n_sent)),
    }
