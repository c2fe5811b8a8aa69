"""The decoding engine on a CTC head: the method registry, bonuses as scorers in every method, and the drift
between the old CTC and LLM dispatches (each test below failed on the code before the engine)."""

import json
import math

import pytest
import torch

from asrkit.errors import UserError
from asrkit.inference import CTCDecoding, DecodeConfig
from asrkit.inference.decode_config import upgrade
from asrkit.inference.engine import Decoder
from asrkit.inference.heads import CTCHead
from asrkit.inference.methods import METHODS, REGISTRY
from asrkit.tokenizer import train_tokenizer
from lm.neural.transformer_lm import TransformerLM, TransformerLMConfig
from lm.ngram.build import build_ngram
from tests.conftest import SENTS, ambiguous

torch.set_num_threads(1)


def frames(tok, rows, floor=1e-6):
    """(T, V) log-probs, one frame per dict {unit: probability}; every other unit gets ``floor``."""
    out = []
    for dist in rows:
        p = torch.full((tok.vocab_size,), floor)
        for k, q in dist.items():
            p[k] = q
        out.append((p / p.sum()).log())
    return torch.stack(out)


def decode(cfg: DecodeConfig, tok, lp: torch.Tensor) -> str:
    return CTCDecoding(cfg, tok)(lp[None], torch.tensor([lp.size(0)]))[0]


@pytest.fixture(scope="module")
def word_lms(world):
    d = world["dir"]
    (d / "cat_only.txt").write_text("\n".join(["the cat sat on the mat"] * 10 + ["the dog sat on the rug"] * 5) + "\n")
    build_ngram([d / "cat_only.txt"], 3, "word", d / "cat_only.arpa", memory="64M")
    return {"cat_only": str(d / "cat_only.arpa"), "cat_word": str(d / "cat_word.arpa")}


# ---- the registry ----------------------------------------------------------------------------
def test_every_method_is_declared_once_with_what_it_needs():
    import argparse

    from asrkit.cli.decode import add_decoding_args

    p = argparse.ArgumentParser()
    add_decoding_args(p)
    choices = next(a.choices for a in p._actions if a.dest == "method")
    assert tuple(choices) == METHODS == tuple(REGISTRY)
    flags = {"lm": "--lm", "source_lm": "--source-lm", "graph": "--graph"}
    for name, method in REGISTRY.items():
        full = DecodeConfig(method=name, lm="x", source_lm="y", graph="g")
        full.check()  # everything given: no complaint (TLG is not refused for an --lm it does not use)
        for need in method.needs:
            if need in flags:
                with pytest.raises(UserError, match=f"--method {name} needs {flags[need]}"):
                    DecodeConfig(**{**full.to_dict(), need: None}).check()
    # tlg needs a graph and no LM (the old NEEDS_LM listed tlg and then excluded it)
    assert REGISTRY["tlg"].needs == ("graph",)


# ---- bonuses are scorers ---------------------------------------------------------------------
def test_bonuses_are_scorers_with_counts_in_the_hypotheses(world):
    tok = world["tok"]
    g = torch.Generator().manual_seed(3)
    logits = torch.randn(3, 16, tok.vocab_size, generator=g) * 3
    logits[..., 1] = -1e9  # no <unk>: its text is not a word of the decoded string
    lp = torch.log_softmax(logits, -1)
    lens = torch.tensor([16, 11, 7])
    engine = Decoder(DecodeConfig(method="beam", insertion_bonus=0.7, word_bonus=1.3, nbest=1), CTCHead(tok))
    assert [s.name for s in engine.scorers] == ["unit_bonus", "word_bonus"]
    plain = Decoder(DecodeConfig(method="beam"), CTCHead(tok))
    assert plain.scorers == []  # weight-0 bonuses add nothing, so they are left out
    for hyps in engine.hypotheses((lp, lens)):
        h = hyps[0]
        assert h.lm_scores["unit_bonus"] == len(h.units)
        assert h.lm_scores["word_bonus"] == len(tok.decode(h.units).split())
        assert math.isclose(h.score, h.am_score + 0.7 * len(h.units) + 1.3 * h.lm_scores["word_bonus"], abs_tol=1e-4)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_tuned_bonus_means_the_same_in_every_method(world, word_lms, seed):
    """With the LM weights at 0 every beam method is the same search: the bonuses alone decide."""
    tok = world["tok"]
    g = torch.Generator().manual_seed(seed)
    lp = torch.log_softmax(torch.randn(2, 14, tok.vocab_size, generator=g) * 3, -1)
    lens = torch.tensor([14, 10])
    bonus = dict(insertion_bonus=1.5, word_bonus=-0.8, beam=6, nbest=6)
    lm = word_lms["cat_word"]
    runs = {m: CTCDecoding(DecodeConfig(method=m, **bonus, **extra), tok)(lp, lens) for m, extra in [
        ("beam", {}), ("shallow_fusion", {"lm": lm, "lm_weight": 0.0}), ("rescore", {"lm": lm, "lm_weight": 0.0}),
        ("density_ratio", {"lm": lm, "source_lm": lm, "lm_weight": 0.0, "source_weight": 0.0})]}
    assert len({tuple(v) for v in runs.values()}) == 1, runs


