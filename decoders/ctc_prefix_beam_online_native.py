"""The online CTC prefix beam search in the compiled core: :class:`CTCPrefixBeamOnlineNative` has the interface
of :class:`decoders.ctc_prefix_beam_online.CTCPrefixBeamOnline` (its Python reference) and returns the same
n-best (same units; scores equal up to float rounding of callback LMs' arrays).

The core's search (decoders/csrc/search.cc) is made over zero frames of one utterance; each ``advance``
appends the new frames (``PrefixSearch::AppendFrames``) and expands them in order, so feeding an utterance's
emissions in any chunking gives the one-shot result (same update, same ties). Native scorers (token and word
n-grams, bonuses, hotwords) run inside the core; any other LanguageModel is called back once per frame as in
:mod:`decoders.ctc_prefix_beam_native`. Every ``compact_every`` new trie nodes the trie is rebuilt with the
live prefixes and their ancestors only (``PrefixSearch::Compact``), so a long stream holds bounded memory.

Importing this module fails with ImportError when the extension is not built; make searches through
:func:`decoders.ctc_prefix_beam.new_online_search`, which then falls back to the Python reference.
"""

from __future__ import annotations

import numpy as np
import torch

from decoders import _ctc_core as core
from decoders.ctc_prefix_beam_native import _numpy, native_scorer
from decoders.ctc_prefix_beam_online import CTCPrefixBeamOnline, OnlineSearchOptions
from decoders.hypothesis import Hypothesis
from decoders.scorer import WeightedScorer


class CTCPrefixBeamOnlineNative(OnlineSearchOptions):
    """One utterance's compiled prefix search, fed frames as they come: ``advance(log_probs)`` any number of
    times, ``partial()`` for the best hypothesis so far, ``finish()`` once for the final n-best."""

    def __init__(self, beam: int = 8, scorers: list[WeightedScorer] | None = None, **options):
        super().__init__(beam, scorers, **options)
        self.natives = [native_scorer(s.lm) for s in self.scorers]
        self.callbacks = [s.lm for s, nat in zip(self.scorers, self.natives) if nat is None]
        self.states = [lm.init_state(1) for lm in self.callbacks]
        self.search = None  # made at the first frames: the core needs the vocabulary size
        self.vocab: int | None = None
        self._compacted_at = 0

    @property
    def frames(self) -> int:
        return 0 if self.search is None else self.search.frames

    def _start(self, vocab: int) -> None:
        for s, nat in zip(self.scorers, self.natives):
            if nat is not None and len(s.lm.vocab) < vocab:
                raise ValueError(f"{s.lm!r}: scores {len(s.lm.vocab)} units, the emissions have {vocab}")
        self.vocab = vocab
        self.search = core.PrefixSearch(np.zeros((1, 0, vocab), np.float32), np.zeros(1, np.int64),
                                        min(self.prune_topk, vocab), self.beam, self.blank_id, self.beam,
                                        self.token_min_logp, self.beam_prune_logp, False, self.natives,
                                        [float(s.weight) for s in self.scorers], int(self.hotword_beam))

    def advance(self, log_probs: torch.Tensor) -> None:
        """log_probs: (T, V) CTC log-probabilities of the next T frames (T may be 0)."""
        if self.finished:
            raise RuntimeError("advance() after finish()")
        lp = log_probs.detach().to("cpu", torch.float32)
        if lp.dim() != 2:
            raise ValueError(f"log_probs must be (T, V), got shape {tuple(lp.shape)}")
        if lp.size(0) == 0:
            return
        if self.search is None:
            self._start(lp.size(1))
        elif lp.size(1) != self.vocab:
            raise ValueError(f"log_probs have {lp.size(1)} units, earlier frames had {self.vocab}")
        t0 = self.search.frames
        self.search.append(lp.contiguous().numpy())
        if not self.callbacks:
            self.search.run_from(t0)
        else:
            for t in range(t0, self.search.frames):
                self._frame_with_callbacks(t)
        if self.search.nodes - self._compacted_at >= self.compact_every:
            self.search.compact()
            self._compacted_at = self.search.nodes

    def _frame_with_callbacks(self, t: int) -> None:
        """One frame: the core says which (row, unit) pairs the callback LMs score and how their states change."""
        query = self.search.query(t)
        if query is None:
            self.search.expand(t, [])
            return
        rows, cands = (torch.from_numpy(x) for x in query)
        self.search.expand(t, [_numpy(lm.score(lm.select_states(st, rows), cands))
                               for lm, st in zip(self.callbacks, self.states)])
        rebuild = self.search.rebuild()
        if rebuild is None:
            return
        kept, parents, units = (torch.from_numpy(x) for x in rebuild)
        for k, lm in enumerate(self.callbacks):
            part = lm.select_states(self.states[k], kept)
            self.states[k] = (lm.concat_states([part, lm.advance(self.states[k], parents, units)])
                              if len(parents) else part)

    def _hyps(self, results: list) -> list[Hypothesis]:
        return [Hypothesis(tuple(units), score, am, {s.name: v for s, v in zip(self.scorers, each)})
                for units, score, am, each in results]

    def partial(self, nbest: int = 1) -> list[Hypothesis]:
        """The best prefixes so far by log(p_b + p_nb) + LM score (no end-of-sentence term), best first."""
        if self.search is None:
            return [Hypothesis((), 0.0, 0.0, {s.name: 0.0 for s in self.scorers})][:nbest]
        return self._hyps(self.search.partial(nbest))

    def finish(self, nbest: int = 1) -> list[Hypothesis]:
        """The final n-best: each scorer's end-of-sentence score added, exactly as the one-shot search ends."""
        if self.finished:
            raise RuntimeError("finish() called twice")
        self.finished = True
        if self.search is None:  # no frame at all: the empty prefix, as the reference scores it
            return CTCPrefixBeamOnline(self.beam, self.scorers, blank_id=self.blank_id).finish(nbest)
        rows = torch.from_numpy(self.search.final_rows())
        ends = [_numpy(lm.final_score(lm.select_states(st, rows))) for lm, st in zip(self.callbacks, self.states)]
        return self._hyps(self.search.finish(ends)[0][:nbest])
