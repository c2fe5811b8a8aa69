"""A decoding method is a list of weighted scorers over one search (ESPnet's scorer idea).

Each ``WeightedScorer`` wraps a ``lm.interface.LanguageModel`` and a weight; the search adds
``weight * log p_LM(unit | prefix)`` whenever a prefix grows by a unit. Shallow fusion is one positive
weight; density ratio and ILME add a second, negatively weighted LM.
"""

from __future__ import annotations

from dataclasses import dataclass

from lm.interface import LanguageModel


@dataclass
class WeightedScorer:
    lm: LanguageModel
    weight: float
    name: str = "lm"
