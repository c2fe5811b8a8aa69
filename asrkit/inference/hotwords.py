"""Hotword files and the context graph of a head (``--hotwords FILE --hotword-weight W``).

A hotword file has one phrase per line, optionally ``phrase<TAB>weight`` (a per-phrase multiplier of the
bonus per unit, default 1) and ``phrase<TAB>weight<TAB>alias|alias...`` (spellings the model writes for the
phrase; the weight column may be empty); blank lines and lines starting with ``#`` are skipped. Phrases and
aliases are normalised with :func:`asrkit.text.normalize_text`, like every transcript and LM text, then
spelled in the head's units (:func:`build_context_graph`) into a :class:`decoders.context_graph.ContextGraph`
scorer. An alias is one more path of the graph with its phrase's weight, and the decoded text has the alias
replaced by the phrase as the file writes it (:class:`AliasRewriter`): the way NeMo's context-biasing files
list alternative transcriptions of a word. ``asrkit hotwords aliases`` writes them from the model's own
reading of synthesized speech (:mod:`asrkit.inference.hotword_aliases`).
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, NamedTuple

from asrkit.errors import UserError
from asrkit.text import normalize_text
from asrkit.tokenizer.spm import WORD_START
from decoders.bonus import word_boundaries
from decoders.context_graph import ContextGraph

_ALIAS_WORD = re.compile(r"[\w']+")  # a whole word for AliasRewriter


class Hotword(NamedTuple):
    """One line of a hotword file: the normalised phrase, its weight, its normalised aliases and the phrase
    as the file writes it (what an alias is replaced with in the output)."""

    phrase: str
    weight: float = 1.0
    aliases: tuple[str, ...] = ()
    display: str = ""


def _parse_weight(text: str, where: str) -> float:
    if not text.strip():
        return 1.0
    try:
        weight = float(text)
    except ValueError:
        raise UserError(f"{where}: weight {text.strip()!r} is not a number") from None
    if not math.isfinite(weight) or weight <= 0:
        raise UserError(f"{where}: weight must be positive and finite, not {text.strip()}")
    return weight


def read_hotwords(path: str | Path, flag: str = "--hotwords") -> list[Hotword]:
    """One :class:`Hotword` per phrase of ``path`` (a phrase listed twice keeps its largest weight and all its
    aliases); one UserError line for any problem, including an alias that is another phrase or the alias of
    another phrase (the output could not say which one was spoken). ``flag``: the option the file came with,
    named in those lines."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise UserError(f"{flag} {path}: no such file") from None
    except IsADirectoryError:
        raise UserError(f"{flag} {path}: is a folder, expected a text file (one phrase per line)") from None
    except OSError as err:
        raise UserError(f"{flag} {path}: cannot read ({err.strerror})") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise UserError(f"{flag} {path}: not UTF-8 text (byte {err.start})") from None
    out: list[Hotword] = []
    seen: dict[str, int] = {}
    owner: dict[str, str] = {}  # alias -> its phrase
    for no, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        where = f"{flag} {path}:{no}"
        phrase, _, rest = line.partition("\t")
        weight_s, _, aliases_s = rest.partition("\t")
        weight = _parse_weight(weight_s, where)
        norm = normalize_text(phrase)
        if not norm:
            raise UserError(f"{where}: {phrase.strip()!r} has no words after normalisation")
        aliases = []
        for a in aliases_s.split("|"):
            a = normalize_text(a)
            if not a or a == norm or a in aliases:
                continue
            if owner.get(a, norm) != norm:
                raise UserError(f"{where}: alias {a!r} of {norm!r} is also an alias of {owner[a]!r}")
            owner[a] = norm
            aliases.append(a)
        if norm in seen:  # a repeated phrase keeps its largest weight and every alias
            i = seen[norm]
            old = out[i]
            out[i] = old._replace(weight=max(old.weight, weight),
                                  aliases=old.aliases + tuple(a for a in aliases if a not in old.aliases))
            continue
        seen[norm] = len(out)
        out.append(Hotword(norm, weight, tuple(aliases), " ".join(phrase.split())))
    if not out:
        raise UserError(f"{flag} {path}: no phrases (one phrase per line, optionally phrase<TAB>weight)")
    clash = sorted(a for a in owner if a in seen)
    if clash:
        raise UserError(f"{flag} {path}: {clash[0]!r} is both a phrase and an alias of {owner[clash[0]]!r}")
    return out


def phrase_words(hotwords: Iterable[Hotword]) -> set[str]:
    """Every word of the phrases of a list (not their aliases): the words the list may write into an output."""
    return {w for h in hotwords for w in h.phrase.split()}


def spelling_words(hotwords: Iterable[Hotword]) -> set[str]:
    """Every word of the phrases and their aliases: the words the search may spell for the list."""
    return {w for h in hotwords for spelling in (h.phrase, *h.aliases) for w in spelling.split()}


class SpellingIndex:
    """Spellings of one or more words (``"a cad"``), for scans of a text's words: the first words of all of them,
    and a quick test of whether a word sequence can hold any: it must hold a one-word spelling, or the first
    two words of a longer one side by side (set tests in C; a test on first words alone passes almost every
    text, short first words such as "a" or "the" being in most of them)."""

    def __init__(self, spellings: Iterable[str]):
        split = [k.split() for k in set(spellings)]
        self.first_words = {w[0] for w in split}
        self.longest = max(map(len, split), default=0)
        self._single = {w[0] for w in split if len(w) == 1}
        self._openings = {tuple(w[:2]) for w in split if len(w) > 1}

    def may_hold(self, words: Sequence[str]) -> bool:
        """False when no spelling can be in ``words`` (normalised, in order); True says only "maybe"."""
        return not (self._single.isdisjoint(words) and self._openings.isdisjoint(zip(words, words[1:])))


