"""Adapter CTC warm-up: an auxiliary loss that makes the adapter's outputs look like the LLM's token embeddings.

Not part of MooER (whose 7B LLM finds the audio by itself after thousands of steps). With a tiny LLM and a
CPU budget of a few thousand steps, adapter + LoRA training alone did not start to use the audio (dev loss
equal with real and shuffled audio after 2 epochs, egs/bible), while a short adapter-only CTC stage first
made it do so within a few hundred steps. The loss adds no parameters: the adapter output ``y_t`` (one per
120 ms) is scored against the LLM's frozen input embedding matrix ``E``,

    logits_t = E y_t / tau,      p_t = softmax(logits_t)  over the LLM's vocabulary,

and CTC (Graves et al., 2006) is computed over the LLM tokens of the spoken transcript, with the pad token
``<|endoftext|>`` as the blank. ``tau`` (0.1) lets embeddings of norm ~1 give confident posteriors. The
adapter is thus pushed to emit, at each 120 ms, the embedding of the token being spoken there, which the
LLM can copy (or translate) with little LoRA adaptation.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F


def adapter_ctc_loss(y: torch.Tensor, lengths: torch.Tensor, targets: Sequence[Sequence[int]],
                     embeddings: torch.Tensor, blank_id: int, tau: float = 0.1) -> tuple[torch.Tensor, int]:
    """Summed CTC loss (natural log) of ``targets`` given adapter outputs ``y`` (B, T, D) with valid lengths
    ``lengths`` (B,), and the number of target tokens. ``embeddings`` (V, D) is used without gradient."""
    logits = y.float() @ embeddings.detach().float().T / tau
    log_probs = torch.log_softmax(logits, dim=-1).transpose(0, 1)
    tg = [torch.as_tensor(list(t), dtype=torch.long) for t in targets]
    loss = F.ctc_loss(log_probs, torch.cat(tg).to(y.device), lengths.to(y.device),
                      torch.tensor([len(t) for t in tg], device=y.device), blank=blank_id, reduction="sum",
                      zero_infinity=True)  # an utterance too short for its transcript contributes nothing
    return loss, sum(len(t) for t in tg)


def ctc_greedy_text(y: torch.Tensor, embeddings: torch.Tensor, blank_id: int, decode) -> str:
    """Best-path CTC reading of one utterance's adapter outputs (T, D): repeats merged, blanks dropped."""
    ids = (y.float() @ embeddings.float().T).argmax(-1).tolist()
    return decode([t for j, t in enumerate(ids) if t != blank_id and (j == 0 or t != ids[j - 1])])
