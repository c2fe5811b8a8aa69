"""The compiled CTC prefix search (decoders/csrc) returns what the Python reference returns.

For every method's scorer list (beam, shallow fusion with a token and a word n-gram, density ratio, LODR,
ILME with the label prior, a Transformer LM called back, the bonuses) and with pre-beam pruning on and
off, on random and on sentence-shaped emissions, batched: the same n-best units, and scores within 1e-4.
"""

import math
import os
import warnings
import zlib

import pytest
import torch

import decoders.ctc_prefix_beam as cpb
import decoders.native as native_pieces
from asrkit.tokenizer import train_tokenizer
from decoders.bonus import UnitBonus, WordBonus
from decoders.context_graph import ContextGraph
from decoders.ctc_prefix_beam import ctc_prefix_beam_search_batch, ctc_prefix_beam_search_reference
from decoders.density_ratio import density_ratio, lodr
from decoders.ilme import ilme
from decoders.scorer import WeightedScorer
from decoders.shallow_fusion import shallow_fusion
from lm.neural import TransformerLM, TransformerLMConfig
from lm.ngram.build import build_ngram
from lm.ngram.kenlm_lm import KenLM
from lm.ngram.word_fusion import TokenizedWordLM
from lm.unigram import UnigramLM

torch.set_num_threads(1)
SENTS = ["the cat sat on the mat", "the rat ate the cheese", "a cat sat on a mat", "the dog sat on the rug",
         "god said let there be light", "the earth was without form"]

if os.environ.get("ASRKIT_NATIVE", "1") == "0":
    pytest.skip("ASRKIT_NATIVE=0: the compiled core is switched off", allow_module_level=True)


def test_core_is_built():
    """install.sh / `pip install -e .` build the extension; a missing one must fail here, not fall back."""
    import decoders._ctc_core  # noqa: F401

    from decoders.ctc_prefix_beam_native import search_batch

    assert cpb._native_search() is search_batch


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    d = tmp_path_factory.mktemp("core")
    tok = train_tokenizer(SENTS * 20, d / "sp.model", vocab_size=48)

    def ngram(name, lines, unit, order):
        (d / f"{name}.txt").write_text("\n".join(lines) + "\n")
        build_ngram([d / f"{name}.txt"], order, unit, d / f"{name}.arpa", tokenizer=tok if unit == "token" else None,
                    memory="64M")
        return KenLM.load(d / f"{name}.arpa", tokenizer=tok)

    torch.manual_seed(0)
    cfg = TransformerLMConfig(vocab_size=tok.vocab_size, d_model=32, n_heads=4, n_layers=2, d_ff=64, dropout=0.0,
                              max_len=128, positions="sinusoidal")
    prior = torch.log_softmax(torch.randn(tok.vocab_size), -1)
    return {
        "tok": tok,
        "target": ngram("target", SENTS[:4] * 5, "token", 4),
        "source": ngram("source", SENTS[2:] * 5, "token", 3),
        "bigram": ngram("bigram", SENTS[2:] * 5, "token", 2),
        "word": TokenizedWordLM(ngram("word", SENTS[:5] * 5, "word", 3), tok, oov_penalty=-7.0),
        "prior": UnigramLM(prior, tok.pieces()),
        "transformer": TransformerLM(cfg, tok).eval(),
    }


def random_emissions(g, lengths, vocab, scale=3.0):
    lp = torch.log_softmax(torch.randn(len(lengths), max(lengths), vocab, generator=g) * scale, -1)
    return lp, torch.tensor(lengths)


def sentence_emissions(g, tok, texts, noise=1.5):
    """Peaky CTC frames along real sentences (unit, blank, blank ...), with noise: prefixes that spell words."""
    rows = []
    for text in texts:
        frames = []
        for u in tok.encode(text):
            for k in range(3):
                logits = torch.randn(tok.vocab_size, generator=g) * noise
                logits[u if k == 0 else 0] += 6.0
                frames.append(logits)
        rows.append(torch.log_softmax(torch.stack(frames), -1))
    lengths = [len(r) for r in rows]
    return torch.nn.utils.rnn.pad_sequence(rows, batch_first=True), torch.tensor(lengths)


