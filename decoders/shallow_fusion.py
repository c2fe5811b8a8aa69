"""Shallow fusion (Gulcehre et al., 2015, "On using monolingual corpora in neural machine translation";
Hannun et al., 2014 for CTC): the search ranks a hypothesis y by

    log p_AM(y | x) + lambda log p_LM(y) + beta |y|

with one external LM weighted by ``lambda``; ``beta |y|`` stands for the length bonuses, which are scorers
of their own (``decoders/bonus.py``) that the engine adds to every method's list.
"""

from __future__ import annotations

from decoders.scorer import WeightedScorer
from lm.interface import LanguageModel


def shallow_fusion(lm: LanguageModel, lm_weight: float) -> list[WeightedScorer]:
    """The scorer list of shallow fusion: ``[+lambda * log p_LM]``."""
    return [WeightedScorer(lm, lm_weight, "lm")]
