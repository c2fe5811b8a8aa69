"""N-best rescoring: a first pass (beam search, possibly already fused) proposes N hypotheses; each is
re-ranked with whole-sentence LM scores,

    score(y) = first_pass(y) + sum_k lambda_k log p_LM_k(y)

where ``first_pass`` is the first pass's ranking score: the acoustic score plus the first pass's own
scorers, which include the length bonuses (``decoders/bonus.py``: ``beta_unit |y|_units + beta_word
|y|_words``), so a tuned bonus means here what it means in every other method. The LM sees the hypothesis
*text*, re-encoded with its own units (``encode_text``), so any LM works here, including a causal LLM
with a different tokenizer (e.g. icefall's ``modified_beam_search_lm_rescore``; Kombrink et al., 2012 for
n-best/lattice rescoring with neural LMs)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from asrkit.text import normalize_text
from decoders.hypothesis import Hypothesis
from decoders.scorer import WeightedScorer


def rescore_nbest(nbest: Sequence[Hypothesis], texts: Sequence[str],
                  scorers: Sequence[WeightedScorer]) -> list[Hypothesis]:
    """Re-rank one utterance's n-best. ``texts[i]`` is hypothesis i as text. Returns them best first.

    Each hypothesis keeps its first-pass ``lm_scores`` and gains one entry per rescoring LM
    (``"rescore:" + name``).
    """
    if not nbest:
        return []
    norm = [normalize_text(t) for t in texts]
    totals = [h.score for h in nbest]
    extra: list[dict[str, float]] = [{} for _ in nbest]
    for s in scorers:
        logp = s.lm.score_sentences([s.lm.encode_text(t) for t in norm]).tolist()
        for i, v in enumerate(logp):
            totals[i] += s.weight * v
            extra[i]["rescore:" + s.name] = v
    out = [replace(h, score=tot, lm_scores={**h.lm_scores, **e}) for h, tot, e in zip(nbest, totals, extra)]
    return sorted(out, key=lambda h: h.score, reverse=True)
