"""The online CTC prefix search (decoders/ctc_prefix_beam_online.py) fed in chunks returns exactly what the
one-shot reference search returns on the same emissions: same n-best units and bit-identical scores, with
shallow fusion (token and word n-grams), bonuses and hotwords, with and without pruning, in any chunking."""

from __future__ import annotations

import math

import pytest
import torch

from asrkit.inference.hotwords import build_context_graph
from asrkit.tokenizer import train_tokenizer
from decoders.bonus import UnitBonus, WordBonus
from decoders.ctc_prefix_beam import ctc_prefix_beam_search_batch, ctc_prefix_beam_search_reference
from decoders.ctc_prefix_beam_online import CTCPrefixBeamOnline
from decoders.scorer import WeightedScorer
from decoders.shallow_fusion import shallow_fusion
from lm.ngram.build import build_ngram
from lm.ngram.kenlm_lm import KenLM
from lm.ngram.word_fusion import TokenizedWordLM

torch.set_num_threads(1)
SENTS = ["the cat sat on the mat", "the rat ate the cheese", "a cat sat on a mat", "the dog sat on the rug",
         "god said let there be light", "the earth was without form"]


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    d = tmp_path_factory.mktemp("online")
    tok = train_tokenizer(SENTS * 20, d / "sp.model", vocab_size=48)

    def ngram(name, lines, unit, order):
        (d / f"{name}.txt").write_text("\n".join(lines) + "\n")
        build_ngram([d / f"{name}.txt"], order, unit, d / f"{name}.arpa", tokenizer=tok if unit == "token" else None,
                    memory="64M")
        return KenLM.load(d / f"{name}.arpa", tokenizer=tok)

    word = TokenizedWordLM(ngram("word", SENTS[:5] * 5, "word", 3), tok, oov_penalty=-7.0)
    hot = build_context_graph([("cheese", 2.0), ("without form", 1.5)], tok)
    scorers = {
        "beam": [],
        "sf_token": shallow_fusion(ngram("token", SENTS[:4] * 5, "token", 4), 0.6)
        + [WeightedScorer(UnitBonus(tok.pieces()), 0.8, "unit_bonus")],
        "sf_word_hotwords": shallow_fusion(word, 0.7) + [WeightedScorer(WordBonus(tok.pieces()), 1.2, "word_bonus"),
                                                         WeightedScorer(hot, 1.0, "hotwords")],
    }
    return tok, scorers


def emissions(g, tok, text, noise=1.5):
    frames = []
    for u in tok.encode(text):
        for k in range(3):
            logits = torch.randn(tok.vocab_size, generator=g) * noise
            logits[u if k == 0 else 0] += 6.0
            frames.append(logits)
    return torch.log_softmax(torch.stack(frames), -1)


def run_online(lp, chunks, scorers, nbest, **kw):
    s = CTCPrefixBeamOnline(scorers=scorers, **kw)
    t = 0
    for n in chunks:
        s.advance(lp[t:t + n])
        t += n
        s.partial()  # asking for a partial must not change the search
    s.advance(lp[t:])
    return s.finish(nbest)


@pytest.mark.parametrize("method", ["beam", "sf_token", "sf_word_hotwords"])
@pytest.mark.parametrize("pruning", [{}, {"prune_topk": 3}, {"token_min_logp": -5.0, "beam_prune_logp": 6.0}])
def test_chunked_equals_one_shot(world, method, pruning):
    tok, scorers = world
    g = torch.Generator().manual_seed(1)
    for text in ("the rat ate the cheese", "the earth was without form and the cat sat"):
        lp = emissions(g, tok, text)
        want = ctc_prefix_beam_search_reference(lp[None], None, 4, scorers[method], nbest=4, **pruning)[0]
        for chunks in ([lp.size(0)], [1] * 7, [5, 0, 8, 3], [8] * 40):
            got = run_online(lp, chunks, scorers[method], 4, beam=4, **pruning)
            assert [h.units for h in got] == [h.units for h in want]
            assert [(h.score, h.am_score, h.lm_scores) for h in got] == \
                [(h.score, h.am_score, h.lm_scores) for h in want]