def test_rescoring_keeps_the_first_pass_bonus(world, word_lms):
    """A unit worth an insertion bonus of 1: beam search keeps it, so must rescore with a zero LM weight (the old
    code set the first pass's bonus to 0 and added the bonus per word, which this unit does not change)."""
    tok = world["tok"]
    p = tok.pieces()
    units = [p.index(x) for x in ("\u2581the", "\u2581cat", "s", "\u2581sat", "\u2581on", "\u2581the", "\u2581mat")]
    rows = []
    for u in units:
        rows += [{u: 0.3, 0: 0.7} if p[u] == "s" else {u: 1.0}, {0: 1.0}]
    lp = frames(tok, rows)
    want = "the cats sat on the mat"
    assert decode(DecodeConfig(method="beam", insertion_bonus=1.0), tok, lp) == want
    assert decode(DecodeConfig(method="beam"), tok, lp) == "the cat sat on the mat"
    cfg = DecodeConfig(method="rescore", lm=word_lms["cat_word"], lm_weight=0.0, insertion_bonus=1.0)
    assert decode(cfg, tok, lp) == want


# ---- drift between the two old dispatches ----------------------------------------------------
def test_source_lm_gets_the_oov_penalty_too(world, word_lms):
    """Target = source = one word LM without "rat", weights equal: density ratio must cancel exactly and leave
    the acoustic choice ("rat"). The old CTC code gave the source LM the default OOV penalty (-10) while the
    target got --oov-penalty -50, so a net -40 on "rat" flipped the answer."""
    lp, cat, rat = ambiguous(world)
    tok = world["tok"]
    lm = word_lms["cat_only"]
    acoustic = decode(DecodeConfig(method="beam"), tok, lp)
    assert acoustic == tok.decode(rat)
    cfg = DecodeConfig(method="density_ratio", lm=lm, source_lm=lm, lm_weight=1.0, source_weight=1.0, oov_penalty=-50.0)
    assert decode(cfg, tok, lp) == acoustic


def test_token_lms_must_have_the_models_units(world, tmp_path):
    """One rule for every head and LM kind: the LM's first V unit strings are the model's. The old CTC check only
    compared counts (!=), so an LM over another tokenizer of the same size was used with the wrong units."""
    tok = world["tok"]
    other = train_tokenizer([s.upper().replace("T", "Q") for s in SENTS] * 20, tmp_path / "other.model",
                            vocab_size=tok.vocab_size)
    assert other.vocab_size == tok.vocab_size and other.pieces() != tok.pieces()
    cfg = TransformerLMConfig(vocab_size=other.vocab_size, d_model=16, n_heads=2, n_layers=1, d_ff=32, dropout=0.0)
    TransformerLM(cfg, other).save_pretrained(tmp_path / "tlm")
    with pytest.raises(UserError, match="model.s tokenizer") as err:
        CTCDecoding(DecodeConfig(method="shallow_fusion", lm=str(tmp_path / "tlm")), tok)
    assert "\n" not in str(err.value)
    # The same LM over the model's own tokenizer is accepted.
    TransformerLM(TransformerLMConfig(**{**cfg.to_dict(), "vocab_size": tok.vocab_size}), tok).save_pretrained(
        tmp_path / "own")
    CTCDecoding(DecodeConfig(method="shallow_fusion", lm=str(tmp_path / "own")), tok)
    # A label prior with fewer units is refused by the same rule.
    (tmp_path / "prior.json").write_text(json.dumps({"type": "unigram", "vocab": tok.pieces()[:-1],
                                                     "logprobs": [0.0] * (tok.vocab_size - 1)}))
    with pytest.raises(UserError, match="units but the model has"):
        CTCDecoding(DecodeConfig(method="ilme", lm=str(tmp_path / "own"), ilm=str(tmp_path / "prior.json")), tok)


# ---- old config files ------------------------------------------------------------------------
def test_old_best_json_files_keep_their_meaning(tmp_path):
    old_tlg = {"method": "tlg", "beam": 8, "insertion_bonus": 0.5, "lm_weight": 0.7, "graph": "g"}
    (tmp_path / "tlg.json").write_text(json.dumps(old_tlg))
    cfg = DecodeConfig.load(tmp_path / "tlg.json")
    assert (cfg.search_beam, cfg.beam, cfg.word_bonus, cfg.insertion_bonus) == (8.0, None, 0.5, 0.0)
    cfg.check()
    old_rescore = {"method": "rescore", "beam": 8, "insertion_bonus": 2.0, "lm": "x"}
    (tmp_path / "rescore.json").write_text(json.dumps(old_rescore))
    cfg = DecodeConfig.load(tmp_path / "rescore.json")
    assert (cfg.beam, cfg.word_bonus, cfg.insertion_bonus) == (8, 2.0, 0.0)
    # Other methods' insertion bonus was already per unit.
    assert upgrade({"method": "shallow_fusion", "insertion_bonus": 2.0}, "x") == {"method": "shallow_fusion",
                                                                                  "insertion_bonus": 2.0}
    # New files carry "format": 2 and are read as written.
    new = DecodeConfig(method="tlg", graph="g", search_beam=20.0, word_bonus=0.5)
    new.save(tmp_path / "new.json")
    assert json.loads((tmp_path / "new.json").read_text())["format"] == 2
    assert DecodeConfig.load(tmp_path / "new.json") == new
    (tmp_path / "future.json").write_text(json.dumps({"format": 3, "method": "beam"}))
    with pytest.raises(UserError, match="format"):
        DecodeConfig.load(tmp_path / "future.json")
