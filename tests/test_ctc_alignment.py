"""CTC forced alignment (decoders/ctc_alignment.py) and word timestamps built on it."""

import itertools

import numpy as np
import pytest
import torch

from asrkit.longform.timestamps import group_words, word_timestamps
from asrkit.models import load_model
from decoders.ctc_alignment import ctc_forced_align


def _collapse(path, blank=0):
    out, prev = [], None
    for p in path:
        if p != prev and p != blank:
            out.append(p)
        prev = p
    return out


def _brute_force(lp, units):
    """The best frame path spelling ``units``, by trying every path."""
    best, best_path = -np.inf, None
    for path in itertools.product(range(lp.shape[1]), repeat=lp.shape[0]):
        if _collapse(path) == list(units):
            score = sum(lp[t, k] for t, k in enumerate(path))
            if score > best:
                best, best_path = score, path
    return best, best_path


def _spans_of(path, units):
    """Frame spans of each unit on a frame path (which frames emit the u-th unit)."""
    spans, u, prev = [], -1, 0
    for t, p in enumerate(path):
        if p != 0 and (p != prev):
            u += 1
            spans.append([t, t + 1])
        elif p != 0:
            spans[u][1] = t + 1
        prev = p
    return [tuple(s) for s in spans]


def test_known_alignment():
    """Frames that clearly say: blank blank A A blank B blank blank A(repeat) blank."""
    path = [0, 0, 1, 1, 0, 2, 0, 0, 1, 0]
    lp = np.full((len(path), 3), np.log(0.05))
    lp[np.arange(len(path)), path] = np.log(0.9)
    assert ctc_forced_align(lp, [1, 2, 1]) == [(2, 4), (5, 6), (8, 9)]


def test_matches_exhaustive_search():
    rng = np.random.default_rng(0)
    for units in ([1], [1, 2], [2, 2], [1, 2, 1], [1, 1, 2]):
        for n_frames in range(len(units) + 1, 7):
            lp = torch.log_softmax(torch.tensor(rng.normal(size=(n_frames, 3)) * 2), -1).numpy()
            best, path = _brute_force(lp, units)
            if path is None:
                assert ctc_forced_align(lp, units) is None
                continue
            spans = ctc_forced_align(lp, units)
            assert spans == _spans_of(path, units), (units, n_frames)


def test_infeasible_and_empty():
    lp = np.log(np.full((3, 3), 1 / 3))
    assert ctc_forced_align(lp, [1, 1, 1]) is None  # needs 5 frames (two blanks between repeats)
    assert ctc_forced_align(lp, []) == []
    assert ctc_forced_align(lp, [1, 2, 1]) is not None


def test_word_timestamps_of_a_known_alignment():
    model = load_model(None)
    tok = model.tokenizer
    units = tok.encode("the light was good")
    # One frame of blank, then each unit on two frames with a blank after it.
    path = [0]
    for u in units:
        path += [u, u, 0]
    lp = np.full((len(path), tok.vocab_size), -20.0, dtype=np.float32)
    lp[np.arange(len(path)), path] = 0.0
    words = word_timestamps(torch.from_numpy(lp), "the light was good", tok, 0.06, offset_s=10.0)
    assert [w.word for w in words] == ["the", "light", "was", "good"]
    # Expected from the path: a word runs from its first unit's first frame to its last unit's last frame.
    spans = ctc_forced_align(lp, units)
    expect = group_words(units, spans, tok)
    for w, (text, s, e) in zip(words, expect):
        assert w.word == text
        assert w.start == pytest.approx(10.0 + s * 0.06) and w.end == pytest.approx(10.0 + e * 0.06)
    assert words[0].start == pytest.approx(10.06)
    assert all(a.end <= b.start for a, b in zip(words, words[1:]))


def test_long_sequence_matches_its_own_path():
    """Hundreds of states (more than an int8 holds): the alignment recovers the path that made the frames."""
    rng = np.random.default_rng(1)
    units = [int(u) for u in rng.integers(1, 20, size=150)]
    path, spans = [0], []
    for u in units:
        n = int(rng.integers(1, 3))
        spans.append((len(path), len(path) + n))
        path += [u] * n + [0]
    lp = np.full((len(path), 20), -30.0, dtype=np.float32)
    lp[np.arange(len(path)), path] = 0.0
    assert ctc_forced_align(lp, units) == spans


def _random_emissions(rng: np.random.Generator, max_frames: int) -> tuple[np.ndarray, int]:
    """Random (T, V) float32 log-probabilities (1 <= T < max_frames, 2 <= V < 7) and a random blank id."""
    n_frames, vocab = int(rng.integers(1, max_frames)), int(rng.integers(2, 7))
    lp = torch.log_softmax(torch.tensor(rng.normal(size=(n_frames, vocab)) * 3), -1).numpy().astype(np.float32)
    return lp, int(rng.integers(0, vocab))


