"""Biased-word metrics (asrkit.metrics.biased_words) on hand-counted cases."""

from __future__ import annotations

import pytest

from asrkit.metrics.biased_words import align_words, biased_word_scores


def test_alignment_pairs_substitutions_deletions_and_insertions():
    assert align_words("a b c".split(), "a x c d".split()) == [("a", "a"), ("b", "x"), ("c", "c"), (None, "d")]
    assert align_words("a b c".split(), "a c".split()) == [("a", "a"), ("b", None), ("c", "c")]
    assert align_words([], ["z"]) == [(None, "z")]


def test_recall_b_wer_u_wer_and_false_names_by_hand():
    refs = ["jesus saw zebedee and mary", "gehenna is far"]
    # utt 1: zebedee right, mary -> marie (a U error? no: mary is biased here), one inserted "gad" (listed)
    # utt 2: gehenna missed (-> "gad"), "far" deleted
    hyps = ["Jesus saw Zebedee and marie gad", "gad is"]
    biased = {"zebedee", "mary", "gehenna"}
    listed = {"zebedee", "mary", "gehenna", "gad"}
    s = biased_word_scores(refs, hyps, biased, listed)
    # reference words 8; errors: marie (sub), gad (ins), gad for gehenna (sub), far (del) = 4
    assert s["wer"] == pytest.approx(100 * 4 / 8)
    assert s["biased_words"] == 3 and s["recall"] == pytest.approx(100 / 3)
    # B errors: mary, gehenna (the inserted gad is not a biased word: a U error)
    assert s["b_wer"] == pytest.approx(200 / 3)
    assert s["u_wer"] == pytest.approx(100 * 2 / 5)
    assert s["false_names"] == 2  # gad inserted, gad for gehenna (zebedee is right)


def test_empty_input_has_no_division_by_zero():
    assert biased_word_scores([], [], set())["wer"] == 0.0
