"""Length bonuses as scorers, so a tuned bonus means the same thing in every method and on every head.

ESPnet's ``LengthBonus`` idea: a bonus is a scorer like any LM, joined to the search's scorer list with a
weight. Two kinds:

- :class:`UnitBonus` scores 1 for every unit a hypothesis grows by, so with weight ``beta`` a hypothesis
  gains ``beta |y|_units`` (the insertion bonus of CTC prefix search, Hannun et al., 2014; ESPnet's
  ``LengthBonus``).
- :class:`WordBonus` scores 1 per *completed* word, so with weight ``beta`` a hypothesis gains
  ``beta |y|_words`` (pyctcdecode's ``beta``; the word insertion bonus of Kaldi/flashlight lexicon
  decoders). A word is completed when the next word starts or the hypothesis ends, the same rule as the
  word LM of :mod:`lm.ngram.word_fusion`, so the bonus and a word LM's score arrive together.

Word boundaries come from the unit strings: a sentencepiece piece that starts with ``▁`` starts a word;
for byte-level LLM tokens (no ``▁`` anywhere) a token whose text starts with a space does, and a token
that holds no letter or digit (punctuation, special tokens) neither starts nor continues a word.

State of one hypothesis (WordBonus): whether it is inside an unfinished word; a bool tensor (B,).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch

from asrkit.tokenizer.spm import WORD_START


class UnitBonus:
    """``+1`` per unit (weight = insertion bonus). Implements :class:`lm.interface.LanguageModel`."""

    unit = "token"
    kind = "unit_bonus"

    def __init__(self, vocab: Sequence[str]):
        self._vocab = list(vocab)

    @property
    def vocab(self) -> list[str]:
        return self._vocab

    def init_state(self, batch: int) -> torch.Tensor:
        return torch.zeros(batch, dtype=torch.bool)

    def score(self, state: torch.Tensor, candidates: torch.Tensor | None = None) -> torch.Tensor:
        shape = (len(state), len(self._vocab)) if candidates is None else tuple(candidates.shape)
        return torch.ones(shape, dtype=torch.float32)

    def advance(self, state: torch.Tensor, parents: torch.Tensor, units: torch.Tensor) -> torch.Tensor:
        return state[parents]

    def final_score(self, state: torch.Tensor) -> torch.Tensor:
        return torch.zeros(len(state), dtype=torch.float32)

    def select_states(self, state: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
        return state[rows]

    def concat_states(self, states: Sequence[torch.Tensor]) -> torch.Tensor:
        return torch.cat(list(states))

    def score_sentences(self, sentences: Sequence[Sequence[int]]) -> torch.Tensor:
        return torch.tensor([float(len(s)) for s in sentences], dtype=torch.float32)

    def encode_text(self, text: str) -> list[int]:
        raise NotImplementedError("a unit bonus counts the units of the search; it cannot re-encode text")

    def __repr__(self) -> str:
        return "UnitBonus()"


def word_boundaries(vocab: Sequence[str],
                    decode_one: Callable[[int], str] | None = None) -> tuple[list[bool], list[bool]]:
    """Per unit: (starts a new word, belongs to a word). ``decode_one`` maps a byte-level token id to its
    text (needed for LLM tokenizers, whose vocab strings are byte-mapped); sentencepiece vocabs need none."""
    if any(p.startswith(WORD_START) for p in vocab):
        starts = [p.startswith(WORD_START) for p in vocab]
        wordish = [any(ch.isalnum() for ch in p) or p.startswith(WORD_START) for p in vocab]
        return starts, wordish
    texts = [decode_one(i) for i in range(len(vocab))] if decode_one else list(vocab)
    wordish = [any(ch.isalnum() for ch in t) for t in texts]
    starts = [w and t.startswith(" ") for t, w in zip(texts, wordish)]
    return starts, wordish


class WordBonus:
    """``+1`` per completed word (weight = word bonus). Implements :class:`lm.interface.LanguageModel`."""

    unit = "token"
    kind = "word_bonus"

    def __init__(self, vocab: Sequence[str], decode_one: Callable[[int], str] | None = None):
        self._vocab = list(vocab)
        starts, wordish = word_boundaries(self._vocab, decode_one)
        self.starts = torch.tensor(starts, dtype=torch.bool)
        self.wordish = torch.tensor(wordish, dtype=torch.bool)

    @property
    def vocab(self) -> list[str]:
        return self._vocab

    def init_state(self, batch: int) -> torch.Tensor:
        return torch.zeros(batch, dtype=torch.bool)

    def score(self, state: torch.Tensor, candidates: torch.Tensor | None = None) -> torch.Tensor:
        """1 where the candidate starts a word while the hypothesis is inside one (that word completes)."""
        if candidates is None:
            candidates = torch.arange(len(self._vocab)).expand(len(state), -1)
        return (self.starts[candidates] & state[:, None]).float()

    def advance(self, state: torch.Tensor, parents: torch.Tensor, units: torch.Tensor) -> torch.Tensor:
        # A word unit puts the hypothesis inside a word; anything else (punctuation, specials) keeps the state.
        return torch.where(self.wordish[units], torch.ones_like(units, dtype=torch.bool), state[parents])

    def final_score(self, state: torch.Tensor) -> torch.Tensor:
        """The unfinished word completes at the end."""
        return state.float()

    def select_states(self, state: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
        return state[rows]

    def concat_states(self, states: Sequence[torch.Tensor]) -> torch.Tensor:
        return torch.cat(list(states))

    def score_sentences(self, sentences: Sequence[Sequence[int]]) -> torch.Tensor:
        out = []
        for s in sentences:
            n, inside = 0, False
            for u in s:
                if self.starts[u] and inside:
                    n += 1
                if self.wordish[u]:
                    inside = True
            out.append(float(n + inside))
        return torch.tensor(out, dtype=torch.float32)

    def encode_text(self, text: str) -> list[int]:
        raise NotImplementedError("a word bonus counts the units of the search; it cannot re-encode text")

    def __repr__(self) -> str:
        return "WordBonus()"
