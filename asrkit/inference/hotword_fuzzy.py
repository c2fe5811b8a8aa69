"""Fuzzy hotword correction: an unknown word of the output that is close in spelling to a hotword becomes it.

Even with aliases (:mod:`asrkit.inference.hotword_aliases`), a model spells an unseen name a little
differently in each utterance (Magdalene as ``mdlen``, ``delean``, ``magdleen``), and the context graph only
lifts exact spellings. After the search, each output word that is

- not a word of ``known_words`` (``--known-words``: e.g. the LM's vocabulary; a real word is never replaced),
- not already a hotword, a word of a hotword phrase (``magdalene`` in "Mary Magdalene", which the alias
  rewrite may just have written) or an alias, and of at least 3 letters,

is replaced by the hotword whose one-word spelling or alias is nearest by normalised Levenshtein distance
(edits / length of the longer string), when that distance is at most ``max_distance``
(``--hotword-fuzzy``, 0 = off); ties go to the phrase listed first. This is the edit-distance matching of a
biasing list that contextual spelling correction uses, restricted to out-of-vocabulary words so that it
cannot turn a common word into a name. Multi-word phrases are matched through their one-word aliases only.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from asrkit.inference.hotwords import Hotword, phrase_words
from asrkit.inference.nearest_spellings import nearest_spellings
from asrkit.text import normalize_text

_WORD = re.compile(r"[^\W\d_][\w'’]*")
_MEMO_SIZE = 100_000  # remembered words per FuzzyHotwords (a long-running server must not grow without bound)


def normalized_word(word: str) -> str:
    """``normalize_text`` of one output word; lower-case ASCII letters (most CTC output) are already
    normalised, so they skip the Unicode rules (both post-search steps run on every output word)."""
    return word if word.isascii() and word.isalpha() and word.islower() else normalize_text(word)


class FuzzyHotwords:
    """``FuzzyHotwords(hotwords, known_words, max_distance)(text) -> text`` (see the module docstring)."""

    def __init__(self, hotwords: Sequence[Hotword], known_words: set[str], max_distance: float):
        self.known = known_words
        self.max_distance = float(max_distance)
        self.target: dict[str, str] = {}  # one-word spelling -> the phrase as the file writes it
        for h in hotwords:
            for spelling in (h.phrase, *h.aliases):
                if " " not in spelling:
                    self.target.setdefault(spelling, h.display or h.phrase)
        self.keys = list(self.target)
        self.phrase_words = phrase_words(hotwords)
        # The correction runs on every output word: an answer is remembered per word (garbled spellings recur),
        # and prepare() looks up a batch's new words together.
        self._memo: dict[str, str | None] = {}

    def __bool__(self) -> bool:
        return self.max_distance > 0 and bool(self.keys)

    def _looked_up(self, word: str) -> bool:
        """Whether ``word`` (normalised) is compared with the spellings at all."""
        return not (len(word) < 3 or word in self.known or word in self.target or word in self.phrase_words)

    def _unsettled(self, words: set[str]) -> set[str]:
        """The output words of ``words`` the correction may change: most output words are known words,
        hotwords or words of a phrase (set differences in C). A word of those sets is normalised text already,
        and normalising is idempotent, so it is one that the correction leaves alone. (One set argument per
        call: with several, CPython walks each argument, here the whole vocabulary.)"""
        return words.difference(self.known).difference(self.target).difference(self.phrase_words)

    def prepare(self, texts: Sequence[str]) -> None:
        """Look up the words of all ``texts`` that need it at once (:mod:`asrkit.inference.nearest_spellings`;
        the same answers as one look-up per word, remembered): call it with a batch's outputs before
        correcting them one by one."""
        if not self:
            return
        raw: set[str] = set()
        for text in texts:
            raw.update(_WORD.findall(text))
        words = {normalized_word(w) for w in self._unsettled(raw)}
        todo = sorted(w for w in words if w not in self._memo and " " not in w and self._looked_up(w))
        todo = todo[: _MEMO_SIZE - len(self._memo)]
        self._memo.update(zip(todo, self._answers(todo)))

    def _answers(self, words: list[str]) -> list[str | None]:
        """The phrase each of ``words`` (normalised, looked up) is corrected to, or None."""
        return [self.target[self.keys[hit[0]]] if hit else None
                for hit in nearest_spellings(words, self.keys, self.max_distance, 1)]

    def nearest(self, word: str) -> str | None:
        """The phrase ``word`` (normalised) is corrected to, or None."""
        if not self or not self._looked_up(word):
            return None
        if word in self._memo:
            return self._memo[word]
        answer = self._answers([word])[0]
        if len(self._memo) < _MEMO_SIZE:
            self._memo[word] = answer
        return answer

    def __call__(self, text: str) -> str:
        if not self:
            return text
        # The rest are mostly garbled words met before, whose answer is remembered: a text none of whose words
        # changes is returned before the per-word substitution.
        fix = {}
        for word in self._unsettled(set(_WORD.findall(text))):
            phrase = self._correction(word)
            if phrase is not None:
                fix[word] = phrase
        if not fix:
            return text
        return _WORD.sub(lambda m: fix.get(m.group(0), m.group(0)), text)

    def _correction(self, word: str) -> str | None:
        """The phrase that replaces the output word ``word``, or None."""
        norm = normalized_word(word)
        return self.nearest(norm) if norm and " " not in norm else None
