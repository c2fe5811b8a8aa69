"""Hotwords, part 2: whole-word matching in the context graph and the CTC search's hotword beam.

The arithmetic of whole words on hand-built graphs; the crowding a partial match causes in a CTC beam (a
prefix that stays on a name-like start beats its sibling that emits the next, non-matching unit) and the
hotword beam that removes it while a spoken name still flips; the compiled core equal to the Python
reference with both (random graphs, boundaries, beam pruning)."""

import math
import os

import pytest
import torch

from asrkit.errors import UserError
from asrkit.inference import DecodeConfig
from asrkit.inference.emissions_decoder import EmissionsDecoder
from decoders.bonus import UnitBonus
from decoders.context_graph import ContextGraph
from decoders.ctc_prefix_beam import ctc_prefix_beam_search_batch, ctc_prefix_beam_search_reference
from decoders.scorer import WeightedScorer
from decoders.vocabulary import Vocabulary
from tests.conftest import piece_emissions

torch.set_num_threads(1)


def walk(g: ContextGraph, units):
    n, steps = g.start, []
    for u in units:
        n, v = g.step(n, u)
        steps.append(v)
    return steps, float(g.final_score(torch.tensor([n]))[0])


# ---- whole words -------------------------------------------------------------------------------------------
def test_whole_words_bank_a_phrase_only_at_the_next_word_or_the_end():
    # Units 1 and 3 start words (a boundary comes before them), 2 continues one. Phrase "1 2", weight 1.5.
    boundary = [False, True, False, True]
    g = ContextGraph([[1, 2]], [1.5], boundary=boundary)
    # Followed by a new word: the boundary step before 3 banks 1.5 * 2 and pays the pending 3 back.
    assert walk(g, [1, 2, 3]) == ([1.5, 1.5, 0.0], 0.0)
    # Inside a longer word ("mark" in "marked"): the next unit continues the word, the match fails, nothing kept.
    steps, end = walk(g, [1, 2, 2])
    assert steps == [1.5, 1.5, -3.0] and sum(steps) + end == 0.0
    # At the end of the hypothesis the final boundary banks it.
    steps, end = walk(g, [1, 2])
    assert (steps, end) == ([1.5, 1.5], 0.0) and sum(steps) + end == 3.0
    assert float(g.score_sentences([[3, 1, 2]])[0]) == 3.0
    assert float(g.score_sentences([[3, 1, 2, 2]])[0]) == 0.0
    # Without boundaries (the old rule) "mark" inside "marked" keeps its bonus.
    assert float(ContextGraph([[1, 2]], [1.5]).score_sentences([[1, 2, 2]])[0]) == 3.0


def test_whole_words_multiword_phrase_and_suffix_phrases():
    boundary = [False, True, False, True, True]
    # "1 3" is a two-word phrase (3 starts a word); "3" alone is a phrase too.
    g = ContextGraph([[1, 3], [3]], [1.0, 2.0], boundary=boundary)
    assert float(g.score_sentences([[1, 3]])[0]) == 2.0 + 2.0  # both complete at the end
    assert float(g.score_sentences([[1, 3, 2]])[0]) == 0.0  # "3 2" is one longer word: neither completes
    assert float(g.score_sentences([[1, 2, 3, 4]])[0]) == 2.0  # "1 2" is one word, not the phrase's first word


def test_arrays_carry_the_boundaries():
    g = ContextGraph([[1, 2]], boundary=[False, True, False])
    a = g.arrays()
    assert a["boundary"] == [False, True, False] and a["boundary_symbol"] == 3
    assert ContextGraph([[1, 2]]).arrays()["boundary"] == []


# ---- the hotword beam on hand-built emissions --------------------------------------------------------------
PIECES = ["<blk>", "\u2581sh", "ould", "\u2581die", "ob", "ai", "\u2581a"]


def frames_to_lp(frames: list[dict[str, float]]) -> torch.Tensor:
    return piece_emissions(PIECES, frames)


@pytest.fixture
def names(tmp_path):
    path = tmp_path / "names.txt"
    path.write_text("Shobai\n")
    return str(path)


def test_partial_match_crowding_and_the_hotword_beam(names):
    """"should die" with the name "shobai" in the list. Ranked with its provisional bonus, "sh" (staying on the
    name's start through a blank) and "sh ob" beat "sh ould", which pays the bonus back at once: with a beam of
    2 "should" is lost. The hotword beam ranks the beam without the provisional bonus and keeps the partial
    match in its own slot: "should die"."""
    vocab = Vocabulary(PIECES, blank_id=0)
    lp = frames_to_lp([{"\u2581sh": 0.95}, {"ould": 0.6, "ob": 0.05}, {}, {"\u2581die": 0.95}, {}])
    common = dict(method="beam", beam=2, prune_topk=3, hotwords=names, hotword_weight=3.0)
    assert EmissionsDecoder(vocab, method="beam", beam=2, prune_topk=3).decode([lp]) == ["should die"]
    # The partial matches hold the beam until the end, where their bonus is taken back: "die" is lost too.
    assert EmissionsDecoder(vocab, **common, hotword_beam=0).decode([lp]) == ["sh"]
    assert EmissionsDecoder(vocab, **common, hotword_beam=1).decode([lp]) == ["should die"]


