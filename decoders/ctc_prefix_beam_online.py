"""Online CTC prefix beam search: the search of :mod:`decoders.ctc_prefix_beam` advanced chunk by chunk.

The state carried between chunks is everything the one-shot search keeps between frames: the beam of
prefixes (trie nodes) with their blank/non-blank log-probabilities p_b, p_nb, accumulated weighted LM
score and per-scorer totals, and every scorer's batched state (n-gram LM states, word-LM partial words,
bonuses, hotword graph positions). Each frame runs the same update as
:func:`decoders.ctc_prefix_beam.ctc_prefix_beam_search_reference` (Graves & Jaitly, 2014; Hannun et al.,
2014): for a prefix y and frame t,

    p_b'(y)    = logadd(p_b'(y), log(p_b(y) + p_nb(y)) + log p_t(blank))
    p_nb'(y)   = logadd(p_nb'(y), p_nb(y) + log p_t(last(y)))
    p_nb'(y+c) = logadd(p_nb'(y+c), (p_b(y) if c == last(y) else log(p_b(y) + p_nb(y))) + log p_t(c))

and y+c gains sum_k w_k log p_LM_k(c | y) once, when it is made; the beam keeps the ``beam`` best by
log(p_b + p_nb) + LM score. So feeding the emissions of an utterance in any chunking gives exactly the
one-shot result (same units, same scores; tested). ``partial()`` is the best prefix so far (no
end-of-sentence term); ``finish()`` adds each scorer's ``final_score`` (log p(</s> | y), a word LM's last
word) as the one-shot search does at its end.

This runs on the Python reference search. The compiled core (decoders/csrc) holds a pointer to the whole
(B, T, V) emission array for the life of a search, so it cannot take frames that do not exist yet; an
online mode there needs a frame-append entry point in the core.

Long streams: the prefix trie only grows, so every ``compact_every`` new nodes it is rebuilt with just the
live prefixes and their ancestors (node ids are identities only; the result does not change).
"""

from __future__ import annotations

import torch

from decoders.context_graph import ContextGraph
from decoders.ctc_prefix_beam import NEG_INF, _held, _logadd, _Prefix, _select_with_hotword_beam
from decoders.hypothesis import Hypothesis
from decoders.scorer import WeightedScorer


class OnlineSearchOptions:
    """The settings every online search takes (this module's and the compiled one's)."""

    def __init__(self, beam: int = 8, scorers: list[WeightedScorer] | None = None, *, prune_topk: int | None = None,
                 blank_id: int = 0, token_min_logp: float | None = None, beam_prune_logp: float | None = None,
                 compact_every: int = 50_000, hotword_beam: int = 0):
        self.beam = beam
        self.scorers = scorers or []
        self.prune_topk = prune_topk or beam
        self.blank_id = blank_id
        self.token_min_logp = token_min_logp
        self.beam_prune_logp = beam_prune_logp
        self.compact_every = compact_every
        self.hotword_beam = hotword_beam
        self.finished = False


