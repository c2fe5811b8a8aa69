"""What every search returns: a unit sequence with its total and per-scorer scores."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Hypothesis:
    units: tuple[int, ...]
    score: float  # the ranking score: acoustic + weighted LM terms + length terms
    am_score: float  # the head's own log-probability (CTC: log(p_b + p_nb); AR: sum of token log-probs)
    lm_scores: dict[str, float] = field(default_factory=dict)  # unweighted log p of each scorer, by name
