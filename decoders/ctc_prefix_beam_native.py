"""The compiled CTC prefix beam search (decoders/csrc, built into ``decoders._ctc_core``) behind the
signature of :func:`decoders.ctc_prefix_beam.ctc_prefix_beam_search_reference`.

Importing this module fails with ImportError when the extension is not built; call the search through
:func:`decoders.ctc_prefix_beam.ctc_prefix_beam_search_batch`, which then falls back to Python.

Scorers. Each weighted scorer runs either inside the core or as a callback:

- natively: a token-level :class:`lm.ngram.kenlm_lm.KenLM`, a :class:`lm.ngram.word_fusion.TokenizedWordLM`
  over sentencepiece pieces, :class:`decoders.bonus.UnitBonus`, :class:`decoders.bonus.WordBonus` and hotwords
  (:class:`decoders.context_graph.ContextGraph`, decoders/csrc/context_graph.hh). The
  n-gram scorers load the LM file again with the KenLM code compiled into the core (once per LM object;
  an ARPA file is parsed twice, a binary is mapped twice) and cache the score of every (state, unit);
- by callback: any other :class:`lm.interface.LanguageModel` (Transformer LM, Hugging Face causal LM, the
  unigram label prior, ...). The core stops once per frame with the (state row, candidates) pairs of all
  live prefixes of all utterances; this module asks each callback LM for them in one ``score`` call and
  regroups its state batch with one ``select_states``/``advance``/``concat_states``, as the Python search
  does, so a neural LM still runs one forward pass per frame. Without callbacks all frames run in C++.

The core returns the same n-best as the reference (same units; scores equal up to float rounding of
the callbacks' arrays), tested in tests/test_ctc_core.py.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable

import torch

from decoders import _ctc_core as core
from decoders.bonus import UnitBonus, WordBonus
from decoders.context_graph import ContextGraph
from decoders.hypothesis import Hypothesis
from decoders.scorer import WeightedScorer
from lm.ngram.kenlm_lm import KenLM
from lm.ngram.word_fusion import TokenizedWordLM

# Native twins of Python LM objects, made once per object: (what they were built from, native scorer).
_models: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_scorers: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
# Hotwords: the largest graph (states x units) whose every step the core puts in one table (8 bytes a step);
# larger graphs step through arcs and fail links. None: the core's default (4M steps, 32 MB). Tests set 0.
CONTEXT_TABLE_STEPS: int | None = None


def _ngram_model(lm: KenLM) -> core.NgramModel:
    model = _models.get(lm)
    if model is None:
        model = _models[lm] = core.NgramModel(str(lm.path))
    return model


def _build(lm) -> tuple[tuple, Callable[[], core.NativeScorer]] | None:
    """(what the native scorer depends on, how to make it), or None: ``lm`` is called back. Cheap: it runs
    for every scorer of every search; the scorer itself is made once per LM object."""
    # Exact types only: a subclass may score differently, so it is called back like any other LM.
    kind = type(lm)
    if kind is KenLM and lm.unit == "token":
        return ("token",), lambda: core.TokenNgramScorer(_ngram_model(lm), list(lm.vocab),
                                                         -1 if lm._blank is None else lm._blank)
    if kind is TokenizedWordLM and not lm._normalize:  # byte-level LLM tokens (normalised words): callback
        return ("word", lm.oov_penalty, id(lm.word_lm), lm.extra_words), lambda: core.WordNgramScorer(
            _ngram_model(lm.word_lm), list(lm._starts), list(lm._text), lm.known_words,
            -1 if lm._blank is None else lm._blank, float(lm.oov_penalty))
    if kind is UnitBonus:
        return ("unit_bonus",), core.UnitBonusScorer
    if kind is WordBonus:
        return ("word_bonus",), lambda: core.WordBonusScorer(lm.starts.tolist(), lm.wordish.tolist())
    if kind is ContextGraph:  # hotwords: the graph's arrays, built once per graph object
        table = {} if CONTEXT_TABLE_STEPS is None else {"max_table_steps": CONTEXT_TABLE_STEPS}
        return ("hotwords", id(lm), CONTEXT_TABLE_STEPS), lambda: core.ContextGraphScorer(**lm.arrays(), **table)
    return None


def native_scorer(lm) -> core.NativeScorer | None:
    """The core's scorer for ``lm``, or None when ``lm`` is called back. Loads n-gram files on first use."""
    spec = _build(lm)
    if spec is None:
        return None
    key, make = spec
    hit = _scorers.get(lm)
    if hit is None or hit[0] != key:  # e.g. oov_penalty changed since the scorer was made
        hit = _scorers[lm] = (key, make())
    return hit[1]


