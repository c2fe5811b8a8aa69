"""N-gram LMs: lmplz builds, KenLM through the LanguageModel interface, perplexity, G.fst, errors, CLI."""

import json
import math
import shutil

import kenlm
import pytest
import torch

from asrkit.cli.main import main
from asrkit.errors import UserError
from asrkit.text.normalize import normalize_text
from asrkit.tokenizer import train_tokenizer
from lm.interface import LanguageModel
from lm.load import load_lm
from lm.ngram.build import build_ngram
from lm.ngram.gfst import build_gfst
from lm.ngram.kenlm_lm import BLANK_LOGPROB, KenLM
from lm.perplexity import perplexity

LN10 = math.log(10.0)
MEM = "64M"  # lmplz -S: tiny corpora, and a small box

CORPUS = [
    "The cat sat on the mat.",
    "The dog sat on the log!",
    "A cat is on the mat, and a dog is on the log.",
    "The cat and the dog sat.",
    "Is the cat on the mat?",
    "The dog's log is on the mat",
]
HELD_OUT = ["the cat sat on the log", "a dog sat on the zebra", "the mat is on the cat"]


@pytest.fixture(scope="module")
def lms(tmp_path_factory):
    d = tmp_path_factory.mktemp("ngram")
    corpus = d / "corpus.txt"
    corpus.write_text("\n".join(CORPUS) + "\n\n")
    tok = train_tokenizer([normalize_text(t) for t in CORPUS], d / "spm.model", vocab_size=60)
    build_ngram([corpus], 3, "word", d / "word.arpa", memory=MEM)
    build_ngram([corpus], 3, "word", d / "word.bin", memory=MEM)
    build_ngram([corpus], 3, "token", d / "token.arpa", tokenizer=tok, memory=MEM)
    return {"dir": d, "corpus": corpus, "tok": tok, "spm": d / "spm.model"}


def _full(path, units):
    """kenlm's own per-unit scores of a sentence, converted to ln (the last one is </s>)."""
    return [lp * LN10 for lp, _, _ in kenlm.Model(str(path)).full_scores(" ".join(units), bos=True, eos=True)]


def _units(lm, text):
    return [lm.vocab[i] for i in lm.encode_text(text)]


@pytest.mark.parametrize("name", ["word.arpa", "word.bin", "token.arpa"])
def test_interface_matches_kenlm(lms, name):
    lm = load_lm(lms["dir"] / name, tokenizer=lms["spm"])
    assert isinstance(lm, LanguageModel)
    assert lm.unit == ("token" if name.startswith("token") else "word")
    for text in HELD_OUT:
        ids = lm.encode_text(text)
        expected = _full(lms["dir"] / name, _units(lm, text))
        # whole sentence
        assert lm.score_sentences([ids])[0].item() == pytest.approx(sum(expected), abs=1e-4)
        # incremental: init_state / score / advance / final_score, state carried
        state = lm.init_state(1)
        total = 0.0
        for pos, u in enumerate(ids):
            step = lm.score(state)
            assert step.shape == (1, len(lm.vocab))
            assert step[0, u].item() == pytest.approx(expected[pos], abs=1e-4)
            total += step[0, u].item()
            state = lm.advance(state, torch.tensor([0]), torch.tensor([u]))
        final = lm.final_score(state)
        assert final.shape == (1,)
        assert final[0].item() == pytest.approx(expected[-1], abs=1e-4)
        assert total + final[0].item() == pytest.approx(sum(expected), abs=1e-3)


def test_word_vocab_and_unk(lms):
    lm = load_lm(lms["dir"] / "word.arpa")
    assert "<unk>" in lm.vocab and "<s>" not in lm.vocab and "</s>" not in lm.vocab
    assert "cat" in lm.vocab and "dog's" in lm.vocab
    ids = lm.encode_text("the zebra")
    assert ids[1] == lm.unk_id == lm.vocab.index("<unk>")
    # binary: same vocabulary (from the meta.json sidecar), same scores
    lm_bin = load_lm(lms["dir"] / "word.bin")
    assert lm_bin.vocab == lm.vocab
    sents = [lm.encode_text(t) for t in HELD_OUT]
    assert torch.allclose(lm.score_sentences(sents), lm_bin.score_sentences(sents), atol=1e-5)
    parents, units = torch.tensor([0, 1]), torch.tensor([ids[0], 3])
    s_arpa = lm.advance(lm.init_state(2), parents, units)
    s_bin = lm_bin.advance(lm_bin.init_state(2), parents, units)
    assert torch.allclose(lm.score(s_arpa), lm_bin.score(s_bin), atol=1e-5)
    assert torch.allclose(lm.final_score(s_arpa), lm_bin.final_score(s_bin), atol=1e-5)