def methods(w):
    tok = w["tok"]
    return {
        "beam": [],
        "unit_bonus": [WeightedScorer(UnitBonus(tok.pieces()), 1.5, "bonus")],
        "sf_token": shallow_fusion(w["target"], 0.6) + [WeightedScorer(UnitBonus(tok.pieces()), 0.8, "bonus")],
        "sf_word": shallow_fusion(w["word"], 0.7) + [WeightedScorer(WordBonus(tok.pieces()), 1.2, "words")],
        "density_ratio": density_ratio(w["target"], 0.6, w["source"], 0.3),
        "lodr": lodr(w["target"], 0.6, w["bigram"], 0.2),
        "ilme": ilme(w["target"], 0.5, w["prior"], 0.3),
        "transformer": [WeightedScorer(w["transformer"], 0.4, "nlm"), WeightedScorer(w["word"], 0.3, "word")],
        "hotwords": shallow_fusion(w["word"], 0.5) + [WeightedScorer(
            ContextGraph([tok.encode("cat sat"), tok.encode("light")], [2.0, 1.5], tok.pieces()), 1.0, "hotwords")],
        # The word LM spares the hotwords' words it lacks ("earth", "form": SENTS[5] is not in its text).
        "hotwords_spared": shallow_fusion(TokenizedWordLM(w["word"].word_lm, tok, -7.0, ["earth", "form"]), 0.5)
        + [WeightedScorer(ContextGraph([tok.encode("earth"), tok.encode("form")], [2.0, 1.5], tok.pieces()), 1.0,
                          "hotwords")],
    }


PRUNING = {
    "none": {},
    "topk": {"prune_topk": 3},
    "min_logp": {"token_min_logp": -4.0},
    "both": {"token_min_logp": -5.0, "beam_prune_logp": 6.0},
    "recombine": {"recombine": True},
    "recombine_pruned": {"recombine": True, "token_min_logp": -5.0, "beam_prune_logp": 8.0},
}
CANNOT_RECOMBINE = {"ilme", "transformer"}  # a label prior and a neural LM: states without identity


def assert_same(native, reference):
    assert len(native) == len(reference)
    for got, want in zip(native, reference):
        assert [h.units for h in got] == [h.units for h in want]
        for a, b in zip(got, want):
            assert math.isclose(a.score, b.score, abs_tol=1e-4)
            assert math.isclose(a.am_score, b.am_score, abs_tol=1e-4)
            assert a.lm_scores.keys() == b.lm_scores.keys()
            assert all(math.isclose(a.lm_scores[k], b.lm_scores[k], abs_tol=1e-4) for k in a.lm_scores)


@pytest.mark.parametrize("method", ["beam", "unit_bonus", "sf_token", "sf_word", "density_ratio", "lodr", "ilme",
                                    "transformer", "hotwords", "hotwords_spared"])
@pytest.mark.parametrize("pruning", list(PRUNING))
def test_core_equals_reference(world, method, pruning):
    scorers = methods(world)[method]
    g = torch.Generator().manual_seed(zlib.crc32(f"{method}/{pruning}".encode()))
    tok = world["tok"]
    kw = {"nbest": 4, **PRUNING[pruning]}
    beam = 6
    if kw.get("recombine") and method in CANNOT_RECOMBINE:
        lp, lengths = random_emissions(g, [5], tok.vocab_size)
        for search in (ctc_prefix_beam_search_reference, ctc_prefix_beam_search_batch):
            with pytest.raises(ValueError, match="cannot be compared"):
                search(lp, lengths, beam, scorers, **kw)
        return
    for lp, lengths in (random_emissions(g, [11, 7, 1], tok.vocab_size),
                        sentence_emissions(g, tok, [SENTS[0], SENTS[4], "the cat ate"])):
        want = ctc_prefix_beam_search_reference(lp, lengths, beam, scorers, **kw)
        got = ctc_prefix_beam_search_batch(lp, lengths, beam, scorers, **kw)
        assert_same(got, want)
        assert got[0][0].units, "the test must decode something"


