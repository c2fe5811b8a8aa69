"""CTC prefix scoring (joint CTC/attention decoding) against torch's CTC loss and brute force."""

from __future__ import annotations

import itertools
import math

import torch
import torch.nn.functional as F

from decoders.ar_beam import ar_beam_search
from decoders.ctc_prefix_score import CTCPrefixScorer
from decoders.scorer import WeightedScorer


def _emissions(seed: int, b: int = 2, t: int = 7, v: int = 5):
    g = torch.Generator().manual_seed(seed)
    lp = torch.log_softmax(torch.randn(b, t, v, generator=g) * 2, -1)
    return lp, torch.tensor([t, t - 2][:b])


def test_increments_sum_to_the_ctc_likelihood():
    lp, lens = _emissions(0)
    sc = CTCPrefixScorer(lp, lens, blank_id=0, vocab=[str(i) for i in range(5)])
    seqs = [[1, 2, 2], [3, 1]]
    got = sc.score_sentences(seqs)
    for b, y in enumerate(seqs):
        ref = -F.ctc_loss(lp[b : b + 1, : lens[b]].transpose(0, 1), torch.tensor([y]), lens[b : b + 1],
                          torch.tensor([len(y)]), blank=0, reduction="sum")
        assert abs(float(got[b]) - float(ref)) < 1e-4


def test_prefix_probability_is_the_sum_over_all_continuations():
    # psi(g) = sum over every label sequence starting with g of p_CTC(sequence); with 6 frames and 3 labels
    # this can be enumerated.
    lp, lens = _emissions(1, b=1, t=5, v=3)
    sc = CTCPrefixScorer(lp, lens[:1], blank_id=0, vocab=["-", "a", "b"])
    state = sc.init_state(1)
    inc = sc.score(state, torch.tensor([[1, 2]]))
    probs = torch.exp(lp[0])
    psi = {1: 0.0, 2: 0.0}
    for path in itertools.product(range(3), repeat=5):
        p = math.prod(float(probs[t, u]) for t, u in enumerate(path))
        labels = [u for i, u in enumerate(path) if u != 0 and (i == 0 or u != path[i - 1])]
        if labels:
            psi[labels[0]] += p
    assert abs(float(inc[0, 0]) - math.log(psi[1])) < 1e-4
    assert abs(float(inc[0, 1]) - math.log(psi[2])) < 1e-4


def test_the_blank_cannot_be_a_label():
    lp, lens = _emissions(2)
    sc = CTCPrefixScorer(lp, lens, blank_id=0, vocab=[str(i) for i in range(5)])
    s = sc.score(sc.init_state(2), torch.tensor([[0, 1], [0, 2]]))
    assert float(s[:, 0].max()) < -1e9 and float(s[:, 1].min()) > -1e3


class _FlatHead:
    """An AR 'head' with the same score for every token: the CTC scorer alone picks the labels."""

    unit = "token"

    def __init__(self, vocab: int, eos: int, batch: int):
        self.v, self.eos, self.batch_size, self.eos_id = vocab, eos, batch, eos

    def init_state(self, batch):
        return torch.zeros(batch)

    def score(self, state, candidates=None):
        return torch.full((len(state), self.v), -math.log(self.v))

    def advance(self, state, parents, units):
        return state[parents]

    def select_states(self, state, rows):
        return state[rows]

    def final_score(self, state):
        return torch.full((len(state),), -math.log(self.v))

    def concat_states(self, states):
        return torch.cat(list(states))


def test_joint_decoding_reads_what_ctc_hears():
    # Frames spell "1 2 3" unambiguously; a flat AR head alone could say anything. Unit 4 is the eos.
    t = torch.full((1, 9, 5), -20.0)
    for i, u in enumerate([1, 0, 2, 2, 0, 3, 0, 0, 0]):
        t[0, i, u] = 0.0
    lp = torch.log_softmax(t, -1)
    sc = CTCPrefixScorer(lp, torch.tensor([9]), blank_id=0, vocab=[str(i) for i in range(5)])
    head = _FlatHead(5, 4, 1)
    hyps = ar_beam_search(head, 1, 4, beam=3, scorers=[WeightedScorer(sc, 1.0, "ctc")], max_new_tokens=6,
                          pre_beam=5)
    assert hyps[0][0].units == (1, 2, 3)


def test_advance_extends_a_unit_that_was_not_scored():
    lp, lens = _emissions(3)
    sc = CTCPrefixScorer(lp, lens, blank_id=0, vocab=[str(i) for i in range(5)])
    st = sc.init_state(2)
    sc.score(st, torch.tensor([[1], [2]]))
    nxt = sc.advance(st, torch.tensor([0, 1]), torch.tensor([3, 4]))  # not among the candidates
    ref = sc.score(sc.init_state(2), torch.tensor([[3], [4]]))[:, 0]
    assert torch.allclose(nxt.psi, ref, atol=1e-5)


def test_speech_llm_joint_decoding_through_the_recognizer():
    from pathlib import Path

    import pytest

    import asrkit
    from asrkit.errors import UserError
    from asrkit.inference import Recognizer

    wav = str(Path(asrkit.__file__).parent / "samples" / "en-Mark.2.6.flac")
    plain = Recognizer("bible-en-speechllm-tiny", method="beam", beam=2, max_new_tokens=40)
    joint = Recognizer("bible-en-speechllm-tiny", method="beam", beam=2, max_new_tokens=40, ctc_weight=0.5)
    a, b = plain.transcribe([wav])[0], joint.transcribe([wav])[0]
    assert isinstance(b, str) and b
    assert a != b  # the CTC prefix score changes the search
    with pytest.raises(UserError, match="--task asr"):
        Recognizer("bible-en-speechllm-tiny", method="beam", task="ast", ctc_weight=0.5)
    with pytest.raises(UserError, match="speech LLM"):
        Recognizer("bible-en-ctc-small", method="beam", ctc_weight=0.5)