class AliasRewriter:
    """Replaces every alias in a decoded text by its phrase as the hotword file writes it: whole words,
    any case, any spacing between an alias's words, longest alias first, in one pass (a replacement is never
    rewritten again). With no aliases it returns the text unchanged.

    Words are runs of letters, digits, ``_`` and ``'``; an alias of n words matches n consecutive words with
    only white space between them. The text is scanned word by word with dictionary look-ups (at most the
    longest alias's word count per word), not with one regular expression of every alias: with thousands
    of aliases an alternation tries each of them at every character."""

    def __init__(self, hotwords: Sequence[Hotword]):
        self.target = {a: h.display or h.phrase for h in hotwords for a in h.aliases}
        self.index = SpellingIndex(self.target)

    def __bool__(self) -> bool:
        return bool(self.target)

    def __call__(self, text: str) -> str:
        if not self.target:
            return text
        # Most texts hold no alias: decided before any per-word Python.
        if not self.index.may_hold(list(map(str.lower, _ALIAS_WORD.findall(text)))):
            return text
        words = [(m.start(), m.end(), m.group(0).lower()) for m in _ALIAS_WORD.finditer(text)]
        out, done, i = [], 0, 0
        while i < len(words):
            n = self._match(text, words, i)
            if n:
                out += [text[done: words[i][0]], self.target[" ".join(w for _, _, w in words[i: i + n])]]
                done = words[i + n - 1][1]
                i += n
            else:
                i += 1
        out.append(text[done:])
        return "".join(out)

    def _match(self, text: str, words: list[tuple[int, int, str]], i: int) -> int:
        """Word count of the longest alias starting at word i (0: none)."""
        if words[i][2] not in self.index.first_words:
            return 0
        n_max = 1
        while (n_max < self.index.longest and i + n_max < len(words)
               and text[words[i + n_max - 1][1]: words[i + n_max][0]].isspace()):
            n_max += 1
        for n in range(n_max, 0, -1):
            if " ".join(w for _, _, w in words[i: i + n]) in self.target:
                return n
        return 0


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


# Scripts written without spaces between words (Unicode character names start so): a phrase in them is
# matched anywhere, as their text has no word delimiter to start it.
_UNSPACED_SCRIPTS = ("CJK", "HIRAGANA", "KATAKANA", "THAI", "LAO", "KHMER", "MYANMAR")


def word_delimiter(tokenizer: Any) -> int | None:
    """The unit between words of a character vocabulary: its ``word_delimiter_id`` (wav2vec2's ``|``), or the
    lone ``▁`` of a sentencepiece character model (no dummy prefix, so ``▁`` is a unit of its own between words
    and no other piece starts with it); None for other vocabularies (BPE pieces carry ``▁`` themselves)."""
    delim = getattr(tokenizer, "word_delimiter_id", None)
    if delim is not None:
        return delim
    pieces = tokenizer.pieces()
    if WORD_START in pieces and not any(p.startswith(WORD_START) and p != WORD_START for p in pieces):
        return pieces.index(WORD_START)
    return None


def _written_with_spaces(phrase: str) -> bool:
    """Whether ``phrase`` starts with a character of a script that puts spaces between words."""
    first = phrase[:1]
    return not first or not unicodedata.name(first, "").startswith(_UNSPACED_SCRIPTS)


def build_context_graph(hotwords: Sequence[Hotword | tuple[str, float]], tokenizer: Any, where: str = "--hotwords",
                        boundary: Sequence[bool] | None = None) -> ContextGraph:
    """The context graph of ``hotwords`` over ``tokenizer``'s units, matching whole words only (a phrase is
    banked when the next word starts or the hypothesis ends; ``boundary``: :func:`unit_boundaries`, computed
    when not given). A phrase the tokenizer cannot spell (it maps some of it to ``<unk>``) is refused in one
    line."""
    unk = getattr(tokenizer, "unk_id", None)
    if unk is None and getattr(tokenizer, "sp", None) is not None:
        unk = tokenizer.sp.unk_id()
    phrases, weights, texts = [], [], []
    spelled = [(h[0], h[1]) for h in hotwords]  # an alias is one more path with its phrase's weight
    spelled += [(a, h[1]) for h in hotwords if len(h) > 2 for a in h[2]]
    for phrase, weight in spelled:
        for ids in _spellings(tokenizer, phrase):
            if not ids or (unk is not None and unk >= 0 and unk in ids):
                raise UserError(f"{where}: the model's units cannot spell {phrase!r} (it has characters the "
                                "tokenizer does not know)")
            phrases.append(ids)
            weights.append(weight)
            texts.append(phrase)
    # A character vocabulary: a phrase starts after the word delimiter (so "cat" does not match inside "bobcat"),
    # prepended unless the spelling has it already (a token list spells each word from a ``▁``); one of a script
    # without spaces starts anywhere (it has no delimiter before it).
    start = word_delimiter(tokenizer)
    if start is not None:
        phrases = [[start, *p] if p[0] != start and _written_with_spaces(t) else p for p, t in zip(phrases, texts)]
    if boundary is None:
        boundary = unit_boundaries(tokenizer)
    return ContextGraph(phrases, weights, vocab=tokenizer.pieces(), start_unit=start, boundary=boundary)
