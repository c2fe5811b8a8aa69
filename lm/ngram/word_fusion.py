"""A word-level n-gram LM seen through the acoustic model's BPE units, so word LMs join token searches.

A BPE search grows hypotheses one sentencepiece piece at a time, but a word LM can only score whole
words. As pyctcdecode does for CTC, a word is scored when it is *complete*: when the next piece starts a
new word (its text starts with ``▁``) or when the hypothesis ends. For a hypothesis whose pieces spell
words ``w_1 .. w_n`` and an unfinished word ``u``, the LM score a search has accumulated is

    log p_LM(w_1 .. w_n) = sum_i log p(w_i | w_{i-n+1} .. w_{i-1})        (u is not scored yet)

and the final score adds ``log p(u | ...) + log p(</s> | ... u)``. Pieces inside a word score 0, so the
score of a prefix is the same whatever BPE spelling reaches it.

Out-of-vocabulary words: KenLM scores any unknown word as ``<unk>``. Besides that, a partial word
that stops being the prefix of any LM word gets ``oov_penalty`` (natural log, once, at the piece that
leaves the vocabulary) so that the beam drops impossible spellings early rather than at the word end
(pyctcdecode's ``unk_score_offset`` plays the same role). ``extra_words`` (the words of the hotword phrases
and their aliases, when a search has hotwords) count as vocabulary for that penalty: a listed name the LM has
never seen is not pushed out of the beam while it is being spelled, and is scored as ``<unk>`` when complete,
like any word the LM lacks. Without this the LM fights the context graph over exactly the words the user
listed (egs/bible RESULTS "Hotwords": +4-15 points of name recall with shallow fusion at an equal or lower WER).

State of one hypothesis: ``(kenlm_state, partial)`` with ``partial`` the text of the unfinished word.

Two kinds of tokenizer: sentencepiece (the CTC models' BPE; a word starts at a ``▁`` piece, pieces are
already normalised text) and byte-level BPE of LLMs (a word starts at a token whose text starts with a
space; the first word of an answer has none). LLM tokens carry case and punctuation, so for them a
word is passed through :func:`asrkit.text.normalize_text` before the LM sees it (a token of pure
punctuation then adds no word); special tokens add nothing.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from asrkit.text import normalize_text
from asrkit.tokenizer import WORD_START, Tokenizer
from lm.ngram.kenlm_lm import BLANK_LOGPROB, LN10, KenLM

_OOV_MARK = "\x00"  # appended to a partial word that contains <unk>: no vocabulary word has it


class TokenizedWordLM:
    """``word_lm`` (a word-level :class:`KenLM`) as a token-level :class:`lm.interface.LanguageModel`."""

    unit = "token"

    def __init__(self, word_lm: KenLM, tokenizer: Tokenizer, oov_penalty: float = -10.0,
                 extra_words: Sequence[str] = ()):
        if word_lm.unit != "word":
            raise ValueError(f"{word_lm.path}: TokenizedWordLM wraps a word-level LM, got unit {word_lm.unit!r}")
        self.word_lm = word_lm
        self.tokenizer = tokenizer
        self.path = word_lm.path
        self.order = word_lm.order  # in words: LODR refuses a source above order 2 through this wrapper too
        self.oov_penalty = oov_penalty
        self._pieces = tokenizer.pieces()
        self._normalize = not any(p.startswith(WORD_START) for p in self._pieces)  # byte-level LLM tokens
        if self._normalize:
            decoded = [tokenizer.decode([i]) for i in range(len(self._pieces))]
            self._starts = [t.startswith(" ") for t in decoded]
            # A token that is part of a multi-byte character decodes to U+FFFD alone: no LM word has it.
            self._text = [(t[1:] if s else t).replace("\ufffd", _OOV_MARK) for t, s in zip(decoded, self._starts)]
        else:
            self._starts = [p.startswith(WORD_START) for p in self._pieces]
            # Text each piece adds to the current word; <unk> makes the word unknown.
            self._text = [p[1:] if s else p for p, s in zip(self._pieces, self._starts)]
        self._unk = getattr(tokenizer, "unk_id", 1)
        if self._unk is not None:
            self._text[self._unk] = _OOV_MARK
        self._blank = getattr(tokenizer, "blank_id", None)  # a CTC tokenizer's blank; LLM tokenizers have none
        # Sorted and without the LM's own words: one list, whatever order the hotwords came in (the native
        # scorer is keyed by it).
        lm_words = [w for w in word_lm.vocab if w != "<unk>"]
        self.extra_words = tuple(sorted(set(extra_words).difference(lm_words)))
        # The words whose spellings pay no OOV penalty (the compiled twin is given the same list).
        self.known_words = lm_words + list(self.extra_words)
        self._prefixes = {w[:i] for w in self.known_words for i in range(len(w) + 1)}
        self._kenlm = word_lm._kenlm
        self._model = word_lm.model
        self._word_cache: dict = {}

    @property
    def vocab(self) -> list[str]:
        return self._pieces

    def _word(self, kstate, word: str) -> tuple[float, object]:
        """(ln p(word | kstate), state after word), cached: many hypotheses share histories.

        With LLM tokens the text is normalised first and may hold zero or several LM words."""
        key = (kstate, word)
        hit = self._word_cache.get(key)
        if hit is None:
            words = normalize_text(word).split() if self._normalize and word != "</s>" else [word]
            total, state = 0.0, kstate
            for w in words:
                child = self._kenlm.State()
                # A word holding the OOV mark is unknown. (The kenlm module passes the word as a C string,
                # which would end at the mark and score the letters before it as a word.)
                total += self._model.BaseScore(state, "<unk>" if _OOV_MARK in w else w, child) * LN10
                state = child
            hit = (total, state)
            if len(self._word_cache) > 500_000:
                self._word_cache.clear()
            self._word_cache[key] = hit
        return hit

    def _known_prefix(self, partial: str) -> bool:
        if _OOV_MARK in partial:
            return False
        if self._normalize:
            partial = normalize_text(partial).replace(" ", "")
        return partial in self._prefixes

    def init_state(self, batch: int) -> list:
        state = self._kenlm.State()
        self._model.BeginSentenceWrite(state)
        return [(state, "")] * batch

    def _score_one(self, kstate, partial: str, unit: int) -> float:
        if unit == self._blank:
            return BLANK_LOGPROB
        text = self._text[unit]
        if self._starts[unit]:
            score = self._word(kstate, partial)[0] if partial else 0.0
            return score + (0.0 if self._known_prefix(text) else self.oov_penalty)
        new = partial + text
        if self._known_prefix(partial) and not self._known_prefix(new):
            return self.oov_penalty
        return 0.0

    def score(self, state: list, candidates: torch.Tensor | None = None) -> torch.Tensor:
        """ln p increment for each candidate piece, (B, K); or (B, V) over all pieces when ``candidates`` is None."""
        if candidates is None:
            candidates = torch.arange(len(self._pieces)).expand(len(state), -1)
        out = [[self._score_one(k, p, u) for u in row] for (k, p), row in zip(state, candidates.tolist())]
        return torch.tensor(out, dtype=torch.float32).reshape(candidates.shape)

    def advance(self, state: list, parents: torch.Tensor, units: torch.Tensor) -> list:
        out = []
        for p, u in zip(parents.tolist(), units.tolist()):
            kstate, partial = state[p]
            if u == self._blank:
                out.append(state[p])
            elif self._starts[u]:
                nk = self._word(kstate, partial)[1] if partial else kstate
                out.append((nk, self._text[u]))
            else:
                out.append((kstate, partial + self._text[u]))
        return out

    def final_score(self, state: list) -> torch.Tensor:
        """ln p(unfinished word | history) + ln p(</s> | history, word), shape (B,)."""
        out = []
        for kstate, partial in state:
            score = 0.0
            if partial:
                score, kstate = self._word(kstate, partial)
            out.append(score + self._word(kstate, "</s>")[0])
        return torch.tensor(out, dtype=torch.float32)

    def select_states(self, state: list, rows: torch.Tensor) -> list:
        return [state[i] for i in rows.tolist()]

    def concat_states(self, states: Sequence[list]) -> list:
        return [s for batch in states for s in batch]

    def score_sentences(self, sentences: Sequence[Sequence[int]]) -> torch.Tensor:
        """ln p(words </s>) of each piece sequence, its words read off the ``▁`` marks."""
        texts = [self.tokenizer.decode(list(s)) for s in sentences]
        return self.word_lm.score_sentences([self.word_lm.encode_text(t) for t in texts])

    def encode_text(self, text: str) -> list[int]:
        return self.tokenizer.encode(text)

    def __repr__(self) -> str:
        extra = f", {len(self.extra_words)} extra words" if self.extra_words else ""
        return f"TokenizedWordLM({self.word_lm!r}, oov_penalty={self.oov_penalty}{extra})"


def as_token_lm(lm, tokenizer: Tokenizer, oov_penalty: float = -10.0, extra_words: Sequence[str] = ()):
    """``lm`` if it already scores the acoustic units, else a word LM wrapped to do so (``extra_words``: words
    spared the OOV penalty, :class:`TokenizedWordLM`)."""
    if lm.unit == "word":
        return TokenizedWordLM(lm, tokenizer, oov_penalty, extra_words)
    return lm
