"""Corpus BLEU with sacreBLEU, for speech translation.

Defaults follow sacreBLEU's own, so numbers compare with published ones: the texts go in as they
are (detokenised, cased, punctuated), sacreBLEU tokenises them with its ``13a`` tokenizer, and the
score is case-sensitive. Options, each recorded in the returned signature:

* ``lowercase=True``: case-insensitive BLEU (sacreBLEU's ``-lc``; the signature says ``case:lc``).
* ``tokenize``: another sacreBLEU tokenizer, e.g. ``zh`` for Chinese targets or ``intl``.
* ``normalize=True``: both sides go through :func:`asrkit.text.normalize_text` first (lowercase,
  no punctuation). Use it only for models trained on normalised targets, whose output has no case
  or punctuation to match; the signature then ends in ``|norm:asrkit`` because such a score is not
  comparable with standard BLEU.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from sacrebleu.metrics import BLEU

from asrkit.text import normalize_text

# sacreBLEU tokenizers that need no extra package.
TOKENIZERS = ("13a", "intl", "zh", "char", "none")


@dataclass(frozen=True)
class BleuResult:
    """A corpus BLEU score (0-100) with sacreBLEU's details and signature."""

    value: float
    signature: str
    line: str  # sacreBLEU's score line, signature included
    precisions: list[float]
    bp: float
    sys_len: int
    ref_len: int
    n_utts: int
    sentence_scores: list[float] = field(default_factory=list, repr=False)


def corpus_bleu(
    refs: Sequence[str],
    hyps: Sequence[str],
    *,
    lowercase: bool = False,
    tokenize: str = "13a",
    normalize: bool = False,
    lang: str | None = None,
    sentence_scores: bool = False,
) -> BleuResult:
    """Corpus BLEU of ``hyps`` against one reference each (``refs``), paired by position.

    Options are described in the module docstring; ``lang`` only matters with ``normalize``.
    ``sentence_scores=True`` also fills :attr:`BleuResult.sentence_scores` (sentence BLEU with
    effective order, for per-utterance details). Raises ``ValueError`` on a length mismatch or an
    unknown tokenizer.
    """
    if len(refs) != len(hyps):
        raise ValueError(f"{len(refs)} references but {len(hyps)} hypotheses")
    if tokenize not in TOKENIZERS:
        raise ValueError(f"unknown tokenizer {tokenize!r}; expected one of {', '.join(TOKENIZERS)}")
    refs, hyps = list(refs), list(hyps)
    if normalize:
        refs = [normalize_text(r, lang) for r in refs]
        hyps = [normalize_text(h, lang) for h in hyps]

    bleu = BLEU(lowercase=lowercase, tokenize=tokenize)
    score = bleu.corpus_score(hyps, [refs])
    signature = str(bleu.get_signature()) + ("|norm:asrkit" if normalize else "")
    sentences: list[float] = []
    if sentence_scores:
        # Sentence BLEU needs effective order, or most short sentences would score 0.
        sent_bleu = BLEU(lowercase=lowercase, tokenize=tokenize, effective_order=True)
        sentences = [sent_bleu.sentence_score(h, [r]).score for r, h in zip(refs, hyps)]
    return BleuResult(
        value=score.score,
        signature=signature,
        line=score.format(signature=signature),
        precisions=list(score.precisions),
        bp=score.bp,
        sys_len=score.sys_len,
        ref_len=score.ref_len,
        n_utts=len(refs),
        sentence_scores=sentences,
    )