def test_core_equals_reference_on_ties_and_edge_cases(world):
    tok = world["tok"]
    scorers = shallow_fusion(world["target"], 0.5)
    # Many equal log-probs: candidates tie, prefixes tie; the lower unit id and the earlier prefix go first.
    flat = torch.full((2, 6, tok.vocab_size), math.log(1.0 / tok.vocab_size))
    for kw in ({"nbest": 8}, {"nbest": 8, "prune_topk": 5}, {"nbest": 3, "token_min_logp": -10.0}):
        assert_same(ctc_prefix_beam_search_batch(flat, None, 5, scorers, **kw),
                    ctc_prefix_beam_search_reference(flat, None, 5, scorers, **kw))
    # Zero-length utterances, beam 1, a blank id other than 0, and no frames at all.
    g = torch.Generator().manual_seed(3)
    lp, _ = random_emissions(g, [5, 5, 5], tok.vocab_size)
    lengths = torch.tensor([5, 0, 2])
    for kw in ({"nbest": 2}, {"nbest": 1, "blank_id": 3}, {"nbest": 3, "token_min_logp": -2.0}):
        for beam in (1, 4):
            assert_same(ctc_prefix_beam_search_batch(lp, lengths, beam, scorers, **kw),
                        ctc_prefix_beam_search_reference(lp, lengths, beam, scorers, **kw))
    empty = torch.zeros(2, 0, tok.vocab_size)
    assert_same(ctc_prefix_beam_search_batch(empty, None, 4, scorers),
                ctc_prefix_beam_search_reference(empty, None, 4, scorers))


def test_core_equals_reference_through_a_long_silence(world):
    """A prefix that stays in the beam through many blank-dominated frames is extended by many different noise
    units: more children than the compiled core keeps in its per-node list (it moves them to a hash map).
    Same n-best as the reference, with and without a native scorer and pruning."""
    tok = world["tok"]
    g = torch.Generator().manual_seed(11)
    frames = []
    for t in range(160):
        logits = torch.randn(tok.vocab_size, generator=g) * 1.5
        logits[0 if not 60 <= t < 70 else int(torch.randint(1, tok.vocab_size, (1,), generator=g))] += 6.0
        frames.append(logits)
    lp = torch.log_softmax(torch.stack(frames), -1)[None]
    beam = 6
    noise_units = {int(u) for row in lp[0, :60] for u in torch.topk(row, beam).indices if int(u) != 0}
    assert len(noise_units) > 32, "the silence must extend the prefix by more units than a list holds"
    for method in ("beam", "hotwords"):
        for kw in ({"nbest": 4}, {"nbest": 4, "recombine": True}, {"nbest": 2, "token_min_logp": -6.0}):
            scorers = methods(world)[method]
            assert_same(ctc_prefix_beam_search_batch(lp, None, beam, scorers, **kw),
                        ctc_prefix_beam_search_reference(lp, None, beam, scorers, **kw))


def test_searches_one_after_another_equal_the_reference(world):
    """The compiled search hands its node arrays to the next search made on the thread (emptied, capacity kept):
    searches of other sizes and other scorer sets, one after another, each give the reference's n-best."""
    tok = world["tok"]
    g = torch.Generator().manual_seed(5)
    long = random_emissions(g, [60, 45, 30], tok.vocab_size)
    short = sentence_emissions(g, tok, [SENTS[1], "the cat sat"])
    same_shape = [random_emissions(g, [40, 40], tok.vocab_size) for _ in range(3)]
    for method, (lp, lengths) in [("hotwords", long), ("beam", short), ("sf_word", long), ("hotwords", short),
                                  ("beam", long), ("hotwords", long), *(("beam", e) for e in same_shape),
                                  *(("hotwords", e) for e in same_shape)]:
        scorers = methods(world)[method]
        assert_same(ctc_prefix_beam_search_batch(lp, lengths, 6, scorers, nbest=3),
                    ctc_prefix_beam_search_reference(lp, lengths, 6, scorers, nbest=3))


def test_native_scorers_follow_lm_changes(world):
    """A TokenizedWordLM's oov_penalty changed after a search is used by the next one."""
    tok, word = world["tok"], world["word"]
    g = torch.Generator().manual_seed(5)
    lp, lengths = random_emissions(g, [12], tok.vocab_size)
    try:
        for penalty in (-7.0, -1.0):
            word.oov_penalty = penalty
            scorers = shallow_fusion(word, 0.8)
            assert_same(ctc_prefix_beam_search_batch(lp, lengths, 6, scorers, nbest=3),
                        ctc_prefix_beam_search_reference(lp, lengths, 6, scorers, nbest=3))
    finally:
        word.oov_penalty = -7.0


