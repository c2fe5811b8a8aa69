"""CTC prefix beam search: exact on tiny inputs, and an LM that must flip an ambiguous unit."""

import itertools
import math

import torch

from asrkit.tokenizer import train_tokenizer
from decoders.ctc_prefix_beam import ctc_prefix_beam_search
from decoders.scorer import WeightedScorer
from lm.ngram.build import build_ngram
from lm.ngram.kenlm_lm import KenLM


def exhaustive(log_probs: torch.Tensor, blank: int = 0) -> dict[tuple[int, ...], float]:
    """log p(y | x) of every label sequence, summing all V^T frame paths."""
    t, v = log_probs.shape
    out: dict[tuple[int, ...], float] = {}
    for path in itertools.product(range(v), repeat=t):
        y, prev = [], None
        for u in path:
            if u != prev and u != blank:
                y.append(u)
            prev = u
        lp = float(sum(log_probs[i, u] for i, u in enumerate(path)))
        key = tuple(y)
        out[key] = lp if key not in out else float(torch.logaddexp(torch.tensor(out[key]), torch.tensor(lp)))
    return out


def test_prefix_search_equals_exhaustive_search():
    g = torch.Generator().manual_seed(0)
    for _ in range(5):
        lp = torch.log_softmax(torch.randn(5, 3, generator=g) * 2, dim=-1)
        exact = exhaustive(lp)
        best = max(exact, key=exact.get)
        hyps = ctc_prefix_beam_search(lp, beam=64, prune_topk=3, nbest=3)
        assert hyps[0].units == best
        assert math.isclose(hyps[0].am_score, exact[best], abs_tol=1e-5)
        for h in hyps:
            assert math.isclose(h.am_score, exact[h.units], abs_tol=1e-5)


def test_shallow_fusion_resolves_an_ambiguous_unit(tmp_path):
    corpus = ["the cat sat on the mat", "the cat ate the rat", "a cat sat on a mat"] * 20
    (tmp_path / "c.txt").write_text("\n".join(corpus) + "\n")
    tok = train_tokenizer(corpus, tmp_path / "sp.model", vocab_size=40)
    build_ngram([tmp_path / "c.txt"], 3, "token", tmp_path / "lm.arpa", tokenizer=tok, memory="64M")
    lm = KenLM.load(tmp_path / "lm.arpa", tokenizer=tok)
    target = tok.encode("the cat sat on the mat")
    wrong = tok.encode("the cat rat on the mat")
    assert target != wrong and len(target) == len(wrong)
    k = next(i for i, (a, b) in enumerate(zip(target, wrong)) if a != b)
    # Peaky emissions for the target, except that unit k is a coin flip between the two words.
    frames = []
    for i, u in enumerate(target):
        row = torch.full((tok.vocab_size,), -20.0)
        if i == k:
            row[wrong[k]] = math.log(0.5) + 0.01  # the acoustics lean, slightly, to the wrong unit
            row[u] = math.log(0.5) - 0.01
        else:
            row[u] = 0.0
        frames += [row, torch.full((tok.vocab_size,), -20.0).index_fill(0, torch.tensor([0]), 0.0)]
    lp = torch.log_softmax(torch.stack(frames), dim=-1)
    plain = ctc_prefix_beam_search(lp, beam=4)
    assert list(plain[0].units) == wrong
    fused = ctc_prefix_beam_search(lp, beam=4, scorers=[WeightedScorer(lm, 0.5)])
    assert list(fused[0].units) == target
    # The reported LM score is the LM's own log-probability of the whole sentence.
    want = float(lm.score_sentences([target])[0])
    assert math.isclose(fused[0].lm_scores["lm"], want, rel_tol=1e-4)