def test_token_vocab_is_tokenizer(lms):
    lm = load_lm(lms["dir"] / "token.arpa", tokenizer=lms["spm"])
    assert lm.vocab == lms["tok"].pieces()
    assert lm.encode_text("the cat sat") == lms["tok"].encode("the cat sat")
    scores = lm.score(lm.init_state(1))
    assert scores[0, 0].item() == BLANK_LOGPROB  # CTC blank is not an LM unit
    # a blank in advance keeps the state
    s = lm.advance(lm.init_state(1), torch.tensor([0]), torch.tensor([0]))
    assert torch.equal(lm.score(s), scores)
    # pieces missing from the LM are scored as <unk>: the LM's own units, <unk> and </s> sum to 1
    assert 1 in lm.unk_ids and 0 not in lm.unk_ids and len(lm.unk_ids) > 1
    in_lm = [i for i in range(1, len(lm.vocab)) if i not in lm.unk_ids or i == 1]
    total = torch.logsumexp(torch.cat([scores[0, in_lm], lm.final_score(lm.init_state(1))]), 0)
    assert total.item() == pytest.approx(0.0, abs=1e-4)


def _some_states(lm):
    """Three different states: after <s>, after one unit, after two units."""
    ids = lm.encode_text("the cat sat")
    s = lm.init_state(3)
    s = lm.advance(s, torch.tensor([0, 1, 2]), torch.tensor([ids[0], ids[0], ids[1]]))
    return lm.advance(s, torch.tensor([0, 1, 2]), torch.tensor([ids[1], ids[2], ids[2]]))


@pytest.mark.parametrize("name", ["word.arpa", "token.arpa"])
def test_candidates_and_batching(lms, name):
    lm = load_lm(lms["dir"] / name, tokenizer=lms["spm"])
    state = _some_states(lm)
    full = lm.score(state)
    assert full.shape == (3, len(lm.vocab))
    cands = torch.tensor([[2, 3, 4, 5], [5, 4, 3, 2], [1, 1, 6, 7]])
    sub = lm.score(state, cands)
    assert sub.shape == (3, 4)
    assert torch.equal(sub, full.gather(1, cands))
    # batched == unbatched, and states can be re-ordered / duplicated by parents
    for b in range(3):
        one = lm.advance(state, torch.tensor([b]), torch.tensor([2]))
        assert torch.equal(lm.score(one)[0], lm.score(lm.advance(state, torch.tensor([0, 1, 2]),
                                                                  torch.tensor([2, 2, 2])))[b])
        assert torch.equal(lm.score([state[b]])[0], full[b])
        assert torch.equal(lm.final_score([state[b]]), lm.final_score(state)[b:b + 1])
    with pytest.raises(ValueError):
        lm.score(state, torch.tensor([[len(lm.vocab)]] * 3))


def test_perplexity_by_hand(lms):
    path = lms["dir"] / "word.arpa"
    lm = load_lm(path)
    result = perplexity(lm, HELD_OUT + ["  ", "The CAT!"])
    texts = HELD_OUT + ["the cat"]
    model = kenlm.Model(str(path))
    total10 = sum(sum(lp for lp, _, _ in model.full_scores(t)) for t in texts)
    n_words = sum(len(t.split()) for t in texts)
    assert result["sentences"] == 4 and result["words"] == n_words == result["units"]
    assert result["logprob"] == pytest.approx(total10 * LN10, abs=1e-4)
    assert result["ppl_word"] == pytest.approx(10 ** (-total10 / (n_words + 4)), rel=1e-5)
    assert result["ppl_token"] == pytest.approx(result["ppl_word"])
    assert result["oov"] == 1 and result["oov_rate"] == pytest.approx(1 / n_words)
    # kenlm's own perplexity agrees on one sentence
    one = perplexity(lm, [HELD_OUT[0]])
    assert one["ppl_word"] == pytest.approx(model.perplexity(HELD_OUT[0]), rel=1e-5)


def test_token_perplexity(lms):
    lm = load_lm(lms["dir"] / "token.arpa", tokenizer=lms["spm"])
    result = perplexity(lm, HELD_OUT)
    n_units = sum(len(lm.encode_text(t)) for t in HELD_OUT)
    assert result["units"] == n_units and result["units"] > result["words"]
    assert result["ppl_token"] == pytest.approx(math.exp(-result["logprob"] / (n_units + 3)))


def test_meta_sidecar(lms):
    meta = json.loads((lms["dir"] / "token.arpa.meta.json").read_text())
    assert meta["unit"] == "token" and meta["order"] == 3 and meta["lines"] == len(CORPUS)
    assert meta["tokenizer_pieces"] == lms["tok"].vocab_size and len(meta["tokenizer_sha1"]) == 40
    assert meta["words"] == sum(len(normalize_text(t).split()) for t in CORPUS)


