"""Word timestamps: a hypothesis' units aligned to its CTC frames, grouped into words.

Sentencepiece marks the first piece of every word with "▁", so a word is a run of units that starts with
such a piece. A word spans from the first frame of its first unit to the end of the last frame of its last
unit; CTC emits each unit on one or two peaky frames, so ``end`` is where the word's last unit fires, not
where its sound fades (the usual caveat of CTC timestamps).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import torch

from asrkit.tokenizer import WORD_START, Tokenizer
from decoders.ctc_alignment import ctc_forced_align


@dataclass
class Word:
    word: str
    start: float  # seconds from the start of the input
    end: float

    def to_dict(self) -> dict:
        return {k: round(v, 3) if isinstance(v, float) else v for k, v in asdict(self).items()}


def group_words(units: Sequence[int], spans: Sequence[tuple[int, int]],
                tokenizer: Tokenizer) -> list[tuple[str, int, int]]:
    """(word, first frame, end frame) for each word of ``units`` given each unit's frame span."""
    pieces = tokenizer.pieces()
    words: list[tuple[list[int], int, int]] = []
    for unit, (start, end) in zip(units, spans):
        if not words or pieces[unit].startswith(WORD_START):
            words.append(([unit], start, end))
        else:
            ids, first, _ = words[-1]
            words[-1] = (ids + [unit], first, end)
    out = []
    for ids, start, end in words:
        text = tokenizer.decode(ids).strip()
        if text:
            out.append((text, start, end))
    return out


def word_timestamps(log_probs: torch.Tensor, text: str, tokenizer: Tokenizer, frame_shift_s: float,
                    offset_s: float = 0.0, units: Sequence[int] | None = None) -> list[Word]:
    """Words of ``text`` with start/end seconds, from the forced alignment of its units to ``log_probs``.

    ``log_probs``: (T, V) of one segment that starts ``offset_s`` into the input; ``units``: the
    hypothesis' own units when the search gives them, else ``text`` is encoded (its canonical spelling,
    which aligns as well: the words and so their times are the same). When the frames cannot spell the
    units (only possible for hypotheses not produced from these frames), the words share the segment
    evenly so that every word still gets a time inside it.
    """
    units = list(units) if units is not None else tokenizer.encode(text)
    if not units:
        return []
    spans = ctc_forced_align(log_probs, units, tokenizer.blank_id)
    if spans is None:
        n = len(units)
        total = log_probs.shape[0]
        spans = [(total * i // n, max(total * (i + 1) // n, total * i // n + 1)) for i in range(n)]
    return [Word(w, offset_s + s * frame_shift_s, offset_s + e * frame_shift_s)
            for w, s, e in group_words(units, spans, tokenizer)]
