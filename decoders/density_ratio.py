"""Density ratio fusion and its low-order variant LODR.

Density ratio (McDermott, Sak & Variani, 2019, "A density ratio approach to language model fusion in
end-to-end automatic speech recognition", ASRU 2019, arXiv 2002.11268): an end-to-end model trained on a
source domain carries that domain's text prior; by Bayes' rule, swapping it for the target domain's
prior gives

    log p_AM(y | x) + lambda log p_target(y) - mu log p_source(y) + beta |y|

where p_source is an LM trained on the acoustic model's training transcripts.

LODR (Zheng et al., 2022, "An empirical study of language model integration for transducer based
speech recognition", arXiv 2203.16776) uses the same equation with p_source a *low-order* n-gram
(a token bigram) on the training transcripts: it only has to cancel the short-range prior the acoustic
model learned, and a bigram is cheap to query.
"""

from __future__ import annotations

from decoders.scorer import WeightedScorer
from lm.interface import LanguageModel


def density_ratio(target: LanguageModel, lm_weight: float, source: LanguageModel,
                  source_weight: float) -> list[WeightedScorer]:
    """``[+lambda log p_target, -mu log p_source]`` (``source_weight`` is mu >= 0; it is subtracted)."""
    return [WeightedScorer(target, lm_weight, "lm"), WeightedScorer(source, -source_weight, "source_lm")]


def lodr(target: LanguageModel, lm_weight: float, low_order_source: LanguageModel,
         source_weight: float) -> list[WeightedScorer]:
    """Density ratio with a low-order source n-gram (refused above order 2 to keep the method honest)."""
    order = getattr(low_order_source, "order", None)
    if order is not None and order > 2:
        from asrkit.errors import UserError

        raise UserError(f"{getattr(low_order_source, 'path', 'source LM')}: LODR needs a low-order source n-gram "
                        f"(order <= 2), got order {order}; use --method density_ratio for higher orders")
    return [WeightedScorer(target, lm_weight, "lm"), WeightedScorer(low_order_source, -source_weight, "source_lm")]
