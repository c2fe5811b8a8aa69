"""Internal language model estimation (ILME; Meng et al., 2021, "Internal language model estimation for
domain-adaptive end-to-end speech recognition", arXiv 2011.01991):

    log p_AM(y | x) + lambda log p_LM(y) - mu log p_ILM(y) + beta |y|

where p_ILM is the acoustic model's own text prior, estimated from the model itself rather than from a
separate source-domain LM (as density ratio does).

How p_ILM is estimated depends on the head:

- speech LLM (decoder-only): the LLM run on the prompt with the audio embeddings removed, so the
  decoder sees no acoustic context (``SpeechLLM.prompt_only_lm``);
- CTC: a CTC head has no label context at all (its outputs are conditionally independent given the
  audio), so its internal LM is context-free: the label prior p(u) obtained by averaging the CTC
  posteriors over frames of speech, blank excluded and renormalised (the "prior" of hybrid systems,
  used for CTC by e.g. Kanda et al., 2017 and Zhao et al., 2023). :func:`estimate_ctc_label_prior`
  computes it and :class:`lm.unigram.UnigramLM` scores it.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch

from decoders.scorer import WeightedScorer
from lm.interface import LanguageModel
from lm.unigram import UnigramLM


def ilme(lm: LanguageModel, lm_weight: float, ilm: LanguageModel, ilm_weight: float) -> list[WeightedScorer]:
    """``[+lambda log p_LM, -mu log p_ILM]`` (``ilm_weight`` is mu >= 0; it is subtracted)."""
    return [WeightedScorer(lm, lm_weight, "lm"), WeightedScorer(ilm, -ilm_weight, "ilm")]


def estimate_ctc_label_prior(log_probs: Iterable[torch.Tensor], vocab: list[str], blank_id: int = 0,
                             floor: float = 1e-8) -> UnigramLM:
    """p(u) = sum_t p_CTC(u | x, t) / sum_t sum_{v != blank} p_CTC(v | x, t) over all frames given.

    ``log_probs``: CTC log-posteriors (T, V) of each utterance (valid frames only). Units never seen
    get ``floor`` before renormalisation, so no unit has probability 0.
    """
    total = torch.zeros(len(vocab), dtype=torch.float64)
    for lp in log_probs:
        total += lp.double().exp().sum(0)
    total[blank_id] = 0.0
    if total.sum() <= 0:
        raise ValueError("no speech frames to estimate the CTC label prior from")
    prior = total / total.sum()
    prior = prior.clamp_min(floor)
    prior[blank_id] = 0.0
    prior = prior / prior.sum()
    logp = prior.log().float()
    logp[blank_id] = -float("inf")
    return UnigramLM(logp, vocab, eos_logprob=0.0, blank_id=blank_id)
