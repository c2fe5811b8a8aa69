"""CTC prefix beam search with weighted LM scorers, batched over utterances and hypotheses.

For a label prefix y, the search keeps the log-probabilities that the frames so far end in a blank,
p_b(y), or in y's last unit, p_nb(y) (Graves & Jaitly, 2014; Hannun et al., 2014, "First-pass large
vocabulary continuous speech recognition using bi-directional recurrent DNNs"). A prefix is ranked by

    score(y) = log(p_b(y) + p_nb(y)) + sum_k lambda_k log p_LM_k(y)

where the LM terms are added once per unit, when the prefix grows; a length reward beta |y| (insertion
bonus) is one more scorer, :class:`decoders.bonus.UnitBonus`, with weight beta. At the end
``lambda_k log p_LM_k(</s> | y)`` is added. Pre-beam pruning: at each frame only the ``prune_topk`` most
likely units (and the blank; the lower unit id first among equal log-probs) are tried, and of those only
units with ``log p >= token_min_logp`` when that is set (pyctcdecode's
``token_min_logp``; -5 there), so LMs are queried only for those candidates. A frame where no unit passes
(about half the frames of a peaky CTC model) only updates the prefixes' blank/repeat probabilities: no LM
call, no new prefix, no state rebuild. ``beam_prune_logp`` also drops prefixes more than that far below
the frame's best (pyctcdecode's ``beam_prune_logp``, -10 there), so easy frames keep few prefixes.

Hotwords (``hotword_beam`` H > 0, with a :class:`decoders.context_graph.ContextGraph` among the scorers):
a partial hotword match holds a provisional bonus h(y) = λ_h s(node) that is taken back unless the phrase
completes. Ranked with it, a prefix that merely stays on a name-like start (a blank costs little) beats
its sibling that emits the next, non-matching unit (which pays back at once), and such prefixes crowd
the beam. So the beam keeps the ``beam`` best prefixes by score(y) - h(y) (``beam_prune_logp`` applied to
them by that score), except that up to H of its slots go to the best prefixes by score(y) that hold a
partial match (h(y) > 0) and did not make it on score(y) - h(y): partial matches survive in a small beam
of their own without crowding out unbiased hypotheses, and the beam stays ``beam`` prefixes (no slower); a
completed phrase's bonus counts in both rankings. Ties keep the order prefixes were made in. H = 0: the
``beam`` best by score(y).

Batching: all utterances advance frame-synchronously and each frame makes one ``score`` call and one
``advance`` call per scorer for the prefixes of every utterance together, so neural LMs run one
forward pass per frame for the whole batch. Utterances shorter than the longest simply stop.

Two implementations, one entry point. :func:`ctc_prefix_beam_search_batch` runs the compiled core
(decoders/csrc, :mod:`decoders.ctc_prefix_beam_native`: the same math and tie-breaking, n-gram LMs and
bonuses scored natively, other LMs called back once per frame) when it is built, and this module's
:func:`ctc_prefix_beam_search_reference` otherwise (one warning). ``ASRKIT_NATIVE=0`` forces the Python
search. The reference stays the definition the core is tested against (tests/test_ctc_core.py).
"""

from __future__ import annotations

import math

import torch

from decoders.hypothesis import Hypothesis
from decoders.native import native
from decoders.scorer import WeightedScorer

NEG_INF = -math.inf
_exp, _log = math.exp, math.log


def _logadd(a: float, b: float) -> float:
    if a == NEG_INF:
        return b
    if b == NEG_INF:
        return a
    if a > b:
        return a + _log(1.0 + _exp(b - a))
    return b + _log(1.0 + _exp(a - b))


class _Prefix:
    __slots__ = ("p_b", "p_nb", "lm", "lm_each", "row", "nodes", "held")

    def __init__(self, p_b: float, p_nb: float, lm: float, lm_each: list[float], row: int,
                 nodes: tuple[int, ...] = (), held: float = 0.0):
        self.p_b = p_b
        self.p_nb = p_nb
        self.lm = lm  # accumulated weighted LM score + bonus
        self.lm_each = lm_each  # unweighted LM log-probs, one per scorer
        self.row = row  # this prefix's row in every scorer's state batch (-1: not advanced yet)
        self.nodes = nodes  # hotword_beam: the context graphs' nodes of this prefix
        self.held = held  # hotword_beam: sum of weight x pending score of those nodes (provisional)

    def total(self) -> float:
        return _logadd(self.p_b, self.p_nb) + self.lm