def test_gfst(lms, tmp_path):
    import kaldifst

    g_path, words_path = build_gfst(lms["dir"] / "word.arpa", tmp_path / "lang")
    symbols = [line.split() for line in words_path.read_text().splitlines()]
    assert symbols[0] == ["<eps>", "0"] and symbols[1] == ["<unk>", "1"]
    assert [s[0] for s in symbols[-3:]] == ["#0", "<s>", "</s>"]
    assert [int(s[1]) for s in symbols] == list(range(len(symbols)))
    g = kaldifst.StdVectorFst.read(str(g_path))
    labels = set()
    for state in kaldifst.StateIterator(g):
        for arc in kaldifst.ArcIterator(g, state):
            labels.add(arc.ilabel)
    assert g.num_states > 1
    disambig = len(symbols) - 3
    assert disambig in labels  # backoff arcs carry #0
    assert max(labels) <= disambig  # <s> and </s> are epsilons in G


def test_errors(lms, tmp_path):
    with pytest.raises(UserError, match="no such language model"):
        load_lm(tmp_path / "missing.arpa")
    bad = tmp_path / "bad.arpa"
    bad.write_text("hello\nworld\n")
    with pytest.raises(UserError, match="not an ARPA file") as err:
        KenLM.load(bad)
    assert "\n" not in str(err.value)
    truncated = tmp_path / "truncated.arpa"
    truncated.write_text((lms["dir"] / "word.arpa").read_text()[:300])
    with pytest.raises(UserError, match="cannot load") as err:
        KenLM.load(truncated)
    assert "\n" not in str(err.value)
    with pytest.raises(UserError, match="arpa2fst failed"):  # kaldilm would abort the process; run in a child
        build_gfst(truncated, tmp_path / "g")
    with pytest.raises(UserError, match="KenLM binary"):
        build_gfst(lms["dir"] / "word.bin", tmp_path / "g")
    empty = tmp_path / "empty.txt"
    empty.write_text("\n  \n!!!\n")
    with pytest.raises(UserError, match="empty"):
        build_ngram([empty], 3, "word", tmp_path / "e.arpa", memory=MEM)
    with pytest.raises(UserError, match="no such corpus"):
        build_ngram([tmp_path / "nope.txt"], 3, "word", tmp_path / "e.arpa", memory=MEM)
    with pytest.raises(UserError, match="needs the acoustic model's tokenizer"):
        load_lm(lms["dir"] / "token.arpa")


def test_mismatched_tokenizer(lms, tmp_path):
    other = train_tokenizer(["zebras quickly jump over lazy foxes", "quiet vexing zephyrs blow"],
                            tmp_path / "other.model", vocab_size=40)
    with pytest.raises(UserError, match="tokenizer .* does not match the LM's vocabulary .*sha1"):
        load_lm(lms["dir"] / "token.arpa", tokenizer=other.path)
    # without the sidecar, the unigram pieces are checked
    bare = tmp_path / "bare.arpa"
    shutil.copy(lms["dir"] / "token.arpa", bare)
    with pytest.raises(UserError, match="does not match the LM's vocabulary .*not pieces"):
        load_lm(bare, tokenizer=other.path)
    assert load_lm(bare, tokenizer=lms["spm"]).unit == "token"  # guessed from the ▁ pieces


def test_cli(lms, tmp_path, capsys):
    out = tmp_path / "cli.arpa"
    rc = main(["lm", "ngram", "--text", str(lms["corpus"]), "--order", "2", "--unit", "token",
               "--tokenizer", str(lms["spm"]), "--output", str(out), "--memory", MEM])
    assert rc == 0 and out.exists()
    held = tmp_path / "held.txt"
    held.write_text("\n".join(HELD_OUT) + "\n")
    capsys.readouterr()
    assert main(["lm", "ppl", "--lm", str(out), "--text", str(held), "--tokenizer", str(lms["spm"]), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["sentences"] == 3 and result["ppl_word"] > 1
    assert main(["lm", "gfst", "--lm", str(lms["dir"] / "word.arpa"), "-o", str(tmp_path / "g")]) == 0
    assert (tmp_path / "g" / "G.fst").exists()
    # bad input: exit code 2, one line on stderr
    for argv in (
        ["lm", "ppl", "--lm", str(tmp_path / "missing.arpa"), "--text", str(held)],
        ["lm", "ngram", "--text", str(tmp_path / "nope.txt"), "--order", "3", "--output", str(tmp_path / "x.arpa")],
        ["lm", "gfst", "--lm", str(held), "-o", str(tmp_path / "g2")],
        ["lm", "ppl", "--lm", str(out), "--text", str(held), "--tokenizer", str(tmp_path / "none.model")],
    ):
        capsys.readouterr()
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "error:" in err and "Traceback" not in err