class CTCPrefixBeamOnline(OnlineSearchOptions):
    """One utterance's prefix search, fed frames as they come: ``advance(log_probs)`` any number of times,
    ``partial()`` for the best hypothesis so far, ``finish()`` once for the final n-best."""

    def __init__(self, beam: int = 8, scorers: list[WeightedScorer] | None = None, **options):
        super().__init__(beam, scorers, **options)
        self.weights = [s.weight for s in self.scorers]
        self.states = [s.lm.init_state(1) for s in self.scorers]
        self.node_parent, self.node_unit = [-1], [-1]
        self.child: dict[int, int] = {}
        self.beam_: dict[int, _Prefix] = {0: _Prefix(0.0, NEG_INF, 0.0, [0.0] * len(self.scorers), 0)}
        # hotword_beam: as the one-shot search (decoders/ctc_prefix_beam.py), partial hotword matches keep
        # up to that many of the beam's slots; the others are ranked without their provisional bonus.
        self.graphs = ([(s.weight, s.lm) for s in self.scorers if isinstance(s.lm, ContextGraph)]
                       if self.hotword_beam else [])
        if self.graphs:
            root = self.beam_[0]
            root.nodes = tuple(g.start for _, g in self.graphs)
            root.held = _held(self.graphs, root.nodes)
        self.frames = 0
        self.vocab: int | None = None
        self._grown_since_compact = 0

    # ---- frames ------------------------------------------------------------------------------
    def advance(self, log_probs: torch.Tensor) -> None:
        """log_probs: (T, V) CTC log-probabilities of the next T frames (T may be 0)."""
        if self.finished:
            raise RuntimeError("advance() after finish()")
        lp = log_probs.float().cpu()
        if lp.dim() != 2:
            raise ValueError(f"log_probs must be (T, V), got shape {tuple(lp.shape)}")
        if lp.size(0) == 0:
            return
        if self.vocab is None:
            self.vocab = lp.size(1)
        elif lp.size(1) != self.vocab:
            raise ValueError(f"log_probs have {lp.size(1)} units, earlier frames had {self.vocab}")
        topk = min(self.prune_topk, self.vocab)
        # The same stable sort as the one-shot search: the lower unit id first among equal log-probs.
        cand_lp, cand_ids = (x[..., :topk] for x in torch.sort(lp, dim=-1, descending=True, stable=True))
        ids_l, lps_l, blank_l = cand_ids.tolist(), cand_lp.tolist(), lp[:, self.blank_id].tolist()
        for t in range(lp.size(0)):
            ids, lps = ids_l[t], lps_l[t]
            if self.token_min_logp is not None:
                keep = [j for j, (c, v) in enumerate(zip(ids, lps)) if v >= self.token_min_logp and c != self.blank_id]
                ids, lps = [ids[j] for j in keep], [lps[j] for j in keep]
            self._frame(lp[t], ids, lps, blank_l[t])
            self.frames += 1
        if self._grown_since_compact >= self.compact_every:
            self._compact()

    def _frame(self, lp_t: torch.Tensor, ids: list[int], scores: list[float], blank: float) -> None:
        """One frame of the reference search for one utterance (same order of operations, same ties)."""
        scorers, n_sc, vocab = self.scorers, len(self.scorers), self.vocab
        node_parent, node_unit, child = self.node_parent, self.node_unit, self.child
        lm_cols: list[list[list[float]]] = []
        if scorers and ids:
            rows = [p.row for p in self.beam_.values()]
            rows_t = torch.tensor(rows, dtype=torch.long)
            cands_t = torch.tensor([ids] * len(rows), dtype=torch.long)
            for s, st in zip(scorers, self.states):
                lm_cols.append(s.lm.score(s.lm.select_states(st, rows_t), cands_t).tolist())
        frame_of = dict(zip(ids, scores))
        new_ext: list[tuple[int, int, int]] = []  # (prefix node, parent row, unit)
        nxt: dict[int, _Prefix] = {}
        for r, (y, p) in enumerate(self.beam_.items()):
            cur = nxt.get(y)
            if cur is None:
                cur = nxt[y] = _Prefix(NEG_INF, NEG_INF, p.lm, p.lm_each, p.row, p.nodes, p.held)
            p_all = _logadd(p.p_b, p.p_nb)
            cur.p_b = _logadd(cur.p_b, p_all + blank)
            last = node_unit[y]
            if y:
                rep = frame_of.get(last)
                if rep is None:
                    rep = float(lp_t[last])
                cur.p_nb = _logadd(cur.p_nb, p.p_nb + rep)
            for j, c in enumerate(ids):
                if c == self.blank_id:
                    continue
                key = y * vocab + c
                ext = child.get(key)
                if ext is None:
                    ext = child[key] = len(node_unit)
                    node_parent.append(y)
                    node_unit.append(c)
                    self._grown_since_compact += 1
                q = nxt.get(ext)
                if q is None:
                    if n_sc:
                        each = [cols[r][j] for cols in lm_cols]
                        fused = sum(w * v for w, v in zip(self.weights, each))
                        q = _Prefix(NEG_INF, NEG_INF, p.lm + fused, [a + e for a, e in zip(p.lm_each, each)], -1)
                    else:
                        q = _Prefix(NEG_INF, NEG_INF, p.lm, [], -1)
                    if self.graphs:
                        q.nodes = tuple(g.step(n, c)[0] for (_, g), n in zip(self.graphs, p.nodes))
                        q.held = _held(self.graphs, q.nodes)
                    nxt[ext] = q
                    new_ext.append((ext, p.row, c))
                q.p_nb = _logadd(q.p_nb, (p.p_b if c == last else p_all) + scores[j])
        if self.graphs:
            nxt = _select_with_hotword_beam(nxt, self.beam, self.hotword_beam, self.beam_prune_logp)
        elif len(nxt) > self.beam:
            nxt = dict(sorted(nxt.items(), key=lambda kv: kv[1].total(), reverse=True)[: self.beam])
        if not self.graphs and self.beam_prune_logp is not None and len(nxt) > 1:
            floor = max(q.total() for q in nxt.values()) - self.beam_prune_logp
            nxt = {k: q for k, q in nxt.items() if q.total() >= floor}
        self.beam_ = nxt
        if not scorers or not new_ext:
            return
        kept = [p for p in nxt.values() if p.row >= 0]
        grown = [(nxt[y], row, c) for y, row, c in new_ext if y in nxt and nxt[y].row < 0]
        kept_t = torch.tensor([p.row for p in kept], dtype=torch.long)
        parents = torch.tensor([row for _, row, _ in grown], dtype=torch.long)
        units = torch.tensor([c for _, _, c in grown], dtype=torch.long)
        for k, s in enumerate(scorers):
            part = s.lm.select_states(self.states[k], kept_t)
            self.states[k] = (s.lm.concat_states([part, s.lm.advance(self.states[k], parents, units)])
                              if grown else part)
        for i, p in enumerate(kept):
            p.row = i
        for i, (p, _, _) in enumerate(grown):
            p.row = len(kept) + i

    def _compact(self) -> None:
        """Rebuild the trie with the live prefixes and their ancestors only (bounded memory on long streams)."""
        keep: dict[int, int] = {0: 0}
        parent, unit = [-1], [-1]

        def node(y: int) -> int:
            path = []
            while y not in keep:
                path.append(y)
                y = self.node_parent[y]
            for z in reversed(path):
                keep[z] = len(unit)
                parent.append(keep[self.node_parent[z]])
                unit.append(self.node_unit[z])
            return keep[path[0]] if path else keep[y]

        self.beam_ = {node(y): p for y, p in self.beam_.items()}
        self.node_parent, self.node_unit = parent, unit
        vocab = self.vocab or 1
        self.child = {parent[i] * vocab + unit[i]: i for i in range(1, len(unit))}
        self._grown_since_compact = 0

    # ---- results -----------------------------------------------------------------------------
    def _units(self, y: int) -> tuple[int, ...]:
        out = []
        while y:
            out.append(self.node_unit[y])
            y = self.node_parent[y]
        return tuple(reversed(out))

    def partial(self, nbest: int = 1) -> list[Hypothesis]:
        """The best prefixes so far by log(p_b + p_nb) + LM score (no end-of-sentence term), best first."""
        ranked = sorted(self.beam_.items(), key=lambda kv: kv[1].total(), reverse=True)[:nbest]
        return [Hypothesis(self._units(y), p.total(), _logadd(p.p_b, p.p_nb),
                           {s.name: v for s, v in zip(self.scorers, p.lm_each)}) for y, p in ranked]

    def finish(self, nbest: int = 1) -> list[Hypothesis]:
        """The final n-best: each scorer's end-of-sentence score added, exactly as the one-shot search ends."""
        if self.finished:
            raise RuntimeError("finish() called twice")
        self.finished = True
        prefixes = list(self.beam_.items())
        ends: list[list[float]] = []
        if self.scorers:
            rows_t = torch.tensor([p.row for _, p in prefixes], dtype=torch.long)
            ends = [s.lm.final_score(s.lm.select_states(st, rows_t)).tolist()
                    for s, st in zip(self.scorers, self.states)]
        finals = []
        for i, (y, p) in enumerate(prefixes):
            each = [e[i] for e in ends]
            am = _logadd(p.p_b, p.p_nb)
            lm_total = p.lm + sum(w * v for w, v in zip(self.weights, each))
            lm_scores = {s.name: a + e for s, a, e in zip(self.scorers, p.lm_each, each)}
            finals.append(Hypothesis(self._units(y), am + lm_total, am, lm_scores))
        finals.sort(key=lambda h: h.score, reverse=True)
        return finals[:nbest]
