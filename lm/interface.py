"""The one interface every language model implements, so any LM can join a beam search with a weight.

Modelled on ESPnet's scorer interface: a search keeps one opaque, batched ``state`` per set of
hypotheses and calls six methods:

- ``init_state(batch)``: states for ``batch`` empty prefixes (after ``<s>``);
- ``score(state, candidates=None)``: natural-log probabilities of the next unit, either over the
  whole vocabulary, shape (B, V), or only for given candidate ids, shape (B, K), because scoring a
  150k-unit LLM vocabulary at every step is too slow and CTC pre-beam pruning only needs a few;
- ``advance(state, parents, units)``: the states of new hypotheses, each ``parents[i]`` (a row of
  ``state``) extended by ``units[i]``. States are carried, never recomputed from the prefix;
- ``final_score(state)``: log p(``</s>`` | prefix), shape (B,);
- ``select_states(state, rows)`` / ``concat_states(states)``: regroup rows, so a CTC prefix search
  can keep some prefixes and extend others (rows of one batch may hold prefixes of different lengths).

The CTC blank (unit 0 of token LMs) is not text and never extends a prefix, but the CTC prefix search
may still ask its score: a frame's candidate units can include it, and the batched call pads a row with
fewer candidates with it. LMs give it a very low value (KenLM: -1e10; neural LMs: -inf), and the search
never uses those columns.

Two more methods serve whole sentences: ``score_sentences`` (n-best rescoring, perplexity) and
``encode_text``; with ``unit`` and ``vocab`` that makes the nine members of the protocol below.

All scores are natural logs (KenLM's log10 values are converted). ``unit`` says whether the LM's
units are the acoustic model's BPE tokens (``"token"``) or words (``"word"``); ``vocab`` lists the
unit strings, index = unit id. ``score_sentences`` gives whole-sentence log-probabilities, and
``encode_text`` maps text to the LM's units.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

import torch

State = Any


@runtime_checkable
class LanguageModel(Protocol):
    unit: str  # "token" or "word"

    @property
    def vocab(self) -> Sequence[str]: ...

    def init_state(self, batch: int) -> State: ...

    def score(self, state: State, candidates: torch.Tensor | None = None) -> torch.Tensor: ...

    def advance(self, state: State, parents: torch.Tensor, units: torch.Tensor) -> State: ...

    def final_score(self, state: State) -> torch.Tensor: ...

    def select_states(self, state: State, rows: torch.Tensor) -> State: ...

    def concat_states(self, states: Sequence[State]) -> State: ...

    def score_sentences(self, sentences: Sequence[Sequence[int]]) -> torch.Tensor:
        """log p(w_1..w_n </s> | <s>) per sentence of unit ids, shape (N,)."""
        ...

    def encode_text(self, text: str) -> list[int]:
        """Normalised text (asrkit.text.normalize_text) -> unit ids, unknown units mapped to the LM's unk."""
        ...
