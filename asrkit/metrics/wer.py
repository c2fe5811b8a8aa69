"""Word and character error rates, computed with jiwer on :func:`asrkit.text.normalize_text` output.

Both sides are normalised first, so case, punctuation and quote style never count as errors. The
character error rate counts characters without spaces (:func:`asrkit.text.chars_for_cer`), so a
misplaced word boundary is not an error, which matters most for Chinese.

Empty texts are scored without asking jiwer (which refuses empty references): an empty hypothesis
is all deletions, an empty reference makes every hypothesis token an insertion.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import jiwer

from asrkit.text import chars_for_cer, normalize_text


@dataclass(frozen=True)
class UtteranceErrors:
    """Edit counts of one utterance; ``ref`` and ``hyp`` are the normalised texts that were aligned."""

    ref: str
    hyp: str
    substitutions: int
    deletions: int
    insertions: int
    ref_len: int

    @property
    def errors(self) -> int:
        return self.substitutions + self.deletions + self.insertions


@dataclass(frozen=True)
class ErrorRate:
    """A corpus error rate: ``value`` is in percent, errors over reference tokens (words or characters)."""

    metric: str  # "wer" or "cer"
    value: float
    substitutions: int
    deletions: int
    insertions: int
    ref_len: int
    n_utts: int
    utterances: list[UtteranceErrors] = field(default_factory=list, repr=False)

    @property
    def errors(self) -> int:
        return self.substitutions + self.deletions + self.insertions

    def format(self) -> str:
        """The Kaldi-style summary line.

        For example ``WER 12.34 % [ 123 / 997, 10 ins, 20 del, 93 sub ] 100 utts``.
        """
        return (
            f"{self.metric.upper()} {self.value:.2f} % [ {self.errors} / {self.ref_len}, "
            f"{self.insertions} ins, {self.deletions} del, {self.substitutions} sub ] {self.n_utts} utts"
        )


def _tokens(text: str, metric: str) -> list[str]:
    return chars_for_cer(text) if metric == "cer" else text.split()


def _count_chunks(chunks: Sequence[jiwer.AlignmentChunk]) -> tuple[int, int, int]:
    sub = dele = ins = 0
    for chunk in chunks:
        if chunk.type == "substitute":
            sub += chunk.ref_end_idx - chunk.ref_start_idx
        elif chunk.type == "delete":
            dele += chunk.ref_end_idx - chunk.ref_start_idx
        elif chunk.type == "insert":
            ins += chunk.hyp_end_idx - chunk.hyp_start_idx
    return sub, dele, ins


def error_rate(
    refs: Sequence[str], hyps: Sequence[str], metric: str = "wer", lang: str | None = None
) -> ErrorRate:
    """Corpus WER or CER (``metric``) of ``hyps`` against ``refs``, paired by position.

    Texts are normalised with :func:`normalize_text` (``lang`` passed on). Raises ``ValueError``
    on a length mismatch, an unknown metric, or references that hold no token at all (the rate
    would divide by zero).
    """
    if metric not in ("wer", "cer"):
        raise ValueError(f"unknown metric {metric!r}; expected 'wer' or 'cer'")
    if len(refs) != len(hyps):
        raise ValueError(f"{len(refs)} references but {len(hyps)} hypotheses")

    norm_refs = [normalize_text(r, lang) for r in refs]
    norm_hyps = [normalize_text(h, lang) for h in hyps]
    ref_tokens = [_tokens(r, metric) for r in norm_refs]
    hyp_tokens = [_tokens(h, metric) for h in norm_hyps]

    counts: list[tuple[int, int, int]] = [(0, 0, 0)] * len(refs)
    # jiwer aligns only pairs where both sides have tokens; one call for all of them is much
    # faster than one call per utterance.
    both = [i for i in range(len(refs)) if ref_tokens[i] and hyp_tokens[i]]
    if both:
        out = jiwer.process_words(
            [" ".join(ref_tokens[i]) for i in both], [" ".join(hyp_tokens[i]) for i in both]
        )
        for i, chunks in zip(both, out.alignments, strict=True):
            counts[i] = _count_chunks(chunks)
    for i in range(len(refs)):
        if not hyp_tokens[i]:
            counts[i] = (0, len(ref_tokens[i]), 0)
        elif not ref_tokens[i]:
            counts[i] = (0, 0, len(hyp_tokens[i]))

    utterances = [
        UtteranceErrors(norm_refs[i], norm_hyps[i], *counts[i], ref_len=len(ref_tokens[i]))
        for i in range(len(refs))
    ]
    ref_len = sum(u.ref_len for u in utterances)
    if ref_len == 0:
        raise ValueError(f"the references hold no {'words' if metric == 'wer' else 'characters'}")
    sub = sum(u.substitutions for u in utterances)
    dele = sum(u.deletions for u in utterances)
    ins = sum(u.insertions for u in utterances)
    return ErrorRate(
        metric=metric,
        value=100.0 * (sub + dele + ins) / ref_len,
        substitutions=sub,
        deletions=dele,
        insertions=ins,
        ref_len=ref_len,
        n_utts=len(refs),
        utterances=utterances,
    )


def wer(refs: Sequence[str], hyps: Sequence[str], lang: str | None = None) -> ErrorRate:
    """Corpus word error rate; see :func:`error_rate`."""
    return error_rate(refs, hyps, "wer", lang)


def cer(refs: Sequence[str], hyps: Sequence[str], lang: str | None = None) -> ErrorRate:
    """Corpus character error rate (spaces not counted); see :func:`error_rate`."""
    return error_rate(refs, hyps, "cer", lang)
