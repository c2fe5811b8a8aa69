"""Greedy (best-path) CTC decoding."""

from __future__ import annotations

import torch


def ctc_greedy_search(log_probs: torch.Tensor, lengths: torch.Tensor, blank_id: int = 0) -> list[list[int]]:
    """Best path: y_t = argmax_k log p(k | x, t), then merge repeats and drop blanks
    (Graves et al., 2006, "Connectionist Temporal Classification", ICML).

    log_probs: (B, T, V); lengths: (B,). Returns one list of unit ids per utterance.
    """
    best = log_probs.argmax(dim=-1)
    out = []
    for b in range(best.size(0)):
        path = best[b, : int(lengths[b])]
        if path.numel() == 0:
            out.append([])
            continue
        keep = torch.ones_like(path, dtype=torch.bool)
        keep[1:] = path[1:] != path[:-1]
        out.append([int(u) for u in path[keep & (path != blank_id)]])
    return out
