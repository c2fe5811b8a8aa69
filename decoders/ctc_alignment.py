"""CTC forced alignment: the single most likely frame path of a *given* unit sequence.

Word timestamps need to know which frames spell each unit of the final hypothesis. Re-running the search
to keep its back-pointers would tie timestamps to one search (prefix beam, greedy, TLG, the compiled core);
aligning the hypothesis afterwards works for all of them and costs one Viterbi pass per utterance.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch


def ctc_forced_align(log_probs: torch.Tensor | np.ndarray, units: Sequence[int],
                     blank_id: int = 0) -> list[tuple[int, int]] | None:
    """Frame span ``[start, end)`` of each unit on the best CTC path that spells ``units``.

    Viterbi over the blank-interleaved label sequence l' = (blank, y_1, blank, ..., y_U, blank) of length
    S = 2U + 1 (Graves et al., 2006, "Connectionist Temporal Classification", ICML, sec. 4.1): with
    delta_t(s) = log p(l'_s | x, t) + max(delta_{t-1}(s), delta_{t-1}(s-1), delta_{t-1}(s-2)), the s-2 jump
    allowed only when l'_s is not blank and l'_s != l'_{s-2} (a repeated unit needs a blank between its two
    copies). The path ends in the last unit or the final blank; backtracking gives the frames of each y_u.

    ``log_probs``: (T, V) log-probabilities of one utterance (padding removed). Returns one (start, end)
    per unit, frames counted from 0, or None when T frames cannot spell ``units`` (T < U + repeats). An
    empty ``units`` gives [].
    """
    lp = log_probs.detach().float().cpu().numpy() if isinstance(log_probs, torch.Tensor) else np.asarray(log_probs)
    units = [int(u) for u in units]
    n_frames, n_units = lp.shape[0], len(units)
    if n_units == 0:
        return []
    repeats = sum(1 for a, b in zip(units, units[1:]) if a == b)
    if n_frames < n_units + repeats:
        return None
    labels = np.full(2 * n_units + 1, blank_id, dtype=np.int64)
    labels[1::2] = units
    n_states = labels.size
    # s-2 jumps: into a unit state whose unit differs from the previous unit.
    skip = np.zeros(n_states, dtype=bool)
    skip[3::2] = labels[3::2] != labels[1:-2:2]
    emit = lp[:, labels]  # (T, S)
    neg = -np.inf
    delta = np.full(n_states, neg)
    delta[0] = emit[0, 0]
    delta[1] = emit[0, 1]
    back = np.zeros((n_frames, n_states), dtype=np.int8)  # 0: stay, 1: from s-1, 2: from s-2
    for t in range(1, n_frames):
        from1 = np.concatenate(([neg], delta[:-1]))
        from2 = np.where(skip, np.concatenate(([neg, neg], delta[:-2])), neg)
        cands = np.stack((delta, from1, from2))
        choice = cands.argmax(axis=0)
        delta = cands[choice, np.arange(n_states)] + emit[t]
        back[t] = choice
    last = n_states - 1 if delta[-1] >= delta[-2] else n_states - 2
    if not np.isfinite(delta[last]):
        return None
    states = np.empty(n_frames, dtype=np.int64)
    s = last
    for t in range(n_frames - 1, -1, -1):
        states[t] = s
        s -= int(back[t, s])
    spans: list[tuple[int, int]] = []
    for u in range(n_units):
        frames = np.flatnonzero(states == 2 * u + 1)
        spans.append((int(frames[0]), int(frames[-1]) + 1))
    return spans