def ctc_prefix_beam_search_reference(
    log_probs: torch.Tensor,
    lengths: torch.Tensor | None = None,
    beam: int = 8,
    scorers: list[WeightedScorer] | None = None,
    *,
    prune_topk: int | None = None,
    blank_id: int = 0,
    nbest: int = 1,
    token_min_logp: float | None = None,
    beam_prune_logp: float | None = None,
    recombine: bool = False,
    hotword_beam: int = 0,
) -> list[list[Hypothesis]]:
    """The Python search. log_probs: (B, T, V) CTC log-probabilities; lengths: (B,) valid frames.

    Returns, per utterance, its ``nbest`` best hypotheses, best first. ``recombine``: after each frame, drop
    the prefixes another prefix of the utterance dominates (:mod:`decoders.recombination`).
    ``hotword_beam``: extra prefixes kept for partial hotword matches (module docstring).
    """
    scorers = scorers or []
    if hotword_beam < 0:
        raise ValueError("hotword_beam must be >= 0")
    from decoders.context_graph import ContextGraph

    graphs = [(s.weight, s.lm) for s in scorers if isinstance(s.lm, ContextGraph)] if hotword_beam else []
    key_fns = []
    if recombine:
        from decoders.recombination import check_recombinable, state_keys

        check_recombinable(scorers)
        key_fns = [state_keys(s.lm) for s in scorers]
    lp = log_probs.float().cpu()
    n_utt, n_frames, vocab = lp.shape
    lens = [n_frames] * n_utt if lengths is None else [int(x) for x in lengths]
    topk = min(prune_topk or beam, vocab)
    # Candidate units and their scores for every frame at once (one sort, not one per frame); a stable sort
    # puts the lower unit id first among equal log-probs (torch.topk leaves that order unspecified).
    cand_lp, cand_ids = (x[..., :topk] for x in torch.sort(lp, dim=-1, descending=True, stable=True))
    cand_ids_l, cand_lp_l = cand_ids.tolist(), cand_lp.tolist()
    if token_min_logp is not None:
        # Drop unlikely units (and the blank, which never extends a prefix) before the search sees them.
        for b in range(n_utt):
            for t in range(n_frames):
                ids, lps = cand_ids_l[b][t], cand_lp_l[b][t]
                keep = [j for j, (c, v) in enumerate(zip(ids, lps)) if v >= token_min_logp and c != blank_id]
                if len(keep) < len(ids):
                    cand_ids_l[b][t] = [ids[j] for j in keep]
                    cand_lp_l[b][t] = [lps[j] for j in keep]
    blank_l = lp[:, :, blank_id].tolist()
    n_sc = len(scorers)
    weights = [s.weight for s in scorers]
    states = [s.lm.init_state(n_utt) for s in scorers]
    # Prefixes are nodes of one trie (ids into node_parent/node_unit), so extending or looking up a prefix
    # is one integer hash, not a tuple copy whose cost grows with the prefix length. Node 0 is the empty prefix.
    node_parent, node_unit = [-1], [-1]
    child: dict[int, int] = {}
    beams: list[dict[int, _Prefix]] = [{0: _Prefix(0.0, NEG_INF, 0.0, [0.0] * n_sc, b)} for b in range(n_utt)]
    if graphs:
        starts = tuple(g.start for _, g in graphs)
        for b in range(n_utt):
            beams[b][0].nodes, beams[b][0].held = starts, _held(graphs, starts)
    zeros = [0.0] * n_sc

    for t in range(max(lens, default=0)):
        active = [b for b in range(n_utt) if t < lens[b]]
        # One batched LM call per scorer for all (prefix, candidate) pairs of all active utterances.
        lm_cols: list[list[list[float]]] = []
        width = max((len(cand_ids_l[b][t]) for b in active), default=0)
        if scorers and width:
            rows, cands = [], []
            for b in active:
                ids = cand_ids_l[b][t]
                padded = ids + [blank_id] * (width - len(ids))  # the blank is never extended: a safe filler
                for p in beams[b].values():
                    rows.append(p.row)
                    cands.append(padded)
            rows_t, cands_t = torch.tensor(rows, dtype=torch.long), torch.tensor(cands, dtype=torch.long)
            for s, st in zip(scorers, states):
                lm_cols.append(s.lm.score(s.lm.select_states(st, rows_t), cands_t).tolist())
        new_ext: list[tuple[int, int, int, int]] = []  # (utt, prefix node, parent row, unit)
        r = 0
        for b in active:
            ids, scores, blank = cand_ids_l[b][t], cand_lp_l[b][t], blank_l[b][t]
            frame_of = dict(zip(ids, scores))
            nxt: dict[int, _Prefix] = {}
            for y, p in beams[b].items():
                # Staying on y: a blank, or a repeat of y's last unit without a blank in between.
                cur = nxt.get(y)
                if cur is None:
                    cur = nxt[y] = _Prefix(NEG_INF, NEG_INF, p.lm, p.lm_each, p.row, p.nodes, p.held)
                p_all = _logadd(p.p_b, p.p_nb)
                cur.p_b = _logadd(cur.p_b, p_all + blank)
                last = node_unit[y]
                if y:
                    rep = frame_of.get(last)
                    if rep is None:
                        rep = float(lp[b, t, last])
                    cur.p_nb = _logadd(cur.p_nb, p.p_nb + rep)
                for j, c in enumerate(ids):
                    if c == blank_id:
                        continue
                    key = y * vocab + c
                    ext = child.get(key)
                    if ext is None:
                        ext = child[key] = len(node_unit)
                        node_parent.append(y)
                        node_unit.append(c)
                    q = nxt.get(ext)
                    if q is None:
                        if n_sc:
                            each = [cols[r][j] for cols in lm_cols]
                            fused = sum(w * v for w, v in zip(weights, each))
                            q = _Prefix(NEG_INF, NEG_INF, p.lm + fused, [a + e for a, e in zip(p.lm_each, each)], -1)
                        else:
                            q = _Prefix(NEG_INF, NEG_INF, p.lm, zeros, -1)
                        if graphs:
                            q.nodes = tuple(g.step(n, c)[0] for (_, g), n in zip(graphs, p.nodes))
                            q.held = _held(graphs, q.nodes)
                        nxt[ext] = q
                        new_ext.append((b, ext, p.row, c))
                    # After the same unit, only a blank-ended path may start a new copy of it.
                    q.p_nb = _logadd(q.p_nb, (p.p_b if c == last else p_all) + scores[j])
                r += 1
            if graphs:
                nxt = _select_with_hotword_beam(nxt, beam, hotword_beam, beam_prune_logp)
            elif len(nxt) > beam:
                nxt = dict(sorted(nxt.items(), key=lambda kv: kv[1].total(), reverse=True)[:beam])
            if not graphs and beam_prune_logp is not None and len(nxt) > 1:
                floor = max(q.total() for q in nxt.values()) - beam_prune_logp
                nxt = {k: q for k, q in nxt.items() if q.total() >= floor}
            beams[b] = nxt
        if scorers and new_ext:  # else no prefix was added: every state row is still where it was
            # Rebuild the scorers' state batches: kept prefixes keep their state, new ones advance a parent's.
            kept_rows: list[int] = []
            kept: list[_Prefix] = []
            for b in range(n_utt):
                for p in beams[b].values():
                    if p.row >= 0:
                        kept_rows.append(p.row)
                        kept.append(p)
            grown = [(beams[b][y], row, c) for b, y, row, c in new_ext if y in beams[b] and beams[b][y].row < 0]
            kept_t = torch.tensor(kept_rows, dtype=torch.long)
            parents = torch.tensor([row for _, row, _ in grown], dtype=torch.long)
            units = torch.tensor([c for _, _, c in grown], dtype=torch.long)
            for k, s in enumerate(scorers):
                part = s.lm.select_states(states[k], kept_t)
                states[k] = s.lm.concat_states([part, s.lm.advance(states[k], parents, units)]) if grown else part
            for i, p in enumerate(kept):
                p.row = i
            for i, (p, _, _) in enumerate(grown):
                p.row = len(kept) + i
        if recombine:
            _recombine(beams, active, node_unit, scorers, states, key_fns)

    rows_all = [p.row for b in range(n_utt) for p in beams[b].values()]
    ends: list[list[float]] = []
    if scorers:
        rows_t = torch.tensor(rows_all, dtype=torch.long)
        ends = [s.lm.final_score(s.lm.select_states(st, rows_t)).tolist() for s, st in zip(scorers, states)]
    out: list[list[Hypothesis]] = []
    i = 0
    for b in range(n_utt):
        finals = []
        for y, p in beams[b].items():
            units = []
            while y:
                units.append(node_unit[y])
                y = node_parent[y]
            y = tuple(reversed(units))
            each = [e[i] for e in ends]
            i += 1
            am = _logadd(p.p_b, p.p_nb)
            lm_total = p.lm + sum(w * v for w, v in zip(weights, each))
            lm_scores = {s.name: a + e for s, a, e in zip(scorers, p.lm_each, each)}
            finals.append(Hypothesis(y, am + lm_total, am, lm_scores))
        finals.sort(key=lambda h: h.score, reverse=True)
        out.append(finals[:nbest])
    return out