def _numpy(x: torch.Tensor):
    return x.detach().to("cpu", torch.float64).contiguous().numpy()


def search_batch(
    log_probs: torch.Tensor,
    lengths: torch.Tensor | None = None,
    beam: int = 8,
    scorers: list[WeightedScorer] | None = None,
    *,
    prune_topk: int | None = None,
    blank_id: int = 0,
    nbest: int = 1,
    token_min_logp: float | None = None,
    beam_prune_logp: float | None = None,
    recombine: bool = False,
    hotword_beam: int = 0,
) -> list[list[Hypothesis]]:
    """The compiled search; arguments and result as :func:`decoders.ctc_prefix_beam.ctc_prefix_beam_search_batch`."""
    scorers = scorers or []
    if recombine:
        from decoders.recombination import check_recombinable

        check_recombinable(scorers)  # the same refusal as the reference's
    lp = log_probs.detach().to("cpu", torch.float32).contiguous()
    n_utt, n_frames, vocab = lp.shape
    lens = torch.full((n_utt,), n_frames) if lengths is None else torch.as_tensor(lengths, device="cpu")
    lens = lens.to(torch.int64).contiguous()
    natives = [native_scorer(s.lm) for s in scorers]
    for s, nat in zip(scorers, natives):
        if nat is not None and len(s.lm.vocab) < vocab:
            raise ValueError(f"{s.lm!r}: scores {len(s.lm.vocab)} units, the emissions have {vocab}")
    search = core.PrefixSearch(lp.numpy(), lens.numpy(), min(prune_topk or beam, vocab), beam, blank_id, nbest,
                               token_min_logp, beam_prune_logp, recombine, natives,
                               [float(s.weight) for s in scorers], int(hotword_beam))
    callbacks = [s.lm for s, nat in zip(scorers, natives) if nat is None]
    if not callbacks:
        results = search.run()
    else:
        results = _run_with_callbacks(search, callbacks, n_utt)
    return [[Hypothesis(units, score, am, {s.name: v for s, v in zip(scorers, each)})
             for units, score, am, each in hyps] for hyps in results]


def _run_with_callbacks(search, lms: list, n_utt: int) -> list:
    """Frame by frame: the core says which (row, unit) pairs the callback LMs score and how their state
    batches change; each LM gets one ``score`` and one ``advance`` call per frame."""
    states = [lm.init_state(n_utt) for lm in lms]
    for t in range(search.frames):
        query = search.query(t)
        if query is None:  # no candidate unit in any utterance: no LM call
            search.expand(t, [])
            continue
        rows, cands = (torch.from_numpy(x) for x in query)
        search.expand(t, [_numpy(lm.score(lm.select_states(st, rows), cands)) for lm, st in zip(lms, states)])
        rebuild = search.rebuild()
        if rebuild is None:
            continue
        kept, parents, units = (torch.from_numpy(x) for x in rebuild)
        for k, lm in enumerate(lms):
            part = lm.select_states(states[k], kept)
            states[k] = lm.concat_states([part, lm.advance(states[k], parents, units)]) if len(parents) else part
    rows = torch.from_numpy(search.final_rows())
    return search.finish([_numpy(lm.final_score(lm.select_states(st, rows))) for lm, st in zip(lms, states)])
