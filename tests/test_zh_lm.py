"""Chinese LMs over character units: a token n-gram over a character tokenizer, a "word" n-gram whose words
are characters (asrkit.text.lm_words), and TLG decoding with that character lexicon, where the LM picks
between homophones the acoustics cannot tell apart (espeak-ng reads 是 and 事 alike)."""

import json

import pytest

from asrkit.cli.main import main
from asrkit.text import lm_words
from asrkit.tokenizer import train_tokenizer
from decoders.tlg import TLGDecoder, build_tlg
from lm.ngram.build import build_ngram
from lm.ngram.kenlm_lm import read_unigrams
from tests.conftest import frame_emissions as emissions
from tests.conftest import spell

CORPUS = ["这是一个好主意。", "这是我的事。", "他的事很多。", "这是你的书。", "我的事我做。", "这是好书。"]


def test_lm_words_split_han_characters():
    assert lm_words("这是一个好主意") == list("这是一个好主意")
    assert lm_words("我爱 nlp 和 ai") == ["我", "爱", "nlp", "和", "ai"]
    assert lm_words("don't stop  now") == "don't stop  now".split()  # no Han: plain split


@pytest.fixture(scope="module")
def zh(tmp_path_factory):
    d = tmp_path_factory.mktemp("zh_lm")
    (d / "corpus.txt").write_text("\n".join(CORPUS) + "\n", encoding="utf-8")
    tok = train_tokenizer([t.rstrip("。") for t in CORPUS], d / "char.model", 100, units="char")
    build_ngram([d / "corpus.txt"], 3, "word", d / "word3.arpa")
    build_ngram([d / "corpus.txt"], 3, "token", d / "token3.arpa", tokenizer=d / "char.model")
    return d, tok


def test_character_lms(zh, capsys):
    d, tok = zh
    chars = set("".join(CORPUS)) - {"。"}
    assert set(read_unigrams(d / "word3.arpa")) - {"<s>", "</s>", "<unk>"} == chars
    assert set(read_unigrams(d / "token3.arpa")) - {"<s>", "</s>", "<unk>"} == chars
    meta = json.loads((d / "word3.arpa.meta.json").read_text())
    assert meta["words"] == sum(len(t) - 1 for t in CORPUS)  # a word per character
    assert main(["lm", "ppl", "--lm", str(d / "word3.arpa"), "--text", str(d / "corpus.txt"), "--json"]) == 0
    ppl = json.loads(capsys.readouterr().out)
    assert ppl["words"] == ppl["units"] == meta["words"]


@pytest.mark.parametrize("context, expected", [("这", "是"), ("他的", "事")])
def test_tlg_with_a_character_lexicon_resolves_homophones(zh, tmp_path, context, expected):
    d, tok = zh
    build_tlg(d / "word3.arpa", tok, tmp_path / "graph")
    dec = TLGDecoder.load(tmp_path / "graph", tok, beam=30.0)
    shi, shi4 = tok.encode("是")[0], tok.encode("事")[0]
    lp = emissions(tok, spell(tok, context) + [{shi: 0.45, shi4: 0.45}])  # 是 and 事: the same syllable
    assert dec.decode(lp, lm_weight=0.5) == [*context, expected]