def _held(graphs: list, nodes: tuple[int, ...]) -> float:
    """Σ λ_h s(node) over the context graphs: the provisional part of a prefix's score."""
    h = 0.0
    for (w, g), n in zip(graphs, nodes):
        h += w * g.pending[n]
    return h


def _select_with_hotword_beam(nxt: dict[int, _Prefix], beam: int, extra: int,
                              beam_prune_logp: float | None) -> dict[int, _Prefix]:
    """Of the ``beam`` slots, max(1, beam - extra) go to the best by score - held; up to ``extra`` of the rest
    that hold a partial match take the next slots, best by score; slots they leave free go to the next best
    by score - held. ``beam_prune_logp`` applies to the slots ranked by score - held. Ties keep creation
    order (NaN ranks last); the partial matches come last."""
    items = list(nxt.items())

    def safe(x: float) -> float:
        return NEG_INF if x != x else x

    totals = [q.total() for _, q in items]
    settled = [t - q.held for t, (_, q) in zip(totals, items)]
    order = sorted(range(len(items)), key=lambda i: (-safe(settled[i]), i))
    n_main = min(len(items), max(1, beam - extra))
    rest = order[n_main:]
    lane = sorted((i for i in rest if items[i][1].held > 0.0), key=lambda i: (-safe(totals[i]), i))
    lane = lane[: min(extra, beam - n_main)]
    chosen = set(lane)
    kept = order[:n_main] + [i for i in rest if i not in chosen][: beam - len(lane) - n_main]
    if beam_prune_logp is not None and len(kept) > 1:
        floor = safe(settled[order[0]]) - beam_prune_logp
        kept = [i for i in kept if settled[i] >= floor]
    return {items[i][0]: items[i][1] for i in kept + lane}




