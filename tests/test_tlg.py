"""TLG decoding: graph building, the score it maximises, agreement with prefix beam search and exhaustive
search, G-resolved ambiguity, and refusal of graphs that do not match the model's tokenizer."""

import math
import shutil
from dataclasses import replace

import kaldifst
import kenlm
import pytest
import torch

from asrkit.cli.main import main
from asrkit.errors import UserError
from asrkit.tokenizer import train_tokenizer
from decoders.ctc_prefix_beam import ctc_prefix_beam_search
from decoders.scorer import WeightedScorer
from decoders.tlg import TLGDecoder, build_tlg
from decoders.tlg.graph import read_symbols
from lm.ngram.build import build_ngram
from lm.ngram.kenlm_lm import KenLM, read_unigrams
from lm.ngram.word_fusion import TokenizedWordLM
from tests.conftest import build_word_lm_and_tlg, spell
from tests.conftest import frame_emissions as emissions

LN10 = math.log(10.0)
CORPUS = [
    "the dog ran", "the dog ran home", "a dog ran home", "the dog ran to the cat",
    "the log fell", "a log fell", "the log fell down", "the log fell on the cat",
    "the cat sat", "the cat sat down", "a cat sat on the log", "the cat ran home",
]


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    d = tmp_path_factory.mktemp("tlg")
    tok = train_tokenizer(CORPUS, d / "tok.model", vocab_size=24)
    arpa, graphs, infos = build_word_lm_and_tlg(d, tok, CORPUS, ("standard", "compact"))
    decoders = {topo: TLGDecoder.load(g, tok, beam=30.0) for topo, g in graphs.items()}
    vocab = [w for w in read_unigrams(arpa) if w not in ("<s>", "</s>", "<unk>")]
    return {"dir": d, "tok": tok, "arpa": arpa, "graphs": graphs, "infos": infos, "dec": decoders,
            "kenlm": kenlm.Model(str(arpa)), "vocab": vocab}


def ctc_viterbi(lp: torch.Tensor, labels: list[int]) -> tuple[float, float]:
    """CTC Viterbi of ``labels`` (blank = 0): (max over alignments pi of all T frames with B(pi) = labels
    of sum_t log p_t(pi_t), the same max over alignments of only the first t frames for any t)."""
    rows = lp.tolist()
    if not labels:
        return sum(r[0] for r in rows), 0.0
    ext = [0]
    for k in labels:
        ext += [k, 0]
    alpha = [-math.inf] * len(ext)
    alpha[0], alpha[1] = rows[0][0], rows[0][ext[1]]
    prefix = max(alpha[-2:])
    for row in rows[1:]:
        new = []
        for s, k in enumerate(ext):
            best = alpha[s]
            if s >= 1:
                best = max(best, alpha[s - 1])
            if s >= 2 and k != 0 and k != ext[s - 2]:
                best = max(best, alpha[s - 2])
            new.append(best + row[k])
        alpha = new
        prefix = max(prefix, *alpha[-2:])
    return max(alpha[-2:]), prefix


def exhaustive(env, lp: torch.Tensor, lm_weight: float, word_penalty: float = 0.0) -> tuple[float, list[str]]:
    """Exact argmax over *all* word sequences W of the LM's vocabulary of
    max_pi log p_CTC(pi) + lm_weight * ln p_LM(W </s>) - word_penalty * |W|, by depth-first branch and bound:
    a prefix's acoustic score (frames after its last label add log p <= 0), LM score (more words add
    ln p <= 0) and penalty (word_penalty >= 0) bound every sequence that extends it."""
    assert word_penalty >= 0
    tok, lm = env["tok"], env["kenlm"]
    spell_of = {w: tok.encode(w) for w in env["vocab"]}
    best = [-math.inf, None]

    def visit(words: list[str], labels: list[int]) -> None:
        full, prefix = ctc_viterbi(lp, labels)
        text = " ".join(words)
        penalty = word_penalty * len(words)
        score = full + lm_weight * lm.score(text, bos=True, eos=True) * LN10 - penalty
        if score > best[0]:
            best[:] = [score, list(words)]
        if prefix + lm_weight * lm.score(text, bos=True, eos=False) * LN10 - penalty <= best[0]:
            return
        for w, pieces in spell_of.items():
            visit(words + [w], labels + pieces)

    visit([], [])
    return best[0], best[1]


