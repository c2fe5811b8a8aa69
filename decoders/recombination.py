"""Hypothesis recombination for the CTC prefix search: drop a prefix another prefix dominates.

Two prefixes y and y' of one utterance with the same last unit and the same state in every scorer have
the same future: any continuation z adds the same LM scores to both, and the CTC probability of y z is
``p_b(y) A_z + p_nb(y) B_z`` with A_z, B_z >= 0 fixed by z, the frames and the last unit (Graves &
Jaitly, 2014). So if, with LM(y) the weighted scores so far,

    log p_b(y) + LM(y) <= log p_b(y') + LM(y')   and   log p_nb(y) + LM(y) <= log p_nb(y') + LM(y')

no continuation of y ever ranks above the same continuation of y': y is dropped and its beam slot is
free for another hypothesis. This is the recombination of hypotheses with equal LM state of n-gram
decoders (pyctcdecode's history pruning keeps one beam per last n-1 words, partial word and last
character for the same reason), in a form that never loses the best path through the pruned prefix.

States are compared only for scorers whose states have an identity: token n-grams (KenLM's context),
word n-grams over pieces (KenLM's context and the unfinished word; every spelling that can no longer
become an LM word is one state, as it scores ``<unk>`` whatever follows), the bonuses and hotword graphs.
A search with any other scorer (a neural LM, a label prior) cannot recombine.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from decoders.bonus import UnitBonus, WordBonus
from decoders.context_graph import ContextGraph
from decoders.scorer import WeightedScorer
from lm.ngram.kenlm_lm import KenLM
from lm.ngram.word_fusion import _OOV_MARK, TokenizedWordLM

# KenLM looks these up as themselves, so an unfinished word that may still spell one is kept apart.
_SPECIAL_PREFIXES = {w[:i] for w in ("<s>", "</s>", "<unk>") for i in range(len(w) + 1)}


def _word_state_key(lm: TokenizedWordLM) -> Callable[[Any], list]:
    def keys(state: list) -> list:
        out = []
        for kstate, partial in state:
            if not lm._known_prefix(partial) and (_OOV_MARK in partial or partial not in _SPECIAL_PREFIXES):
                partial = _OOV_MARK  # no continuation makes it an LM word: all such spellings are one state
            out.append((kstate, partial))
        return out

    return keys


def state_keys(lm) -> Callable[[Any], list] | None:
    """A function from a batched state of ``lm`` to one hashable key per row (equal keys: equal futures),
    or None when ``lm``'s states cannot be compared. Exact types only, as in the compiled core."""
    kind = type(lm)
    if kind is KenLM and lm.unit == "token":
        return list  # kenlm.State objects compare and hash by their context words
    if kind is TokenizedWordLM and not lm._normalize:
        return _word_state_key(lm)
    if kind in (UnitBonus, WordBonus, ContextGraph):
        return lambda state: state.tolist()
    return None


def check_recombinable(scorers: Sequence[WeightedScorer]) -> None:
    """Refuse recombination for a scorer list with a scorer whose states cannot be compared."""
    for s in scorers:
        if state_keys(s.lm) is None:
            raise ValueError(f"recombine: the states of {type(s.lm).__name__} ({s.name}) cannot be compared; "
                             "only n-gram LMs, bonuses and hotwords can recombine")


def dominated(entries: Sequence[tuple[Any, float, float, float, float]]) -> set[int]:
    """Indices of the entries to drop. Each entry: (key, log p_b, log p_nb, LM, total), in beam order; an
    entry goes when another with the same key is at least as good in both parts (and better in total, or
    equal and earlier, so that of two equal entries one stays)."""
    groups: dict[Any, list[int]] = {}
    for i, e in enumerate(entries):
        groups.setdefault(e[0], []).append(i)
    out: set[int] = set()
    for members in groups.values():
        for i in members:
            _, pb, pnb, lm, total = entries[i]
            for j in members:
                if j == i:
                    continue
                _, pb2, pnb2, lm2, total2 = entries[j]
                if pb2 + lm2 >= pb + lm and pnb2 + lm2 >= pnb + lm and (total2 > total or (total2 == total and j < i)):
                    out.add(i)
                    break
    return out
