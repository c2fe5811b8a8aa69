"""Autoregressive beam search over a decoder head (a speech LLM, an attention decoder) with weighted scorers.

The head is anything that implements :class:`lm.interface.LanguageModel` conditioned on its input (for a
speech LLM: ``SpeechLLM.prefix_lm``, whose states already hold the audio and prompt), plus ``eos_id``.
Each step extends every running hypothesis by one token; a token t after prefix y scores

    s(y, t) = log p_head(t | y, x) + sum_k lambda_k log p_k(t | y) + b * [t = eos]

where p_k(eos | y) is scorer k's ``final_score`` and ``b`` is an end-of-sentence bias. The running score
of y is the sum of s over its tokens. Finished hypotheses are ranked by

    S(y) = sum_t s(y_t) / |y|^alpha          (|y| counts the eos; alpha = length_penalty)

(Wu et al., 2016, GNMT; the form Hugging Face ``generate`` uses). With no scorers the search is
exactly Hugging Face's beam search (transformers 5.x ``_beam_search`` with ``early_stopping=False``):
2 * beam candidates per utterance and step, eos candidates among the best ``beam`` finish, the best
``beam`` others keep running, and an utterance stops once it has ``beam`` finished hypotheses and its
best running score divided by its current length^alpha cannot beat the worst of them.

Pre-beam pruning: with scorers, only the ``pre_beam`` most likely tokens of the head (per hypothesis)
are scored by the LMs (ESPnet's pre-beam), so a 150k-token LLM vocabulary never reaches an n-gram LM.
A scorer may add candidates of its own (``proposals(state)``: per hypothesis, a list of token ids): a
context graph proposes the tokens that continue a hotword it has started to match, which the head alone
would rarely rank among its best (a name it never saw in training).
Batched over utterances and hypotheses: one head call and one call per scorer per step.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from decoders.hypothesis import Hypothesis
from decoders.scorer import WeightedScorer
from lm.interface import LanguageModel

_DEAD = -1.0e9  # Hugging Face's "impossible" score, kept so rankings match theirs exactly


def ar_beam_search(
    head: LanguageModel,
    batch: int,
    eos_id: int,
    *,
    beam: int = 4,
    scorers: Sequence[WeightedScorer] = (),
    max_new_tokens: int = 200,
    length_penalty: float = 1.0,
    eos_bias: float = 0.0,
    min_new_tokens: int = 0,
    pre_beam: int | None = None,
    nbest: int = 1,
) -> list[list[Hypothesis]]:
    """Decode ``batch`` utterances whose conditioned head states come from ``head.init_state(batch)``.

    Returns, per utterance, its ``nbest`` best finished hypotheses (tokens without the eos), best first.
    ``Hypothesis.score`` is S(y) above, ``am_score`` the head's summed log-probability.
    """
    scorers = list(scorers)
    n_rows = batch * beam
    rows = torch.arange(batch).repeat_interleave(beam)
    h_state = head.select_states(head.init_state(batch), rows)
    s_states = [s.lm.select_states(s.lm.init_state(batch), rows) for s in scorers]
    running = torch.zeros(batch, beam)
    running[:, 1:] = _DEAD  # all beams start from the same prefix: keep one copy
    am = torch.zeros(batch, beam)
    each = torch.zeros(batch, beam, len(scorers))
    seqs: list[list[tuple[int, ...]]] = [[() for _ in range(beam)] for _ in range(batch)]
    finished: list[list[Hypothesis]] = [[] for _ in range(batch)]
    open_ = [True] * batch  # False once no running hypothesis can beat the finished ones
    keep = 2 * beam

    for step in range(max_new_tokens):
        head_lp = head.score(h_state).float()  # (R, V)
        vocab = head_lp.shape[1]
        if step < min_new_tokens:
            head_lp = head_lp.clone()  # the head's state owns this tensor
            head_lp[:, eos_id] = float("-inf")
        if scorers:
            k = min(pre_beam or max(keep, int(1.5 * beam)), vocab)
            cand = torch.topk(head_lp, k, dim=-1).indices  # (R, k)
            cand, valid = _with_proposals(cand, scorers, s_states, vocab)
            fused = head_lp.gather(1, cand)
            is_eos = cand == eos_id
            parts = []
            for s, st in zip(scorers, s_states):
                lm_lp = s.lm.score(st, cand).float()
                if bool(is_eos.any()):
                    lm_lp = torch.where(is_eos, s.lm.final_score(st).float().view(-1, 1), lm_lp)
                parts.append(lm_lp)
                fused = fused + s.weight * lm_lp
            lm_parts = torch.stack(parts, -1)  # (R, k, n_scorers)
            if valid is not None:  # padding and repeated proposals never win
                fused = torch.where(valid, fused, 4 * _DEAD)
        else:
            cand = None
            fused = head_lp
        fused = fused + torch.where((cand if cand is not None else torch.arange(vocab)) == eos_id, eos_bias, 0.0)
        width = fused.shape[1]
        total = (fused.view(batch, beam, width) + running[:, :, None]).view(batch, -1)
        top_scores, top_idx = torch.topk(total, keep, dim=-1)
        src_beam = top_idx // width
        col = top_idx % width
        last_step = step == max_new_tokens - 1

        new_running = torch.full((batch, beam), _DEAD)
        new_am = torch.zeros(batch, beam)
        new_each = torch.zeros(batch, beam, len(scorers))
        parents = torch.zeros(n_rows, dtype=torch.long)
        tokens = torch.zeros(n_rows, dtype=torch.long)
        new_seqs: list[list[tuple[int, ...]]] = []
        for b in range(batch):
            out_seqs: list[tuple[int, ...]] = []
            for j in range(keep):
                sb, c = int(src_beam[b, j]), int(col[b, j])
                r = b * beam + sb
                tok = int(cand[r, c]) if cand is not None else c
                score = float(top_scores[b, j])
                a = float(am[b, sb]) + float(head_lp[r, tok])
                e = each[b, sb] + (lm_parts[r, c] if scorers else 0.0)
                if tok == eos_id or last_step:
                    # Only the best `beam` candidates may finish (Hugging Face's top_num_beam_mask).
                    if j < beam and open_[b] and score > _DEAD / 2:
                        units = seqs[b][sb] + (() if tok == eos_id else (tok,))
                        norm = score / ((step + 1) ** length_penalty)
                        lm_scores = {s.name: float(v) for s, v in zip(scorers, e)}
                        finished[b].append(Hypothesis(units, norm, a, lm_scores))
                    continue
                if len(out_seqs) < beam:
                    i = len(out_seqs)
                    out_seqs.append(seqs[b][sb] + (tok,))
                    new_running[b, i], new_am[b, i] = score, a
                    if scorers:
                        new_each[b, i] = e
                    parents[b * beam + i], tokens[b * beam + i] = r, tok
            while len(out_seqs) < beam:  # every candidate finished: pad with dead copies
                parents[b * beam + len(out_seqs)] = b * beam
                out_seqs.append(())
            new_seqs.append(out_seqs)
            finished[b] = sorted(finished[b], key=lambda h: h.score, reverse=True)[:beam]
        running, am, each, seqs = new_running, new_am, new_each, new_seqs
        # An utterance is done when it has `beam` finished hypotheses that its best running one cannot beat.
        for b in range(batch):
            if open_[b] and len(finished[b]) == beam:
                best_running = float(running[b, 0]) / ((step + 1) ** length_penalty)
                open_[b] = best_running > finished[b][-1].score
        if last_step or not any(open_):
            break
        h_state = head.advance(h_state, parents, tokens)
        s_states = [s.lm.advance(st, parents, tokens) for s, st in zip(scorers, s_states)]
    return [f[:nbest] for f in finished]


def _with_proposals(cand: torch.Tensor, scorers: Sequence[WeightedScorer], states: list,
                    vocab: int) -> tuple[torch.Tensor, torch.Tensor | None]:
    """``cand`` (R, k) widened by the scorers' proposed tokens (those not already candidates), and a mask of
    the real columns (None when nothing was proposed)."""
    extra: list[list[int]] = [[] for _ in range(cand.shape[0])]
    for s, st in zip(scorers, states):
        propose = getattr(s.lm, "proposals", None)
        if propose is None:
            continue
        for row, units in zip(extra, propose(st)):
            row += [u for u in units if 0 <= u < vocab]
    width = max(map(len, extra))
    if not width:
        return cand, None
    have = cand.tolist()
    pad = torch.zeros(cand.shape[0], width, dtype=cand.dtype)
    ok = torch.zeros(cand.shape[0], width, dtype=torch.bool)
    for r, (row, seen) in enumerate(zip(extra, have)):
        seen = set(seen)
        for j, u in enumerate(row):
            if u not in seen:
                pad[r, j], ok[r, j] = u, True
                seen.add(u)
    if not bool(ok.any()):
        return cand, None
    valid = torch.cat([torch.ones_like(cand, dtype=torch.bool), ok], 1)
    return torch.cat([cand, pad], 1), valid