EASY = ["the dog ran home", "a cat sat on the log", "the log fell down", "the cat ran home"]


@pytest.mark.parametrize("text", EASY)
def test_easy_inputs_match_prefix_search_and_exhaustive_search(env, text):
    tok, lam = env["tok"], 0.7
    lp = emissions(tok, spell(tok, text, 0.8), noise=0.5, seed=len(text))
    got = env["dec"]["standard"].decode_detailed(lp, lm_weight=lam)
    assert got.words == text.split()
    assert got.reached_final
    assert env["dec"]["compact"].decode(lp, lm_weight=lam) == text.split()
    # The same word LM fused into the CTC prefix beam search over BPE units.
    scorer = WeightedScorer(TokenizedWordLM(KenLM.load(env["arpa"]), tok), lam)
    hyp = ctc_prefix_beam_search(lp, beam=16, scorers=[scorer], prune_topk=tok.vocab_size)[0]
    assert tok.decode(hyp.units).split() == got.words
    ref_score, ref_words = exhaustive(env, lp, lam)
    assert ref_words == got.words
    # The reported pieces of the score are what the path really has (up to float32 and the 2^-10
    # quantisation of determinize_star / minimize_encoded).
    assert got.am_logprob == pytest.approx(ctc_viterbi(lp, tok.encode(text))[0], abs=1e-2)
    assert got.lm_logprob == pytest.approx(env["kenlm"].score(text, bos=True, eos=True) * LN10, abs=1e-2)
    assert got.score == pytest.approx(ref_score, abs=1e-2)


@pytest.mark.parametrize("seed", range(4))
def test_random_inputs_reach_the_exhaustive_optimum(env, seed):
    """On random emissions, TLG (wide beam) finds the exact argmax over all word sequences."""
    tok, lam, pen = env["tok"], 0.5, 0.4
    lp = torch.log_softmax(torch.randn(10, tok.vocab_size, generator=torch.Generator().manual_seed(seed)) * 2, -1)
    got = env["dec"]["standard"].decode_detailed(lp, lm_weight=lam, word_penalty=pen)
    ref_score, ref_words = exhaustive(env, lp, lam, word_penalty=pen)
    assert got.words == ref_words
    assert got.score == pytest.approx(ref_score, abs=1e-2)
    am = ctc_viterbi(lp, [k for w in got.words for k in tok.encode(w)])[0]
    assert got.score == pytest.approx(am + lam * got.lm_logprob - pen * len(got.words), abs=1e-2)


@pytest.mark.parametrize("context,expected", [("ran", "dog"), ("fell", "log")])
def test_acoustic_tie_is_resolved_by_the_lm(env, context, expected):
    tok = env["tok"]
    dog, log = tok.encode("dog"), tok.encode("log")
    assert len(dog) == len(log) and dog != log
    # "the {dog|log} CONTEXT": every piece of the middle word is half one word's, half the other's.
    middle = [{a: 0.45, b: 0.45} if a != b else {a: 0.9} for a, b in zip(dog, log)]
    lp = emissions(tok, spell(tok, "the") + middle + spell(tok, context))
    for w in ("dog", "log"):  # the acoustics alone cannot choose
        assert ctc_viterbi(lp, tok.encode(f"the {w} {context}"))[0] == pytest.approx(
            ctc_viterbi(lp, tok.encode(f"the {expected} {context}"))[0], abs=1e-5)
    for dec in env["dec"].values():
        assert dec.decode(lp, lm_weight=0.5) == ["the", expected, context]


HOMOPHONE_ARPA = """\\data\\
ngram 1=6
ngram 2=3

\\1-grams:
-1.0\t<s>\t-0.3
-0.7\t</s>
-0.8\tdög\t-0.2
-0.9\tdüg\t-0.2
-0.6\tcat\t-0.2
-2.0\t<unk>

\\2-grams:
-0.3\t<s> dög
-0.2\tcat düg
-0.1\tdög cat

\\end\\
"""


