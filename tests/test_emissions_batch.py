"""Emissions from any source become per-utterance log-probabilities, each checked and normalised on its own
frames only, and are searched in groups of similar length."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from asrkit.errors import UserError
from asrkit.inference import emissions_decoder
from asrkit.inference.emissions_decoder import EmissionsDecoder, log_prob_items
from asrkit.models.bundled import resolve_model_dir
from asrkit.tokenizer.spm import Tokenizer
from decoders.vocabulary import Vocabulary


def _logits(seed: int, frames: int, units: int = 5) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(frames, units)).astype(np.float32) * 3


def test_list_and_padded_batch_agree_and_padding_is_never_read():
    items = [_logits(0, 7), _logits(1, 3), _logits(2, 5)]
    lp_list = log_prob_items(items, vocab_size=5)
    padded = np.full((3, 7, 5), -np.inf, dtype=np.float32)  # -inf padding: not an error, never normalised
    for i, e in enumerate(items):
        padded[i, : len(e)] = e
    lp_pad = log_prob_items(padded, lengths=[7, 3, 5], vocab_size=5)
    assert [len(e) for e in lp_list] == [len(e) for e in lp_pad] == [7, 3, 5]
    for e, a, b in zip(items, lp_list, lp_pad):
        want = torch.log_softmax(torch.from_numpy(e), dim=-1)
        assert torch.allclose(a, want) and torch.allclose(b, want)
    vocab = Vocabulary(["<blk>", "a", "b", "c", "d"])
    dec = EmissionsDecoder(vocab, method="beam", beam=4)
    assert dec.decode(items) == dec.decode(padded, lengths=[7, 3, 5])


@pytest.mark.parametrize("make, message", [
    (lambda: [_logits(0, 4), np.full((2, 5), -np.inf, dtype=np.float32)], "emissions 1: a frame without"),
    (lambda: [_logits(0, 4), _logits(1, 3, units=6)], "emissions 1: 6 units per frame"),
    (lambda: [_logits(0, 4, units=6)], "6 units per frame but the vocabulary has 5"),
    (lambda: [_logits(0, 4)[0]], "emissions 0: expected (frames, units)"),
])
def test_bad_emissions_get_one_line(make, message):
    with pytest.raises(UserError, match=message.replace("(", r"\(").replace(")", r"\)")):
        log_prob_items(make(), vocab_size=5)


@pytest.mark.parametrize("special", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("n_special", [1, 4, 5])
def test_the_quick_finite_test_decides_as_the_element_wise_one(special, n_special):
    """A frame passes when any of its scores is finite, whatever the others are (NaN, +inf, -inf); the frame
    maximum decides first and the element-wise test only where it is not finite."""
    e = _logits(0, 3)
    e[1, :n_special] = special
    ok = bool(np.isfinite(e).any(axis=-1).all())
    if ok:
        log_prob_items([e], vocab_size=5)
    else:
        with pytest.raises(UserError, match="emissions 0: a frame without any finite score"):
            log_prob_items([e], vocab_size=5)
    assert ok == (n_special < 5)


def test_lengths_outside_the_batch_are_refused():
    with pytest.raises(UserError, match="lengths must be 2 values in 0..4 frames"):
        log_prob_items(np.zeros((2, 4, 5), dtype=np.float32), lengths=[4, 5], vocab_size=5)


def test_length_groups_give_the_same_hypotheses_in_the_input_order(monkeypatch):
    """More utterances than one search call takes: grouped by length, answered in the order given."""
    rng = np.random.default_rng(3)
    items = [_logits(i, int(rng.integers(1, 12))) for i in range(23)]
    vocab = Vocabulary(["<blk>", "a", "b", "c", "d"])
    dec = EmissionsDecoder(vocab, method="beam", beam=4)
    one_by_one = [dec.decode([e])[0] for e in items]
    monkeypatch.setattr(emissions_decoder, "_GROUP", 5)
    assert dec.decode(items) == one_by_one
    assert [h[0].units for h in dec.hypotheses(items)] == [dec.hypotheses([e])[0][0].units for e in items]
    assert dec.decode([]) == []


def test_sentencepiece_text_has_one_space_between_words():
    """A lone word-start piece between two words (a CTC search may emit it) decodes to one space, from both
    the decoding vocabulary and the models' tokenizer (sentencepiece itself writes two)."""
    path = resolve_model_dir(None) / "tokenizer.model"
    vocab, tok = Vocabulary.from_sentencepiece(str(path)), Tokenizer(str(path))
    ids = tok.encode("who") + [tok.sp.piece_to_id("\u2581")] + tok.encode("to hear")
    assert "  " in tok.sp.decode(ids)  # the case being fixed is real
    assert vocab.decode(ids) == tok.decode(ids) == "who to hear"
