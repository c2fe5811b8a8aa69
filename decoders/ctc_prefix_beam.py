"""CTC prefix beam search with weighted LM scorers (shallow fusion when the list is not empty).

For a label prefix y, the search keeps the log-probabilities that the frames so far end in a blank,
p_b(y), or in y's last unit, p_nb(y) (Graves & Jaitly, 2014; Hannun et al., 2014, "First-pass large
vocabulary continuous speech recognition using bi-directional recurrent DNNs"). A prefix is ranked by

    score(y) = log(p_b(y) + p_nb(y)) + sum_k lambda_k log p_LM_k(y) + beta |y|

where the LM terms (token-level LMs over the acoustic model's units) are added once per unit, when
the prefix grows, and beta is the insertion bonus. At the end ``lambda_k log p_LM_k(</s> | y)`` is
added. Pre-beam pruning: at each frame only the ``prune_topk`` most likely units (and the blank) are
tried, so LMs are queried only for those candidates.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch

from decoders.scorer import WeightedScorer

NEG_INF = -math.inf


def _logadd(a: float, b: float) -> float:
    if a == NEG_INF:
        return b
    if b == NEG_INF:
        return a
    m = max(a, b)
    return m + math.log(math.exp(a - m) + math.exp(b - m))


@dataclass
class Hypothesis:
    units: tuple[int, ...]
    score: float  # acoustic + weighted LM + bonus, as ranked
    am_score: float  # log(p_b + p_nb)
    lm_scores: dict[str, float] = field(default_factory=dict)  # unweighted log p_LM per scorer


@dataclass
class _Prefix:
    p_b: float
    p_nb: float
    lm: float  # accumulated weighted LM score + bonus
    lm_each: list[float]
    row: int  # row of this prefix in each scorer's state batch


def _entry(table: dict, y: tuple[int, ...], parent: _Prefix, lm: float, lm_each: list[float], row: int) -> _Prefix:
    """The prefix ``y`` of the next frame; created from ``parent`` (plus its LM increment) if new."""
    if y not in table:
        table[y] = _Prefix(NEG_INF, NEG_INF, parent.lm + lm, [a + b for a, b in zip(parent.lm_each, lm_each)], row)
    return table[y]


def ctc_prefix_beam_search(
    log_probs: torch.Tensor,
    beam: int = 8,
    scorers: list[WeightedScorer] | None = None,
    prune_topk: int | None = None,
    insertion_bonus: float = 0.0,
    blank_id: int = 0,
    nbest: int = 1,
) -> list[Hypothesis]:
    """Decode one utterance. log_probs: (T, V) CTC log-probabilities. Returns the ``nbest`` best."""
    scorers = scorers or []
    lp = log_probs.float().cpu()
    topk = min(prune_topk or beam, lp.size(1))
    states = [s.lm.init_state(1) for s in scorers]
    beams: dict[tuple[int, ...], _Prefix] = {(): _Prefix(0.0, NEG_INF, 0.0, [0.0] * len(scorers), 0)}

    def total(p: _Prefix) -> float:
        return _logadd(p.p_b, p.p_nb) + p.lm

    for t in range(lp.size(0)):
        frame = lp[t]
        cand = torch.topk(frame, topk).indices.tolist()
        cand = [c for c in cand if c != blank_id]
        prefixes = list(beams.items())
        # One batched LM call per scorer for all (prefix, candidate) pairs of this frame.
        lm_cols = []
        if cand and scorers:
            rows = torch.tensor([p.row for _, p in prefixes])
            cands = torch.tensor(cand).expand(len(prefixes), -1)
            for s, st in zip(scorers, states):
                lm_cols.append(s.lm.score(s.lm.select_states(st, rows), cands).tolist())
        nxt: dict[tuple[int, ...], _Prefix] = {}
        new_ext: list[tuple[tuple[int, ...], int, int]] = []  # (prefix, parent row, unit)

        blank = float(frame[blank_id])
        for i, (y, p) in enumerate(prefixes):
            # Staying on y: a blank, or a repeat of y's last unit without a blank in between.
            cur = _entry(nxt, y, p, 0.0, [0.0] * len(scorers), p.row)
            cur.p_b = _logadd(cur.p_b, _logadd(p.p_b, p.p_nb) + blank)
            if y:
                cur.p_nb = _logadd(cur.p_nb, p.p_nb + float(frame[y[-1]]))
            for j, c in enumerate(cand):
                ext = y + (c,)
                each = [cols[i][j] for cols in lm_cols]
                fused = sum(s.weight * v for s, v in zip(scorers, each)) + insertion_bonus
                if ext not in nxt:
                    new_ext.append((ext, p.row, c))
                q = _entry(nxt, ext, p, fused, each, -1)
                # After the same unit, only a blank-ended path may start a new copy of it.
                q.p_nb = _logadd(q.p_nb, (p.p_b if y and c == y[-1] else _logadd(p.p_b, p.p_nb)) + float(frame[c]))
        ranked = sorted(nxt.items(), key=lambda kv: total(kv[1]), reverse=True)[:beam]
        # Rebuild the scorers' state batches: kept prefixes keep their row, new ones advance a parent's.
        kept_rows = [p.row for _, p in ranked if p.row >= 0]
        survivors = {y for y, _ in ranked}
        new = [(y, r, c) for y, r, c in new_ext if nxt[y].row < 0 and y in survivors]
        if scorers:
            parents = torch.tensor([r for _, r, _ in new], dtype=torch.long)
            units = torch.tensor([c for _, _, c in new], dtype=torch.long)
            for k, s in enumerate(scorers):
                kept = s.lm.select_states(states[k], torch.tensor(kept_rows, dtype=torch.long))
                grown = s.lm.advance(states[k], parents, units) if new else None
                states[k] = s.lm.concat_states([kept, grown]) if grown is not None else kept
        row = 0
        for _, p in ranked:
            if p.row >= 0:
                p.row = row
                row += 1
        for y, _, _ in new:
            nxt[y].row = row
            row += 1
        beams = dict(ranked)

    finals = []
    rows = torch.tensor([p.row for p in beams.values()], dtype=torch.long)
    ends = [s.lm.final_score(s.lm.select_states(st, rows)).tolist() for s, st in zip(scorers, states)]
    for i, (y, p) in enumerate(beams.items()):
        each = [e[i] for e in ends]
        lm_total = p.lm + sum(s.weight * v for s, v in zip(scorers, each))
        am = _logadd(p.p_b, p.p_nb)
        finals.append(Hypothesis(y, am + lm_total, am, {s.name: a + b for s, a, b in zip(scorers, p.lm_each, each)}))
    finals.sort(key=lambda h: h.score, reverse=True)
    return finals[:nbest]