def test_partial_tracks_the_best_prefix_and_compaction_keeps_results(world):
    tok, scorers = world
    g = torch.Generator().manual_seed(2)
    lp = emissions(g, tok, "god said let there be light the cat sat on the mat")
    want = ctc_prefix_beam_search_reference(lp[None], None, 6, scorers["sf_word_hotwords"], nbest=3)[0]
    s = CTCPrefixBeamOnline(6, scorers["sf_word_hotwords"], compact_every=20)  # compacts many times
    texts = []
    for t in range(0, lp.size(0), 6):
        s.advance(lp[t:t + 6])
        texts.append(tok.decode(list(s.partial()[0].units)))
    got = s.finish(3)
    assert [h.units for h in got] == [h.units for h in want]
    assert all(math.isclose(a.score, b.score, abs_tol=0.0) for a, b in zip(got, want))
    assert len(s.node_unit) < 200  # the trie was compacted (one-shot it holds every node ever made)
    assert texts[-1].startswith("god said let there")
    with pytest.raises(RuntimeError):
        s.finish()


def test_online_matches_the_compiled_core(world):
    tok, scorers = world
    g = torch.Generator().manual_seed(3)
    lp = emissions(g, tok, "the dog sat on the rug")
    want = ctc_prefix_beam_search_batch(lp[None], None, 4, scorers["sf_word_hotwords"], nbest=2)[0]
    got = run_online(lp, [4] * 10, scorers["sf_word_hotwords"], 2, beam=4)
    assert [h.units for h in got] == [h.units for h in want]
    assert all(math.isclose(a.score, b.score, abs_tol=1e-4) for a, b in zip(got, want))


@pytest.mark.parametrize("method", ["beam", "sf_token", "sf_word_hotwords"])
@pytest.mark.parametrize("pruning", [{}, {"prune_topk": 3, "hotword_beam": 2}, {"token_min_logp": -5.0,
                                                                                 "beam_prune_logp": 6.0}])
def test_compiled_online_equals_python_online(world, method, pruning):
    """The core's online search (frames appended chunk by chunk) gives the Python online search's n-best."""
    from decoders.ctc_prefix_beam_online_native import CTCPrefixBeamOnlineNative

    tok, scorers = world
    g = torch.Generator().manual_seed(4)
    for text in ("the rat ate the cheese", "the earth was without form and the cat sat"):
        lp = emissions(g, tok, text)
        want = run_online(lp, [lp.size(0)], scorers[method], 4, beam=4, **pruning)
        for chunks in ([1] * 7, [5, 0, 8, 3], [8] * 40):
            s = CTCPrefixBeamOnlineNative(4, scorers[method], compact_every=15, **pruning)  # compacts often
            ref = CTCPrefixBeamOnline(4, scorers[method], **pruning)
            t = 0
            for n in chunks:
                s.advance(lp[t:t + n])
                ref.advance(lp[t:t + n])
                t += n
                assert [h.units for h in s.partial(2)] == [h.units for h in ref.partial(2)]
            s.advance(lp[t:])
            got = s.finish(4)
            assert [h.units for h in got] == [h.units for h in want]
            assert all(math.isclose(a.score, b.score, abs_tol=1e-4) for a, b in zip(got, want))


def test_compiled_online_with_a_callback_lm_and_bounded_trie(world):
    """A LanguageModel the core does not run natively (here the token n-gram seen through a subclass) is
    called back per frame; compaction keeps the trie small on a long stream without changing the result."""
    from decoders.ctc_prefix_beam_online_native import CTCPrefixBeamOnlineNative

    tok, scorers = world
    lm = scorers["sf_token"][0].lm

    class Wrapped(type(lm)):  # not the exact KenLM type: the core calls it back
        pass

    wrapped = Wrapped.__new__(Wrapped)
    wrapped.__dict__.update(lm.__dict__)
    cb = [WeightedScorer(wrapped, 0.6, "lm")]
    g = torch.Generator().manual_seed(5)
    lp = torch.cat([emissions(g, tok, "the cat sat on the mat the rat ate the cheese") for _ in range(6)])
    want = ctc_prefix_beam_search_reference(lp[None], None, 6, cb, nbest=3)[0]
    s = CTCPrefixBeamOnlineNative(6, cb, compact_every=100)
    assert s.natives == [None]
    for t in range(0, lp.size(0), 9):
        s.advance(lp[t:t + 9])
    assert s.search.nodes < 1000  # without compaction: ~9000 nodes on this stream
    got = s.finish(3)
    assert [h.units for h in got] == [h.units for h in want]
    assert all(math.isclose(a.score, b.score, abs_tol=1e-4) for a, b in zip(got, want))