def test_a_spoken_name_still_flips_with_the_hotword_beam(names):
    vocab = Vocabulary(PIECES, blank_id=0)
    # The acoustics slightly prefer "should ai"; the name's pieces are close behind.
    lp = frames_to_lp([{"\u2581sh": 0.95}, {"ould": 0.5, "ob": 0.4}, {"ai": 0.6}, {}, {"\u2581die": 0.95}, {}])
    assert EmissionsDecoder(vocab, method="beam", beam=2).decode([lp]) == ["shouldai die"]
    for hb in (1, 2):
        out = EmissionsDecoder(vocab, method="beam", beam=2, hotwords=names, hotword_weight=2.0,
                               hotword_beam=hb).decode([lp])
        assert out == ["shobai die"]


def test_hotword_beam_is_checked():
    with pytest.raises(UserError, match="--hotword-beam"):
        DecodeConfig(method="beam", hotword_beam=-1).check()


# ---- the compiled core equals the reference ----------------------------------------------------------------
@pytest.mark.skipif(os.environ.get("ASRKIT_NATIVE", "1") == "0", reason="compiled core switched off")
@pytest.mark.parametrize("table_steps", [None, 0])
def test_native_equals_reference_with_boundaries_and_hotword_beam(table_steps, monkeypatch):
    """The core's context graph with its step table (the default for a graph this small) and without (0: arcs,
    fail links and the memo of large graphs) both search exactly as the reference does."""
    import decoders.ctc_prefix_beam as cpb
    import decoders.ctc_prefix_beam_native as native

    assert cpb._native_search() is not None
    monkeypatch.setattr(native, "CONTEXT_TABLE_STEPS", table_steps)
    gen = torch.Generator().manual_seed(11)
    vocab = 14
    boundary = (torch.rand(vocab, generator=gen) < 0.4).tolist()
    phrases = [torch.randint(1, vocab, (int(torch.randint(1, 5, (1,), generator=gen)),), generator=gen).tolist()
               for _ in range(30)]
    g = ContextGraph(phrases, [0.5 + (i % 3) for i in range(30)], vocab=[str(i) for i in range(vocab)],
                     boundary=boundary)
    lp = torch.log_softmax(torch.randn(3, 40, vocab, generator=gen) * 2.5, -1)
    lp[2, :6] = -math.log(vocab)  # flat frames: many prefixes tie, the earlier-made one goes first
    lens = torch.tensor([40, 25, 11])
    for hb, prune in ((0, None), (2, None), (3, 4.0), (6, None), (9, None)):
        scorers = [WeightedScorer(g, 2.5, "hotwords"), WeightedScorer(UnitBonus([str(i) for i in range(vocab)]), 0.3,
                                                                       "unit_bonus")]
        kw = dict(beam=6, scorers=scorers, nbest=4, beam_prune_logp=prune, hotword_beam=hb)
        a = ctc_prefix_beam_search_batch(lp, lens, **kw)
        b = ctc_prefix_beam_search_reference(lp, lens, **kw)
        for ha, hb_ in zip(a, b):
            assert [h.units for h in ha] == [h.units for h in hb_]
            for x, y in zip(ha, hb_):
                assert math.isclose(x.score, y.score, abs_tol=1e-4)
                assert math.isclose(x.lm_scores["hotwords"], y.lm_scores["hotwords"], abs_tol=1e-4)


def test_streaming_search_keeps_the_hotword_beam():
    """The online (chunked) search selects its beam as the one-shot search does: the same n-best and scores."""
    from decoders.ctc_prefix_beam_online import CTCPrefixBeamOnline

    gen = torch.Generator().manual_seed(5)
    vocab = 12
    boundary = (torch.rand(vocab, generator=gen) < 0.4).tolist()
    phrases = [torch.randint(1, vocab, (int(torch.randint(1, 4, (1,), generator=gen)),), generator=gen).tolist()
               for _ in range(20)]
    g = ContextGraph(phrases, vocab=[str(i) for i in range(vocab)], boundary=boundary)
    lp = torch.log_softmax(torch.randn(35, vocab, generator=gen) * 2.5, -1)
    scorers = [WeightedScorer(g, 3.0, "hotwords")]
    for hb, prune in ((2, None), (3, 5.0)):
        want = ctc_prefix_beam_search_reference(lp[None], None, 5, scorers, nbest=3, beam_prune_logp=prune,
                                                hotword_beam=hb)[0]
        s = CTCPrefixBeamOnline(5, scorers, beam_prune_logp=prune, hotword_beam=hb)
        for t in range(0, 35, 4):
            s.advance(lp[t:t + 4])
        got = s.finish(3)
        assert [h.units for h in got] == [h.units for h in want]
        assert [h.score for h in got] == [h.score for h in want]
    # and it differs from ranking with the provisional bonus here, so the test sees the selection
    plain = ctc_prefix_beam_search_reference(lp[None], None, 5, scorers, nbest=3, hotword_beam=0)[0]
    assert [h.units for h in plain] != [h.units for h in want]