def test_homophones_get_disambiguation_symbols_and_g_picks_one(env, tmp_path):
    """'dög' and 'düg' both spell '▁d <unk> g' with a tokenizer that lacks ö and ü: without word-end
    symbols L∘G is not functional (determinize_star fails); with them, G chooses by context."""
    tok = env["tok"]
    assert tok.encode("dög") == tok.encode("düg") and 1 in tok.encode("dög")
    (tmp_path / "homo.arpa").write_text(HOMOPHONE_ARPA, encoding="utf-8")
    info = build_tlg(tmp_path / "homo.arpa", tok, tmp_path / "g")
    assert info["num_disambig"] == 3 and info["words_with_unk_piece"] == 2
    dec = TLGDecoder.load(tmp_path / "g", tok)
    assert dec.decode(emissions(tok, spell(tok, "dög cat"))) == ["dög", "cat"]
    assert dec.decode(emissions(tok, spell(tok, "cat düg"))) == ["cat", "düg"]


def test_batch_equals_single_and_options(env):
    tok, dec = env["tok"], env["dec"]["standard"]
    lps = [emissions(tok, spell(tok, t)) for t in EASY[:3]]
    lengths = torch.tensor([x.size(0) for x in lps])
    batch = torch.zeros(len(lps), int(lengths.max()), tok.vocab_size)
    for i, x in enumerate(lps):
        batch[i, : x.size(0)] = x
    assert dec.decode_batch(batch, lengths, lm_weight=0.7) == [dec.decode(x, lm_weight=0.7) for x in lps]
    assert dec.decode(torch.zeros(0, tok.vocab_size)) == []
    # A large word penalty makes any word cost more than the acoustics can pay back.
    assert dec.decode(lps[0], word_penalty=1e3) == []
    with pytest.raises(UserError, match="not both"):
        dec.decode(lps[0], lm_weight=0.5, acoustic_scale=2.0)
    with pytest.raises(UserError, match="lm_weight"):
        dec.decode(lps[0], lm_weight=0.0)
    with pytest.raises(UserError, match="pieces"):
        dec.decode(torch.zeros(5, tok.vocab_size + 1))


def test_graph_files_are_consistent(env):
    tok, info, g = env["tok"], env["infos"]["standard"], env["graphs"]["standard"]
    pieces, v = tok.pieces(), tok.vocab_size
    tokens = read_symbols(g / "tokens.txt")
    assert tokens == ["<eps>", *pieces, *(f"#{d}" for d in range(info["num_disambig"]))]
    words = read_symbols(g / "words.txt")
    lm_words = read_unigrams(env["arpa"])
    assert words[0] == "<eps>" and words[-3:] == ["#0", "<s>", "</s>"]
    assert set(words[1:-3]) == set(lm_words) - {"<s>", "</s>"}
    real = {i for i, w in enumerate(words) if w in env["vocab"]}
    assert info["words_in_lexicon"] == len(real) == len(env["vocab"])
    fst = kaldifst.StdConstFst.read(str(g / "TLG.fst"))
    ilabels, olabels = set(), set()
    for s in kaldifst.StateIterator(fst):
        for arc in kaldifst.ArcIterator(fst, s):
            ilabels.add(arc.ilabel)
            olabels.add(arc.olabel)
    assert ilabels <= set(range(v + 1))  # token id + 1 or epsilon: no disambiguation symbol is left
    assert olabels - {0} == real  # every LM word can be output, and nothing else


def test_graph_for_another_tokenizer_is_refused(env, tmp_path):
    other = train_tokenizer(CORPUS, tmp_path / "other.model", vocab_size=20)
    g = env["graphs"]["standard"]
    with pytest.raises(UserError, match="tokenizer") as err:
        TLGDecoder.load(g, other)
    assert str(g) in str(err.value) and "\n" not in str(err.value)


