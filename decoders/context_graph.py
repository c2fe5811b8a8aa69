"""Hotwords (context biasing) as a scorer: an Aho-Corasick automaton over the hotword phrases' units.

Contextual biasing with a context graph (Aho & Corasick, 1975, "Efficient string matching"; applied to
end-to-end ASR by Jung et al., 2022, "Spell my name: keyword boosted speech recognition", and by icefall's
and WeNet's context graphs). The phrases' unit sequences (BPE pieces of a CTC model, an LLM's tokens) form
a trie; every node n has a *pending* score

    s(n) = sum of the bonuses of the units on the path root -> n

(a unit's bonus is the largest weight of the phrases through that node). A hypothesis carries one node;
growing it by unit u moves it to the longest suffix of (its matched units + u) that is a trie path (goto
arcs, else fail arcs: classic Aho-Corasick), and scores

    score(n, u) = s(n') - s(n) + o(n')

where n' is the node reached: a matched unit earns its bonus; a partial match that fails pays back what
it had earned beyond the suffix it falls back to; ``o(n')`` *banks* the bonus w_p |p| of every phrase p
that ends at n' (p itself and, through fail links, the phrases that are suffixes of it), so a completed
phrase keeps its bonus. A node without children is left at once for its fail node (paying back its
pending score, the bank keeps the phrase), so the score never counts a finished phrase twice for longer
than one step. At the end, ``final_score(n) = -s(n)`` takes back an unfinished partial match. With weight
``hotword_weight`` λ_h in the scorer list, a hypothesis y gains λ_h Σ_{phrases p completed in y} w_p |p|.

Implements :class:`lm.interface.LanguageModel` (state: one node id per hypothesis, a LongTensor), so it
joins any beam search's scorer list with a weight: every method on the CTC head and the speech LLM's
autoregressive search. This module is the reference; the compiled CTC core runs the same arithmetic from
the arrays of :meth:`ContextGraph.arrays` (``decoders/csrc/context_graph.hh``), tested equal.

``start_unit``: for character vocabularies a phrase starts with the word delimiter (so "cat" does not
match inside "concat"); the delimiter's arc has bonus 0 and an empty hypothesis starts after it, so a
phrase at the start of an utterance matches too.

``boundary`` (whole words): per unit, whether a word boundary comes before it (a unit that starts a word,
or punctuation). The automaton then reads a boundary symbol # before each such unit and at the end, and
every phrase ends with # (and has # before each later word of it): a phrase is banked only when the next
word starts or the hypothesis ends, so ``mark`` no longer matches inside ``marked`` and a short name that
is the start of a common word (``devo`` in ``devour``) earns nothing there. # earns no bonus; a unit
after a boundary scores both steps, summed: score(n, #) + score(n#, u).

The pending score s(n) of a partial match is provisional: a search may rank hypotheses without it and
keep partial matches in a small beam of their own (``hotword_beam`` of :mod:`decoders.ctc_prefix_beam`).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence

import torch


def _f32(x: float) -> float:
    """``x`` rounded to float32, as the compiled core rounds its scores."""
    return float(torch.tensor(x, dtype=torch.float32))


class ContextGraph:
    """Hotword phrases (unit-id sequences with weights) as a :class:`lm.interface.LanguageModel`."""

    unit = "token"
    kind = "hotwords"

    def __init__(self, phrases: Sequence[Sequence[int]], weights: Sequence[float] | None = None,
                 vocab: Sequence[str] = (), start_unit: int | None = None,
                 boundary: Sequence[bool] | None = None):
        weights = [1.0] * len(phrases) if weights is None else [float(w) for w in weights]
        if len(weights) != len(phrases):
            raise ValueError("one weight per phrase expected")
        self._vocab = list(vocab)
        self.phrases = [tuple(int(u) for u in p) for p in phrases]
        self.weights = weights
        # Whole words: the boundary symbol is one id past the units (never a unit of the search).
        self.boundary = None if boundary is None else [bool(b) for b in boundary]
        self.boundary_symbol = -1 if boundary is None else len(self.boundary)
        if self.boundary is not None:
            sym, marks = self.boundary_symbol, self.boundary
            paths = [(p[0], *[x for u in p[1:] for x in ((sym, u) if marks[u] else (u,))], sym) if p else p
                     for p in self.phrases]
        else:
            paths = self.phrases
        # Trie: children[n] = {unit: child}; s = pending score; own = bonus of the phrases ending exactly at n.
        children: list[dict[int, int]] = [{}]
        unit_bonus = [0.0]  # bonus of the arc into each node: the largest weight of the phrases through it
        own = [0.0]  # bank of the phrases ending exactly at the node: w_p |p|
        for units, w in zip(paths, weights):
            n, length = 0, 0
            for i, u in enumerate(units):
                nxt = children[n].get(u)
                if nxt is None:
                    nxt = children[n][u] = len(children)
                    children.append({})
                    unit_bonus.append(0.0)
                    own.append(0.0)
                # The word delimiter before a phrase and the boundary symbol earn nothing.
                if not (i == 0 and u == start_unit) and u != self.boundary_symbol:
                    unit_bonus[nxt] = max(unit_bonus[nxt], w)
                    length += 1
                n = nxt
            if n:
                own[n] = max(own[n], w * length)
        # Breadth first: pending scores (sums of arc bonuses) and fail links (longest proper suffix in the trie).
        pending = [0.0] * len(children)
        fail = [0] * len(children)
        order: list[int] = []
        queue = deque([0])
        while queue:
            n = queue.popleft()
            if n:
                order.append(n)
            for u, c in children[n].items():
                pending[c] = pending[n] + unit_bonus[c]
                if n:
                    f = fail[n]
                    while f and u not in children[f]:
                        f = fail[f]
                    fail[c] = children[f].get(u, 0)
                queue.append(c)
        # Bank of a node: its own phrase plus every phrase that is a suffix of it (the fail chain).
        bank = list(own)
        for n in order:
            bank[n] = own[n] + bank[fail[n]]
        # A node without children is left at once for the longest suffix state that can still grow.
        land = list(range(len(children)))
        for n in order:
            if not children[n]:
                land[n] = land[fail[n]]
        self.children, self.pending, self.fail, self.bank, self.land = children, pending, fail, bank, land
        self.start = children[0].get(start_unit, 0) if start_unit is not None else 0
        self._cache: dict[tuple[int, int], tuple[int, float]] = {}

    @property
    def num_nodes(self) -> int:
        return len(self.children)

    @property
    def vocab(self) -> list[str]:
        return self._vocab

    def _move(self, node: int, unit: int) -> tuple[int, float]:
        """One automaton step in float64: (next node, s(n') - s(n) + bank(reached))."""
        children, f = self.children, node
        while f and unit not in children[f]:
            f = self.fail[f]
        reached = children[f].get(unit, 0)
        nxt = self.land[reached]
        return nxt, self.pending[nxt] - self.pending[node] + self.bank[reached]

    def step(self, node: int, unit: int) -> tuple[int, float]:
        """(next node, score) for growing a hypothesis at ``node`` by ``unit``; the arithmetic of the docstring
        (with whole words, the boundary step first when ``unit`` follows a boundary), in float64 and rounded to
        float32 once (the compiled core rounds the same way)."""
        key = (node, unit)
        hit = self._cache.get(key)
        if hit is not None:
            return hit
        if self.boundary is not None and unit < len(self.boundary) and self.boundary[unit]:
            mid, first = self._move(node, self.boundary_symbol)
            nxt, second = self._move(mid, unit)
            score = first + second
        else:
            nxt, score = self._move(node, unit)
        hit = (nxt, _f32(score))
        self._cache[key] = hit
        return hit

    def end(self, node: int) -> float:
        """The score at the end of a hypothesis, float64: the boundary step (a phrase just finished is banked),
        then the pending score of an unfinished partial match taken back."""
        if self.boundary is None:
            return -self.pending[node]
        mid, first = self._move(node, self.boundary_symbol)
        return first - self.pending[mid]

    def continuations(self, node: int) -> list[int]:
        """The units that extend ``node``'s partial match (through a word boundary of a multi-word phrase);
        none at the start node."""
        if node == self.start:
            return []
        out = []
        for u, child in self.children[node].items():
            if u == self.boundary_symbol:
                out += [v for v in self.children[child] if v != self.boundary_symbol]
            else:
                out.append(u)
        return out

    def proposals(self, state: torch.Tensor) -> list[list[int]]:
        """Per hypothesis, the units that continue its partial match: an autoregressive search scores these
        besides its head's most likely tokens (:func:`decoders.ar_beam.ar_beam_search`), so a phrase the
        head would not propose on its own can still be completed once it has started."""
        return [self.continuations(n) for n in state.tolist()]

    def init_state(self, batch: int) -> torch.Tensor:
        return torch.full((batch,), self.start, dtype=torch.long)

    def score(self, state: torch.Tensor, candidates: torch.Tensor | None = None) -> torch.Tensor:
        if candidates is None:
            candidates = torch.arange(len(self._vocab)).expand(len(state), -1)
        out = [[self.step(n, u)[1] for u in row] for n, row in zip(state.tolist(), candidates.tolist())]
        return torch.tensor(out, dtype=torch.float32).reshape(candidates.shape)

    def advance(self, state: torch.Tensor, parents: torch.Tensor, units: torch.Tensor) -> torch.Tensor:
        nodes = state[parents].tolist()
        return torch.tensor([self.step(n, u)[0] for n, u in zip(nodes, units.tolist())], dtype=torch.long)

    def final_score(self, state: torch.Tensor) -> torch.Tensor:
        """Bank a phrase that ends the hypothesis (whole words), take back an unfinished partial match."""
        return torch.tensor([self.end(n) for n in state.tolist()], dtype=torch.float32)

    def select_states(self, state: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
        return state[rows]

    def concat_states(self, states: Sequence[torch.Tensor]) -> torch.Tensor:
        return torch.cat(list(states))

    def score_sentences(self, sentences: Sequence[Sequence[int]]) -> torch.Tensor:
        """The total bonus of each unit sequence: Σ over completed phrases of w_p |p|."""
        out = []
        for s in sentences:
            n, total = self.start, 0.0
            for u in s:
                n, v = self.step(n, int(u))
                total += v
            out.append(total + _f32(self.end(n)))
        return torch.tensor(out, dtype=torch.float32)

    def encode_text(self, text: str) -> list[int]:
        raise NotImplementedError("a context graph scores the units of the search; it cannot re-encode text")

    def arrays(self) -> dict[str, list]:
        """The graph as flat arrays for the compiled core: CSR arcs sorted by unit, fail/land links, pending
        and bank scores (float64), the start node, the per-unit boundary flags (empty: phrases match
        anywhere) and the boundary symbol."""
        arc_start, arc_unit, arc_next = [0], [], []
        for ch in self.children:
            for u in sorted(ch):
                arc_unit.append(u)
                arc_next.append(ch[u])
            arc_start.append(len(arc_unit))
        return {"arc_start": arc_start, "arc_unit": arc_unit, "arc_next": arc_next, "fail": self.fail,
                "land": self.land, "pending": self.pending, "bank": self.bank, "start": self.start,
                "boundary": self.boundary or [], "boundary_symbol": self.boundary_symbol}

    def __repr__(self) -> str:
        return f"ContextGraph({len(self.phrases)} phrases, {self.num_nodes} nodes)"
