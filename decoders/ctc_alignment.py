"""CTC forced alignment: the single most likely frame path of a *given* unit sequence.

Word timestamps need to know which frames spell each unit of the final hypothesis. Re-running the search
to keep its back-pointers would tie timestamps to one search (prefix beam, greedy, TLG, the compiled core);
aligning the hypothesis afterwards works for all of them and costs one Viterbi pass per utterance. The
same pass scores how well a *given* spelling fits a stretch of frames (:func:`ctc_viterbi_score`), which the
hotword check of :mod:`asrkit.inference.hotword_check` asks for many candidate spellings per stretch
(:func:`ctc_viterbi_scores`: one call for all of them).

Both run in the compiled core (decoders/csrc/ctc_viterbi.cc) when it is built; the numpy functions below
are the reference they are tested against (tests/test_ctc_alignment.py) and the fallback (one warning;
``ASRKIT_NATIVE=0`` forces it).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from decoders.native import native


def _load_core():
    from decoders import _ctc_core

    return _ctc_core


def _core():
    """The compiled module, or None (ASRKIT_NATIVE=0, or not built: warned once)."""
    return native("the compiled CTC alignment", _load_core, "aligning in Python")


def _as_numpy(log_probs: torch.Tensor | np.ndarray) -> np.ndarray:
    if isinstance(log_probs, torch.Tensor):
        return log_probs.detach().float().cpu().numpy()
    return np.asarray(log_probs)


def ctc_forced_align(log_probs: torch.Tensor | np.ndarray, units: Sequence[int],
                     blank_id: int = 0) -> list[tuple[int, int]] | None:
    """Frame span ``[start, end)`` of each unit on the best CTC path that spells ``units``, or None when the
    frames cannot spell them: :func:`ctc_forced_align_reference` (see it), computed by the compiled core."""
    core = _core()
    if core is None:
        return ctc_forced_align_reference(log_probs, units, blank_id)
    spans = core.ctc_forced_align(np.ascontiguousarray(_as_numpy(log_probs), dtype=np.float32),
                                  [int(u) for u in units], int(blank_id))
    return None if spans is None else [(int(a), int(b)) for a, b in spans]


def ctc_viterbi_score(log_probs: torch.Tensor | np.ndarray, units: Sequence[int], blank_id: int = 0) -> float:
    """Log-probability of the best CTC path that spells ``units`` over all frames of ``log_probs`` (T, V);
    -inf when the frames cannot spell them. :func:`ctc_viterbi_score_reference`, computed by the core."""
    return ctc_viterbi_scores(log_probs, [units], blank_id)[0]


def ctc_viterbi_scores(log_probs: torch.Tensor | np.ndarray, spellings: Sequence[Sequence[int]],
                       blank_id: int = 0) -> list[float]:
    """:func:`ctc_viterbi_score` of each of ``spellings`` over the same frames, in one call to the core."""
    lp = np.ascontiguousarray(_as_numpy(log_probs), dtype=np.float32)
    spellings = [[int(u) for u in s] for s in spellings]
    return viterbi_scorer()(lp, spellings, int(blank_id))


def ctc_viterbi_scores_reference(log_probs: torch.Tensor | np.ndarray, spellings: Sequence[Sequence[int]],
                                 blank_id: int = 0) -> list[float]:
    """The Python twin of :func:`ctc_viterbi_scores`: :func:`ctc_viterbi_score_reference` of each spelling."""
    return [ctc_viterbi_score_reference(log_probs, s, blank_id) for s in spellings]


def viterbi_scorer():
    """``scores(log_probs, spellings, blank_id) -> list[float]``, :func:`ctc_viterbi_scores` without its
    conversions, for callers that score many stretches of frames: ``log_probs`` must be a C-contiguous float32
    (T, V) array and ``spellings`` lists of ints. The compiled function when built, else the reference."""
    core = _core()
    return ctc_viterbi_scores_reference if core is None else core.ctc_viterbi_scores


def _viterbi(lp: np.ndarray, units: list[int], blank_id: int, keep_back: bool):
    """delta_T over the states of l' and, with ``keep_back``, the (T, S) back-pointers."""
    n_frames, n_units = lp.shape[0], len(units)
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
    if n_states > 1:
        delta[1] = emit[0, 1]
    back = np.zeros((n_frames, n_states), dtype=np.int8) if keep_back else None
    for t in range(1, n_frames):
        from1 = np.concatenate(([neg], delta[:-1]))
        from2 = np.where(skip, np.concatenate(([neg, neg], delta[:-2]))[:n_states], neg)
        cands = np.stack((delta, from1, from2))
        choice = cands.argmax(axis=0)
        delta = cands[choice, np.arange(n_states)] + emit[t]
        if keep_back:
            back[t] = choice
    return delta, back


def ctc_viterbi_score_reference(log_probs: torch.Tensor | np.ndarray, units: Sequence[int],
                                blank_id: int = 0) -> float:
    """The Python twin of :func:`ctc_viterbi_score`: max over the final states (last unit or final blank) of
    the Viterbi recursion of :func:`ctc_forced_align_reference`."""
    lp = _as_numpy(log_probs)
    if lp.shape[0] == 0:
        return float("-inf")
    delta, _ = _viterbi(lp, [int(u) for u in units], blank_id, keep_back=False)
    return float(delta[-1] if delta.size == 1 else max(delta[-1], delta[-2]))


def ctc_forced_align_reference(log_probs: torch.Tensor | np.ndarray, units: Sequence[int],
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
    lp = _as_numpy(log_probs)
    units = [int(u) for u in units]
    n_frames, n_units = lp.shape[0], len(units)
    if n_units == 0:
        return []
    repeats = sum(1 for a, b in zip(units, units[1:]) if a == b)
    if n_frames < n_units + repeats:
        return None
    delta, back = _viterbi(lp, units, blank_id, keep_back=True)
    n_states = delta.size
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