def test_tampered_graph_files_are_refused(env, tmp_path):
    tok = env["tok"]
    g = tmp_path / "g"
    shutil.copytree(env["graphs"]["standard"], g)
    lines = (g / "tokens.txt").read_text().splitlines()
    a, b = lines[3].split()[0], lines[4].split()[0]  # swap the names of two pieces
    lines[3], lines[4] = f"{b} 3", f"{a} 4"
    (g / "tokens.txt").write_text("\n".join(lines) + "\n")
    with pytest.raises(UserError, match="tokens.txt"):
        TLGDecoder.load(g, tok)
    # words.txt of a graph built from another LM: ids would name other words.
    shutil.copy(env["graphs"]["standard"] / "tokens.txt", g / "tokens.txt")
    (tmp_path / "small.txt").write_text("\n".join(CORPUS[:6]) + "\n")
    build_ngram([tmp_path / "small.txt"], 2, "word", tmp_path / "small.arpa")
    build_tlg(tmp_path / "small.arpa", tok, tmp_path / "g_small")
    shutil.copy(tmp_path / "g_small" / "words.txt", g / "words.txt")
    with pytest.raises(UserError, match="words.txt"):
        TLGDecoder.load(g, tok)
    (g / "graph.json").unlink()
    with pytest.raises(UserError, match="not a TLG graph folder"):
        TLGDecoder.load(g, tok)


def test_cli_builds_and_refuses_token_lms(env, tmp_path, capsys):
    model_dir = tmp_path / "model"
    model_dir.mkdir()
    shutil.copy(env["tok"].path, model_dir / "tokenizer.model")
    out = tmp_path / "graph"
    assert main(["lm", "tlg", "--lm", str(env["arpa"]), "--model", str(model_dir), "-o", str(out), "-q"]) == 0
    assert "TLG" in capsys.readouterr().out
    lp = emissions(env["tok"], spell(env["tok"], EASY[0]))
    assert TLGDecoder.load(out, model_dir / "tokenizer.model").decode(lp) == EASY[0].split()
    token_arpa = tmp_path / "token.arpa"
    build_ngram([env["dir"] / "corpus.txt"], 2, "token", token_arpa, tokenizer=env["tok"])
    assert main(["lm", "tlg", "--lm", str(token_arpa), "--tokenizer", str(env["tok"].path), "--out",
                 str(tmp_path / "g2"), "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert "token-level LM" in err and len(err.splitlines()) == 1
    assert not (tmp_path / "g2" / "graph.json").exists()


def test_default_search_beam_is_the_documented_16(env, root):
    """--search-beam is TLG's log-score margin, 16 by default (docs/tlg.md). Here the right path ("the dog") is
    12 behind "the c..." at one frame and wins later: a margin of 8 (what the old code ran, from --beam 8)
    prunes it, 16 keeps it. min_active 0 makes the margin bind on this tiny graph."""
    from asrkit.inference import DecodeConfig
    from asrkit.inference.heads import CTCHead

    tok, g = env["tok"], env["graphs"]["standard"]
    pieces = tok.pieces()
    the, dog, c = tok.encode("the"), tok.encode("dog"), pieces.index("\u2581c")
    assert len(the) == 1 and len(dog) == 3 and c not in dog
    rows = [{the[0]: 1.0}, {0: 1.0}, {c: 1.0, dog[0]: math.exp(-12.0)}, {0: 1.0}, {dog[1]: 1.0}, {0: 1.0},
            {dog[2]: 1.0}, {0: 1.0}]
    lp = torch.stack([torch.log_softmax(torch.full((tok.vocab_size,), -20.0).index_put_(
        (torch.tensor(list(r)),), torch.tensor([math.log(q) for q in r.values()])), -1) for r in rows])
    graph = TLGDecoder.load(g, tok, min_active=0)
    head = CTCHead(tok)
    cfg = DecodeConfig(method="tlg", graph=str(g), lm_weight=1.0)  # lambda 1: the margin is in log p_CTC units
    assert cfg.search_beam == 16.0 and "`--search-beam` (default 16)" in (root / "docs" / "tlg.md").read_text()
    acoustics = (lp[None], torch.tensor([len(rows)]))
    assert head.graph_search(acoustics, graph, cfg) == ["the dog"]
    assert head.graph_search(acoustics, graph, replace(cfg, search_beam=8.0)) == ["the cat"]
