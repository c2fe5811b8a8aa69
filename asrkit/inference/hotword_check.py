"""CTC hotword check: an unknown word of the output whose frames the CTC emissions also spell as a hotword
(nearly as well as their best path) becomes that hotword.

The context graph lifts a hotword only while the search still holds a prefix that spells it; a name the
model has never heard often loses every such prefix to a garbled spelling (Barabbas as ``babas``, Magdalene
as ``ma dlean``). The emissions still carry it, so after the search each run of 1-2 output words that are

- not words of ``known_words`` (``--known-words``, e.g. the LM's vocabulary: a real word is never replaced),
- not a hotword, a word of a hotword phrase or an alias (those are the context graph's and the alias
  rewrite's business),

is checked against the hotword spellings (phrases and aliases) nearest to it in letters (normalised
Levenshtein distance at most ``_LOOSE``, the ``_CANDIDATES`` nearest). For each candidate ``c`` over the run's
frames ``[s, e)`` (from the forced alignment of the output; the blanks up to the neighbouring words
included) the cost per unit is

    cost(c) = ( sum_{t=s}^{e-1} max_k log p_t(k)  -  log p_viterbi(c | x_{s:e}) ) / |c|_units

the gap between the best frame path (no spelling can score more) and the best path that spells ``c``,
shared out over its units. The candidate with the highest Viterbi score among those with cost at most
``max_cost`` (``--hotword-check``, nats per unit; 0 = off) replaces the run. This is the comparison of
the CTC-based word spotter of Andrusenko et al., 2024 ("Fast Context-Biasing for CTC and Transducer ASR
models with CTC-based Word Spotter", Interspeech; a hotword's CTC score against the greedy path's over the
same frames), applied only to the output's unknown words, so it can neither split nor replace a real word.
The Viterbi passes run in the compiled core, all candidates of a run in one call
(:func:`decoders.ctc_alignment.ctc_viterbi_scores`).

The same comparison in the other direction, ``reject_cost`` (``--hotword-reject``, nats per unit; 0 = off):
a run of output words that spells a hotword (a phrase or an alias, as the search wrote it) costs

    cost(h) = ( sum_{t=s}^{e-1} max_k log p_t(k)  -  log p_viterbi(h | x_{s:e}) ) / |h|_units

over its frames; above ``reject_cost`` the context graph's bonus, not the audio, put it there, and when the
best frame path over those frames reads as words of ``known_words`` (its units collapsed and detokenised:
``glad`` where the search wrote the distractor ``gad``) that reading replaces it. A best path that is not
made of real words (a garbled unseen name) leaves the hotword alone. This is the false-alarm side of the
word spotter's score: Andrusenko et al. keep a spotted word only when its CTC score is close enough to the
greedy path's over the same frames.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from asrkit.inference.hotword_fuzzy import normalized_word
from asrkit.inference.hotwords import Hotword, SpellingIndex, spelling_words
from asrkit.inference.nearest_spellings import nearest_spellings
from decoders.ctc_alignment import ctc_forced_align, viterbi_scorer

_MAX_WORDS = 2  # longest run of output words one hotword may replace (a name split in two: "ma dlean"; 3
# gave the same dev WER and recall, egs/bible RESULTS)
_LOOSE = 0.6  # letter distance of the candidates that are scored at all (the emissions decide, not the letters)
_CANDIDATES = 20  # nearest spellings scored per run
_MEMO_SIZE = 100_000  # remembered spellings and candidate lists (garbled words recur; a server must not grow
# without bound)


class _NormalisedWords(dict):
    """Output word -> :func:`normalized_word` of it, remembered (read with one C-level map over a text's words);
    at most ``_MEMO_SIZE`` words are kept."""

    def __missing__(self, word: str) -> str:
        norm = normalized_word(word)
        if len(self) < _MEMO_SIZE:
            self[word] = norm
        return norm


class CtcHotwordCheck:
    """``CtcHotwordCheck(hotwords, known_words, tokenizer, max_cost)(text, log_probs) -> text`` (module doc).

    ``tokenizer``: the CTC model's units (``encode(text) -> ids`` and ``blank_id``); ``log_probs``: the (T, V)
    log-probabilities the text was decoded from."""

    def __init__(self, hotwords: Sequence[Hotword], known_words: set[str], tokenizer: Any, max_cost: float,
                 reject_cost: float = 0.0):
        self.known = known_words
        self.tokenizer = tokenizer
        self.blank = int(tokenizer.blank_id)
        self.max_cost = float(max_cost)
        self.reject_cost = float(reject_cost)
        self.target: dict[str, str] = {}  # spelling (phrase or alias) -> the phrase as the file writes it
        for h in hotwords:
            for spelling in (h.phrase, *h.aliases):
                self.target.setdefault(spelling, h.display or h.phrase)
        self.keys = list(self.target)
        self.letters = [k.replace(" ", "") for k in self.keys]
        self.skip = spelling_words(hotwords)
        self._index = SpellingIndex(self.keys)
        self._norm = _NormalisedWords()
        self._units: dict[str, list[int]] = {}
        self._nearest: dict[str, list[int]] = {}
        # Each spelling's units, once ([] when the units cannot spell it: never a candidate).
        self._key_units = [u if u and min(u) >= 0 else [] for u in (list(tokenizer.encode(k)) for k in self.keys)]
        self._scores = viterbi_scorer()

    def __bool__(self) -> bool:
        return (self.max_cost > 0 or self.reject_cost > 0) and bool(self.keys)

    def _spell(self, text: str) -> list[int]:
        units = self._units.get(text)
        if units is None:
            units = list(self.tokenizer.encode(text))
            if len(self._units) < _MEMO_SIZE:
                self._units[text] = units
        return units

    def prepare(self, texts: Sequence[str]) -> None:
        """Look up the nearest spellings of the unknown-word runs of all ``texts`` at once (remembered; the
        answers are those of one look-up per run, :mod:`asrkit.inference.nearest_spellings`): call it with a
        batch's outputs before checking them one by one."""
        if not self or self.max_cost <= 0:
            return
        todo = {letters for text in texts for letters in self._run_letters(*self._unknown(text.split()))}
        todo = sorted(k for k in todo if k not in self._nearest and len(k) >= 3)
        room = _MEMO_SIZE - len(self._nearest)
        for letters, found in zip(todo[:room], nearest_spellings(todo[:room], self.letters, _LOOSE, _CANDIDATES)):
            self._nearest[letters] = found

    def _unknown(self, words: Sequence[str]) -> tuple[list[str], list[bool]]:
        """The words normalised, and which of them the check may replace (module doc)."""
        norm = list(map(self._norm.__getitem__, words))
        unknown = [False] * len(words)
        if self.max_cost > 0:
            # The unknown words by set differences (most output words are known), then their places.
            odd = {w for w in set(norm).difference(self.known).difference(self.skip) if w.isalpha()}
            unknown = list(map(odd.__contains__, norm)) if odd else unknown
        return norm, unknown

    @staticmethod
    def _run_letters(norm: Sequence[str], unknown: Sequence[bool]) -> list[str]:
        """The letters of every run of 1 .. _MAX_WORDS unknown words (the runs the check may replace)."""
        return ["".join(norm[i: i + n]) for i in range(len(norm)) if unknown[i]
                for n in range(1, min(_MAX_WORDS, len(norm) - i) + 1) if all(unknown[i: i + n])]

    def __call__(self, text: str, log_probs: torch.Tensor | np.ndarray) -> str:
        if not self:
            return text
        words = text.split()
        norm, unknown = self._unknown(words)
        spelled = self._spelled_runs(norm) if self.reject_cost > 0 else {}
        # Nothing to align when no hotword was written and no run of unknown words has a spelling near it (the
        # lists are remembered).
        if not spelled and not any(map(self._candidates, self._run_letters(norm, unknown))):
            return text
        lp = log_probs.detach().float().cpu().numpy() if isinstance(log_probs, torch.Tensor) else log_probs
        lp = np.ascontiguousarray(lp, dtype=np.float32)
        units, bounds = self._word_units(words)
        if units and min(units) < 0:  # a character the units cannot spell (punctuation of a token list)
            return text
        spans = ctc_forced_align(lp, units, self.blank)
        if spans is None:
            return text
        out: list[str] = []
        i = 0
        while i < len(words):
            if i in spelled:  # a hotword the search wrote: kept, or replaced by the real words the audio reads
                n = spelled[i]
                out.append(self._reject(lp, spans, units, bounds, i, n) or " ".join(words[i: i + n]))
                i += n
                continue
            if not unknown[i]:
                out.append(words[i])
                i += 1
                continue
            hit = None
            for n in range(min(_MAX_WORDS, len(words) - i), 0, -1):
                if all(unknown[i: i + n]):
                    hit = self._check(lp, spans, units, bounds, words, norm, i, n)
                    if hit:
                        break
            if hit:
                out.append(hit)
                i += n
            else:
                out.append(words[i])
                i += 1
        return " ".join(out)

    def _spelled_runs(self, norm: Sequence[str]) -> dict[int, int]:
        """Where the output spells a hotword (phrase or alias): start word -> number of words (longest first,
        not overlapping)."""
        runs: dict[int, int] = {}
        if not self._index.may_hold(norm):
            return runs
        i = 0
        while i < len(norm):
            if norm[i] not in self._index.first_words:
                i += 1
                continue
            for n in range(min(self._index.longest, len(norm) - i), 0, -1):
                if " ".join(norm[i: i + n]) in self.target:
                    runs[i] = n
                    i += n
                    break
            else:
                i += 1
        return runs

    def _frames(self, lp: np.ndarray, spans: list[tuple[int, int]], u0: int, u1: int) -> tuple[int, int]:
        """The frames of units [u0, u1) of the aligned output, with the blanks up to the neighbouring units."""
        start = spans[u0 - 1][1] if u0 > 0 else 0
        end = spans[u1][0] if u1 < len(spans) else lp.shape[0]
        return start, end

    def _reject(self, lp: np.ndarray, spans: list[tuple[int, int]], units: list[int], bounds: list[int],
                i: int, n: int) -> str | None:
        """The real words that replace the hotword written as words[i:i+n], or None (it stays)."""
        u0, u1 = bounds[i], bounds[i + n]
        start, end = self._frames(lp, spans, u0, u1)
        if u0 >= u1 or end <= start:
            return None
        frames = lp[start:end]
        ceiling = float(frames.max(axis=1).sum(dtype=np.float64))
        score = float(self._scores(frames, [units[u0:u1]], self.blank)[0])
        if (ceiling - score) / (u1 - u0) <= self.reject_cost:
            return None
        # The best frame path's reading (only for a hotword that goes): repeats merged, blanks dropped.
        best = frames.argmax(axis=1)
        path = [int(k) for j, k in enumerate(best) if k != self.blank and (j == 0 or k != best[j - 1])]
        reading = [normalized_word(w) for w in self.tokenizer.decode(path).split()]
        if not reading or not all(w in self.known for w in reading):
            return None
        return " ".join(reading)

    def _word_units(self, words: Sequence[str]) -> tuple[list[int], list[int]]:
        """The units of the whole text and where each word's units start (plus the end). Sentencepiece
        spells each word on its own, so the words' own spellings are used when they add up to the text's;
        otherwise (a character vocabulary's word delimiter goes with the word after it) the differences of the
        encoded prefixes."""
        units = list(self.tokenizer.encode(" ".join(words)))
        each = [self._spell(w) for w in words]
        bounds = _bounds_in(units, each)
        if bounds is not None:
            return units, bounds
        prefix = [len(self.tokenizer.encode(" ".join(words[: k + 1]))) for k in range(len(words))]
        return units, [0] + prefix

    def _candidates(self, letters: str) -> list[int]:
        """Indices of the ``_CANDIDATES`` spellings nearest to ``letters`` (within ``_LOOSE``), remembered; none
        for fewer than 3 letters."""
        found = self._nearest.get(letters)
        if found is not None:
            return found
        if len(letters) < 3:
            return []
        found = nearest_spellings([letters], self.letters, _LOOSE, _CANDIDATES)[0]
        if len(self._nearest) < _MEMO_SIZE:
            self._nearest[letters] = found
        return found

    def _check(self, lp: np.ndarray, spans: list[tuple[int, int]], units: list[int],
               bounds: list[int], words: list[str], norm: list[str], i: int, n: int) -> str | None:
        """The hotword that replaces words[i:i+n], or None."""
        cands = [k for k in self._candidates("".join(norm[i: i + n])) if self._key_units[k]]
        u0, u1 = bounds[i], bounds[i + n]
        if not cands or u0 >= u1:
            return None
        start, end = self._frames(lp, spans, u0, u1)
        if end <= start:
            return None
        # A character vocabulary puts the word delimiter before the run's letters: candidates get it too.
        own, plain = units[u0:u1], self._spell(" ".join(words[i: i + n]))
        lead = own[: len(own) - len(plain)] if len(own) > len(plain) and own[len(own) - len(plain):] == plain else []
        # The best frame path over the run's frames only (not a prefix sum over the whole utterance: most
        # utterances check one short run).
        ceiling = float(lp[start:end].max(axis=1).sum(dtype=np.float64))
        spellings = [lead + self._key_units[k] for k in cands] if lead else [self._key_units[k] for k in cands]
        scores = self._scores(lp[start:end], spellings, self.blank)
        best, best_score = None, -np.inf
        for k, spelled, score in zip(cands, spellings, scores):
            # A spelling longer than the frames scores -inf (cannot be spelled there) and is never chosen.
            if (ceiling - score) / len(spelled) <= self.max_cost and score > best_score:
                best, best_score = self.target[self.keys[k]], score
        return best


def _bounds_in(units: list[int], each: Sequence[list[int]]) -> list[int] | None:
    """Where each word's units start in ``units`` (the text's), plus the end, when ``units`` is the words'
    own spellings in order with at most one unit between neighbours (a character vocabulary's word delimiter,
    counted with the word after it, as the encoded prefixes count it); None otherwise. One pass: the encoded
    prefixes of every word would cost time quadratic in the words (they were most of the check's time on a
    character model)."""
    bounds, pos = [0], 0
    for k, spelled in enumerate(each):
        n = len(spelled)
        for gap in ((0, 1) if k else (0,)):
            if units[pos + gap: pos + gap + n] == spelled:
                break
        else:
            return None
        pos += gap + n
        bounds.append(pos)
    return bounds if pos == len(units) else None