def _recombine(beams: list[dict[int, _Prefix]], active: list[int], node_unit: list[int], scorers: list,
               states: list, key_fns: list) -> None:
    """Drop dominated prefixes (same last unit and scorer states, worse in both p_b and p_nb)."""
    from decoders.recombination import dominated

    prefixes = [(b, y, p) for b in active for y, p in beams[b].items()]
    rows = torch.tensor([p.row for _, _, p in prefixes], dtype=torch.long)
    keys = [fn(s.lm.select_states(st, rows)) for s, st, fn in zip(scorers, states, key_fns)]
    i = 0
    for b in active:
        entries = []
        for y, p in beams[b].items():
            entries.append(((node_unit[y], *(k[i] for k in keys)), p.p_b, p.p_nb, p.lm, p.total()))
            i += 1
        drop = dominated(entries)
        if drop:
            beams[b] = {y: p for j, (y, p) in enumerate(beams[b].items()) if j not in drop}


def _load_search():
    from decoders.ctc_prefix_beam_native import search_batch

    return search_batch


def _native_search():
    """The compiled search function, or None (ASRKIT_NATIVE=0, or not built: warned once)."""
    return native("the compiled CTC search", _load_search, "using the slower Python search")


def ctc_prefix_beam_search_batch(
    log_probs: torch.Tensor,
    lengths: torch.Tensor | None = None,
    beam: int = 8,
    scorers: list[WeightedScorer] | None = None,
    *,
    prune_topk: int | None = None,
    blank_id: int = 0,
    nbest: int = 1,
    token_min_logp: float | None = None,
    beam_prune_logp: float | None = None,
    recombine: bool = False,
    hotword_beam: int = 0,
) -> list[list[Hypothesis]]:
    """Decode a batch. log_probs: (B, T, V) CTC log-probabilities; lengths: (B,) valid frames.

    The one entry point of every CTC search: the compiled core when it is built (``ASRKIT_NATIVE=0``:
    the Python reference). Returns, per utterance, its ``nbest`` best hypotheses, best first.
    ``recombine``: drop dominated prefixes after each frame (:mod:`decoders.recombination`; n-gram LMs,
    bonuses and hotwords only). ``hotword_beam``: extra prefixes kept for partial hotword matches (module
    docstring).
    """
    search = _native_search() or ctc_prefix_beam_search_reference
    return search(log_probs, lengths, beam, scorers, prune_topk=prune_topk, blank_id=blank_id, nbest=nbest,
                  token_min_logp=token_min_logp, beam_prune_logp=beam_prune_logp, recombine=recombine,
                  hotword_beam=hotword_beam)


def ctc_prefix_beam_search(
    log_probs: torch.Tensor,
    beam: int = 8,
    scorers: list[WeightedScorer] | None = None,
    *,
    prune_topk: int | None = None,
    blank_id: int = 0,
    nbest: int = 1,
    token_min_logp: float | None = None,
    beam_prune_logp: float | None = None,
    recombine: bool = False,
) -> list[Hypothesis]:
    """One utterance: log_probs (T, V). See :func:`ctc_prefix_beam_search_batch`."""
    return ctc_prefix_beam_search_batch(log_probs[None], None, beam, scorers, prune_topk=prune_topk,
                                        blank_id=blank_id, nbest=nbest, token_min_logp=token_min_logp,
                                        beam_prune_logp=beam_prune_logp, recombine=recombine)[0]
