"""Hotword files and the context graph of a head (``--hotwords FILE --hotword-weight W``).

A hotword file has one phrase per line, optionally ``phrase<TAB>weight`` (a per-phrase multiplier of the
bonus per unit, default 1); blank lines and lines starting with ``#`` are skipped. Phrases are normalised
with :func:`asrkit.text.normalize_text`, like every transcript and LM text, then spelled in the head's
units (:func:`build_context_graph`) into a :class:`decoders.context_graph.ContextGraph` scorer.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from asrkit.errors import UserError
from asrkit.text import normalize_text
from asrkit.tokenizer.spm import WORD_START
from decoders.bonus import word_boundaries
from decoders.context_graph import ContextGraph


def read_hotwords(path: str | Path) -> list[tuple[str, float]]:
    """(normalised phrase, weight) per line of ``path``; one UserError line for any problem."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise UserError(f"--hotwords {path}: no such file") from None
    except IsADirectoryError:
        raise UserError(f"--hotwords {path}: is a folder, expected a text file (one phrase per line)") from None
    except OSError as err:
        raise UserError(f"--hotwords {path}: cannot read ({err.strerror})") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise UserError(f"--hotwords {path}: not UTF-8 text (byte {err.start})") from None
    out: list[tuple[str, float]] = []
    seen: dict[str, int] = {}
    for no, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        phrase, _, weight_s = line.partition("\t")
        weight = 1.0
        if weight_s.strip():
            try:
                weight = float(weight_s)
            except ValueError:
                raise UserError(f"--hotwords {path}:{no}: weight {weight_s.strip()!r} is not a number") from None
            if not math.isfinite(weight) or weight <= 0:
                raise UserError(f"--hotwords {path}:{no}: weight must be positive and finite, not {weight_s.strip()}")
        norm = normalize_text(phrase)
        if not norm:
            raise UserError(f"--hotwords {path}:{no}: {phrase.strip()!r} has no words after normalisation")
        if norm in seen:  # a repeated phrase keeps its largest weight
            i = seen[norm]
            out[i] = (norm, max(out[i][1], weight))
            continue
        seen[norm] = len(out)
        out.append((norm, weight))
    if not out:
        raise UserError(f"--hotwords {path}: no phrases (one phrase per line, optionally phrase<TAB>weight)")
    return out


def _spellings(tokenizer: Any, phrase: str) -> list[list[int]]:
    """The unit sequences a search would produce for ``phrase`` in the middle of a transcript.

    Sentencepiece pieces (and character vocabularies, whose delimiter is the piece ``▁``) spell a word the
    same wherever it is. Byte-level LLM tokens spell a word differently after a space and at the start of
    the answer, and the LLM may write it capitalised: each of those spellings is a phrase of the graph.
    """
    pieces = tokenizer.pieces()
    if any(p.startswith(WORD_START) for p in pieces[: min(len(pieces), 5000)]):
        return [tokenizer.encode(phrase)]
    variants = {phrase, phrase[:1].upper() + phrase[1:], phrase.title()}
    out = []
    for v in sorted(variants):
        for text in (" " + v, v):
            ids = tokenizer.encode(text)
            if ids not in out:
                out.append(ids)
    return out


def unit_boundaries(tokenizer: Any, starts: Sequence[bool] | None = None,
                    wordish: Sequence[bool] | None = None) -> list[bool]:
    """Per unit, whether a word boundary comes before it: it starts a word, or it is punctuation or a special
    unit (no letter or digit), with the word rules of :func:`decoders.bonus.word_boundaries`. ``starts`` and
    ``wordish``: those rules already computed (a head's word bonus keeps them)."""
    if starts is None or wordish is None:
        pieces = tokenizer.pieces()
        sp_like = any(p.startswith(WORD_START) for p in pieces)
        starts, wordish = word_boundaries(pieces, None if sp_like else (lambda i: tokenizer.decode([i])))
    return [bool(s) or not bool(w) for s, w in zip(starts, wordish)]


def build_context_graph(hotwords: list[tuple[str, float]], tokenizer: Any, where: str = "--hotwords",
                        boundary: Sequence[bool] | None = None) -> ContextGraph:
    """The context graph of ``hotwords`` over ``tokenizer``'s units, matching whole words only (a phrase is
    banked when the next word starts or the hypothesis ends; ``boundary``: :func:`unit_boundaries`, computed
    when not given). A phrase the tokenizer cannot spell (it maps some of it to ``<unk>``) is refused in one
    line."""
    unk = getattr(tokenizer, "unk_id", None)
    if unk is None and getattr(tokenizer, "sp", None) is not None:
        unk = tokenizer.sp.unk_id()
    phrases, weights = [], []
    for phrase, weight in hotwords:
        for ids in _spellings(tokenizer, phrase):
            if not ids or (unk is not None and unk >= 0 and unk in ids):
                raise UserError(f"{where}: the model's units cannot spell {phrase!r} (it has characters the "
                                "tokenizer does not know)")
            phrases.append(ids)
            weights.append(weight)
    start = getattr(tokenizer, "word_delimiter_id", None)
    if start is not None:  # a character vocabulary: a phrase starts after the word delimiter
        phrases = [[start, *p] for p in phrases]
    if boundary is None:
        boundary = unit_boundaries(tokenizer)
    return ContextGraph(phrases, weights, vocab=tokenizer.pieces(), start_unit=start, boundary=boundary)
