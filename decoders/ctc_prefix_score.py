"""CTC prefix scoring: a CTC head's probability of a label *prefix*, as a scorer of a label-synchronous search.

Joint CTC/attention decoding (Watanabe et al., 2017, "Hybrid CTC/Attention Architecture for End-to-End
Speech Recognition", Algorithm 2; ESPnet's ``CTCPrefixScorer``) adds, when a hypothesis g grows by a label
c, ``lambda (log psi(g c) - log psi(g))`` where

    psi(h) = sum over every CTC path of the first t frames whose labels read h, for any t
           = sum_t  phi_{t-1}(g, c) x_t(c),       phi_{t-1}(g, c) = r^b_{t-1}(g) + [c != last(g)] r^n_{t-1}(g)

is the CTC prefix probability, with the forward variables ``r^n_t(h)`` / ``r^b_t(h)`` (all paths of frames
1..t that read h and end in a label / a blank) carried per hypothesis:

    r^n_t(h) = (r^n_{t-1}(h) + phi_{t-1}(g, c)) x_t(c),      r^b_t(h) = (r^b_{t-1}(h) + r^n_{t-1}(h)) x_t(blank)

(sums in probability space, computed as log-add-exp). When the hypothesis ends, the end score is the full
CTC probability ``log (r^n_T(g) + r^b_T(g)) - log psi(g)``. A label CTC cannot emit (its blank) scores
``LOG_ZERO``. Summed over a finished hypothesis, the increments give exactly ``log p_CTC(y | x)``, so the
attention head can no longer add or drop words the audio does not support (its typical hallucinations).

This is a :class:`lm.interface.LanguageModel` over the search's own units, conditioned on one utterance per
row (like a speech LLM's prefix LM), so it joins :func:`decoders.ar_beam.ar_beam_search` with a weight.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

LOG_ZERO = -1.0e10  # ESPnet's logzero: finite, so weighted sums stay ordered


@dataclass
class CTCPrefixState:
    r: torch.Tensor  # (R, T, 2): log r^n_t, log r^b_t of each row's prefix
    psi: torch.Tensor  # (R,): log psi of the prefix
    last: torch.Tensor  # (R,): last label of the prefix, -1 for the empty prefix
    utt: torch.Tensor  # (R,): which utterance's frames the row reads
    # The last `score` call's results, so `advance` reuses them: (candidates (R, K), r of each extension
    # (R, K, T, 2), psi of each extension (R, K)).
    cache: tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None = None


def _logadd(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return torch.logaddexp(a, b)


class CTCPrefixScorer:
    """``log_probs`` (B, T, V): CTC log-posteriors over the search's vocabulary; ``lengths`` (B,) valid frames."""

    unit = "token"

    def __init__(self, log_probs: torch.Tensor, lengths: torch.Tensor, blank_id: int, vocab: Sequence[str]):
        self.x = log_probs.float().clamp(min=LOG_ZERO)
        self.lengths = lengths.long().cpu()
        self.blank = int(blank_id)
        self._vocab = list(vocab)

    @property
    def vocab(self) -> list[str]:
        return self._vocab

    @property
    def batch_size(self) -> int:
        return self.x.shape[0]

    def init_state(self, batch: int) -> CTCPrefixState:
        if batch != self.batch_size:
            raise ValueError(f"this scorer holds {self.batch_size} utterances; init_state({batch}) must match")
        t = self.x.shape[1]
        valid = torch.arange(t)[None, :] < self.lengths[:, None]
        # The empty prefix: only blanks so far.
        r_b = torch.cumsum(torch.where(valid, self.x[:, :, self.blank], 0.0), dim=1)
        r_n = torch.full_like(r_b, LOG_ZERO)
        return CTCPrefixState(torch.stack([r_n, r_b], -1), torch.zeros(batch), torch.full((batch,), -1),
                              torch.arange(batch))

    def _extend(self, state: CTCPrefixState, cand: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Forward variables (R, K, T, 2) and log psi (R, K) of every row's prefix + each candidate."""
        x = self.x[state.utt]  # (R, T, V)
        rows, k = cand.shape
        n_t = x.shape[1]
        x_c = x.gather(2, cand[:, None, :].expand(rows, n_t, k)).permute(0, 2, 1)  # (R, K, T)
        x_b = x[:, :, self.blank][:, None, :]  # (R, 1, T)
        r_n, r_b = state.r[..., 0][:, None, :], state.r[..., 1][:, None, :]  # (R, 1, T)
        # phi: the prefix's paths a new c may follow; after the same label only a blank-ended path.
        same = (cand == state.last[:, None])[:, :, None]
        phi = torch.where(same, r_b, _logadd(r_b, r_n))  # (R, K, T)
        lens = self.lengths[state.utt][:, None]  # (R, 1)
        empty = (state.last < 0)[:, None]
        out_n = torch.full((rows, k, n_t), LOG_ZERO)
        out_b = torch.full((rows, k, n_t), LOG_ZERO)
        out_n[:, :, 0] = torch.where(empty, x_c[:, :, 0], LOG_ZERO)
        psi = out_n[:, :, 0].clone()
        for t in range(1, int(lens.max()) if rows else 0):
            out_n[:, :, t] = _logadd(out_n[:, :, t - 1], phi[:, :, t - 1]) + x_c[:, :, t]
            out_b[:, :, t] = _logadd(out_b[:, :, t - 1], out_n[:, :, t - 1]) + x_b[:, :, t]
            psi = torch.where(t < lens, _logadd(psi, phi[:, :, t - 1] + x_c[:, :, t]), psi)
        psi = torch.where(cand == self.blank, LOG_ZERO, psi)
        return torch.stack([out_n, out_b], -1), psi

    def score(self, state: CTCPrefixState, candidates: torch.Tensor | None = None) -> torch.Tensor:
        """``log psi(g c) - log psi(g)`` per row g and candidate c, (R, K) (or (R, V) over the vocabulary)."""
        if candidates is None:
            candidates = torch.arange(len(self._vocab)).expand(len(state.psi), -1)
        cand = candidates.long().cpu()
        r, psi = self._extend(state, cand)
        state.cache = (cand, r, psi)
        return (psi - state.psi[:, None]).clamp(min=LOG_ZERO)

    def advance(self, state: CTCPrefixState, parents: torch.Tensor, units: torch.Tensor) -> CTCPrefixState:
        parents, units = parents.long().cpu(), units.long().cpu()
        hit = None
        if state.cache is not None:
            cand, r_all, psi_all = state.cache
            match = cand[parents] == units[:, None]  # (N, K)
            if bool(match.any(1).all()):
                col = match.float().argmax(1)
                hit = (r_all[parents, col], psi_all[parents, col])
        if hit is None:  # a unit that was not among the scored candidates: extend it on its own
            sub = self.select_states(state, parents)
            r1, psi1 = self._extend(sub, units[:, None])
            hit = (r1[:, 0], psi1[:, 0])
        return CTCPrefixState(hit[0], hit[1], units, state.utt[parents])

    def final_score(self, state: CTCPrefixState) -> torch.Tensor:
        """``log p_CTC(prefix | x) - log psi(prefix)``: the whole utterance reads exactly the prefix."""
        last = (self.lengths[state.utt] - 1).clamp(min=0)
        rows = torch.arange(len(state.psi))
        full = _logadd(state.r[rows, last, 0], state.r[rows, last, 1])
        return (full - state.psi).clamp(min=LOG_ZERO)

    def select_states(self, state: CTCPrefixState, rows: torch.Tensor) -> CTCPrefixState:
        rows = rows.long().cpu()
        return CTCPrefixState(state.r[rows], state.psi[rows], state.last[rows], state.utt[rows])

    def concat_states(self, states: Sequence[CTCPrefixState]) -> CTCPrefixState:
        return CTCPrefixState(torch.cat([s.r for s in states]), torch.cat([s.psi for s in states]),
                              torch.cat([s.last for s in states]), torch.cat([s.utt for s in states]))

    def score_sentences(self, sentences: Sequence[Sequence[int]], rows: Sequence[int] | None = None) -> torch.Tensor:
        """``log p_CTC(y | x_row)`` of each label sequence (rows default to 0..N-1)."""
        rows_t = torch.tensor(list(range(len(sentences))) if rows is None else list(rows), dtype=torch.long)
        state = self.select_states(self.init_state(self.batch_size), rows_t)
        total = torch.zeros(len(sentences))
        width = max((len(s) for s in sentences), default=0)
        for i in range(width):
            live = torch.tensor([len(s) > i for s in sentences])
            units = torch.tensor([s[i] if len(s) > i else self.blank for s in sentences], dtype=torch.long)
            inc = self.score(state, units[:, None])[:, 0]
            total += torch.where(live, inc, 0.0)
            nxt = self.advance(state, torch.arange(len(sentences)), units)
            keep = live[:, None, None]
            state = CTCPrefixState(torch.where(keep, nxt.r, state.r), torch.where(live, nxt.psi, state.psi),
                                   torch.where(live, nxt.last, state.last), state.utt)
        return total + self.final_score(state)

    def encode_text(self, text: str) -> list[int]:
        raise NotImplementedError("a CTC prefix scorer scores the search's own units; it cannot re-encode text")