def _random_units(rng: np.random.Generator, vocab: int, blank: int, max_len: int) -> list[int]:
    """A random unit sequence of fewer than max_len units, repeats allowed, no blank."""
    return [int(u) for u in rng.integers(0, vocab, size=int(rng.integers(0, max_len))) if u != blank]


def test_compiled_viterbi_equals_the_reference():
    """The compiled core's alignment and path score equal the numpy reference (random problems, any blank id,
    repeats, infeasible lengths), and the score is the exhaustive search's best path."""
    from decoders.ctc_alignment import (
        _core,
        ctc_forced_align_reference,
        ctc_viterbi_score,
        ctc_viterbi_score_reference,
    )

    if _core() is None:
        pytest.skip("the compiled core is not built")
    rng = np.random.default_rng(2)
    for _ in range(500):
        lp, blank = _random_emissions(rng, 25)
        units = _random_units(rng, lp.shape[1], blank, 8)
        assert ctc_forced_align(lp, units, blank) == ctc_forced_align_reference(lp, units, blank)
        assert ctc_viterbi_score(lp, units, blank) == pytest.approx(ctc_viterbi_score_reference(lp, units, blank),
                                                                    abs=1e-9)
    for units in ([1], [1, 2], [2, 2], [1, 2, 1]):
        lp = torch.log_softmax(torch.tensor(rng.normal(size=(5, 3)) * 2), -1).numpy().astype(np.float32)
        best, _ = _brute_force(lp, units)
        assert ctc_viterbi_score(lp, units) == pytest.approx(best, abs=1e-5)
    assert ctc_viterbi_score(np.log(np.full((3, 3), 1 / 3, dtype=np.float32)), [1, 1, 1]) == -np.inf


def test_compiled_viterbi_equals_the_reference_at_tight_lengths():
    """The core computes only the band of states that can lie on a complete path; where the frames barely hold
    the units (repeats need a blank between them, too few frames make it infeasible) the band's edges decide
    every frame, and alignment and score still equal the full-table reference."""
    from decoders.ctc_alignment import _core, ctc_forced_align_reference, ctc_viterbi_score, ctc_viterbi_score_reference

    if _core() is None:
        pytest.skip("the compiled core is not built")
    rng = np.random.default_rng(5)
    checked = infeasible = 0
    for _ in range(400):
        n_units, vocab = int(rng.integers(1, 12)), int(rng.integers(2, 5))
        units = [int(u) for u in rng.integers(1, vocab, size=n_units)]
        need = n_units + sum(a == b for a, b in zip(units, units[1:]))  # frames the shortest path takes
        n_frames = int(rng.integers(max(1, need - 2), need + 4))
        lp = torch.log_softmax(torch.tensor(rng.normal(size=(n_frames, vocab)) * 3), -1).numpy().astype(np.float32)
        ref = ctc_forced_align_reference(lp, units, 0)
        assert ctc_forced_align(lp, units, 0) == ref
        assert ctc_viterbi_score(lp, units, 0) == pytest.approx(ctc_viterbi_score_reference(lp, units, 0), abs=1e-9)
        infeasible += ref is None
        checked += 1
    assert infeasible > 20 and checked - infeasible > 200  # both sides of the feasibility edge were tried


def test_compiled_batch_scores_equal_the_reference():
    """Scoring many spellings over the same frames in one call (the hotword check's use) gives each
    spelling's own score, as the reference does, -inf included; out-of-range ids are refused."""
    from decoders.ctc_alignment import _core, ctc_viterbi_score, ctc_viterbi_scores, ctc_viterbi_scores_reference

    if _core() is None:
        pytest.skip("the compiled core is not built")
    rng = np.random.default_rng(3)
    for _ in range(100):
        lp, blank = _random_emissions(rng, 20)
        spellings = [_random_units(rng, lp.shape[1], blank, 10) for _ in range(int(rng.integers(0, 6)))]
        got = ctc_viterbi_scores(lp, spellings, blank)
        assert got == pytest.approx(ctc_viterbi_scores_reference(lp, spellings, blank), abs=1e-9)
        assert got == pytest.approx([ctc_viterbi_score(lp, s, blank) for s in spellings], abs=1e-12)
    with pytest.raises(ValueError, match="outside the vocabulary"):
        ctc_viterbi_scores(np.zeros((3, 3), dtype=np.float32), [[1], [3]], 0)