def test_python_fallback(world, monkeypatch):
    tok = world["tok"]
    g = torch.Generator().manual_seed(4)
    lp, lengths = random_emissions(g, [8, 5], tok.vocab_size)
    scorers = shallow_fusion(world["target"], 0.5)
    want = ctc_prefix_beam_search_reference(lp, lengths, 4, scorers, nbest=2)
    # ASRKIT_NATIVE=0 forces the reference.
    monkeypatch.setenv("ASRKIT_NATIVE", "0")
    assert cpb._native_search() is None
    assert_same(ctc_prefix_beam_search_batch(lp, lengths, 4, scorers, nbest=2), want)
    monkeypatch.delenv("ASRKIT_NATIVE")
    # A missing extension: one warning, then the reference, never a crash.
    monkeypatch.delitem(native_pieces._loaded, "the compiled CTC search", raising=False)
    monkeypatch.setitem(__import__("sys").modules, "decoders.ctc_prefix_beam_native", None)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        got = [ctc_prefix_beam_search_batch(lp, lengths, 4, scorers, nbest=2) for _ in range(3)]
    assert len([w for w in caught if "compiled CTC search is not built" in str(w.message)]) == 1
    for one in got:
        assert_same(one, want)


def test_every_method_of_the_engine_native_equals_python(world, monkeypatch, tmp_path):
    """Through the decoding engine (method registry, bonuses as scorers, rescore's first pass): the same
    n-best with the compiled core as with ASRKIT_NATIVE=0."""
    from asrkit.inference import CTCDecoding, DecodeConfig

    tok = world["tok"]
    prior = tmp_path / "prior.json"
    world["prior"].save(prior)
    target, source, bigram = (str(world[k].path) for k in ("target", "source", "bigram"))
    word = str(world["word"].word_lm.path)
    configs = [
        DecodeConfig(method="beam", insertion_bonus=0.5),
        DecodeConfig(method="shallow_fusion", lm=target, lm_weight=0.6, insertion_bonus=1.0),
        DecodeConfig(method="shallow_fusion", lm=word, lm_weight=0.7, word_bonus=1.5, token_min_logp=-4.0),
        DecodeConfig(method="rescore", lm=word, lm_weight=0.5, nbest=4, insertion_bonus=0.3),
        DecodeConfig(method="density_ratio", lm=target, source_lm=source, lm_weight=0.6, source_weight=0.2,
                     beam_prune_logp=8.0),
        DecodeConfig(method="lodr", lm=target, source_lm=bigram, lm_weight=0.6, source_weight=0.2, beam=4),
        DecodeConfig(method="ilme", lm=target, ilm=str(prior), lm_weight=0.5, ilm_weight=0.2, word_bonus=0.5),
    ]
    g = torch.Generator().manual_seed(7)
    lp, lengths = sentence_emissions(g, tok, [SENTS[1], SENTS[3]])
    for cfg in configs:
        monkeypatch.delenv("ASRKIT_NATIVE", raising=False)
        got = CTCDecoding(cfg, tok).hypotheses((lp, lengths))
        monkeypatch.setenv("ASRKIT_NATIVE", "0")
        want = CTCDecoding(cfg, tok).hypotheses((lp, lengths))
        assert_same(got, want)


def test_recombination_keeps_the_best_path(world):
    """A dropped prefix never had a continuation better than its dominator's: with a wide beam the best
    hypothesis is the same with and without recombination, and recombination did drop prefixes (the
    n-best lists differ)."""
    tok = world["tok"]
    scorers = shallow_fusion(world["word"], 0.8) + [WeightedScorer(WordBonus(tok.pieces()), 1.0, "words")]
    g = torch.Generator().manual_seed(11)
    changed = 0
    for _ in range(3):
        lp, lengths = sentence_emissions(g, tok, ["the cat sat", "a rat ate"], noise=2.5)
        plain = ctc_prefix_beam_search_batch(lp, lengths, 64, scorers, nbest=8, prune_topk=4)
        merged = ctc_prefix_beam_search_batch(lp, lengths, 64, scorers, nbest=8, prune_topk=4, recombine=True)
        for a, b in zip(plain, merged):
            # (its score may be higher: slots the dropped prefixes held keep paths that merge into it)
            assert a[0].units == b[0].units and b[0].score >= a[0].score - 1e-9
            changed += [h.units for h in a] != [h.units for h in b]
    assert changed > 0
