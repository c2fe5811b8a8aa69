"""Hotwords (decoders/context_graph.py, asrkit/inference/hotwords.py): the context graph's bonus/payback
arithmetic on hand-built cases, the compiled core's scorer equal to the reference, a hotword flipping an
ambiguous name on hand-built CTC emissions (sentencepiece and character vocabularies, every beam method's
scorer list) and on an autoregressive head, and one-line errors for bad hotword files."""

import math
import os

import pytest
import torch

from asrkit.errors import UserError
from asrkit.inference import DecodeConfig
from asrkit.inference.emissions_decoder import EmissionsDecoder
from asrkit.inference.hotwords import build_context_graph, read_hotwords
from decoders.context_graph import ContextGraph
from decoders.ctc_prefix_beam import ctc_prefix_beam_search_batch, ctc_prefix_beam_search_reference
from decoders.scorer import WeightedScorer
from decoders.vocabulary import Vocabulary

torch.set_num_threads(1)


def walk(g: ContextGraph, units):
    """Per-step scores and the final take-back of a unit sequence."""
    n, steps = g.start, []
    for u in units:
        n, v = g.step(n, u)
        steps.append(v)
    return steps, -g.pending[n]


# ---- the arithmetic ----------------------------------------------------------------------------------------
def test_bonus_per_unit_and_payback_on_failure():
    g = ContextGraph([[1, 2, 3]], [1.5])
    # Each matched unit earns 1.5; the third completes the phrase: pending 4.5 paid back, 4.5 banked.
    assert walk(g, [1, 2, 3]) == ([1.5, 1.5, 1.5], 0.0)
    # A partial match that fails pays back what it earned; one that is cut by the end is taken back at the end.
    assert walk(g, [1, 2, 9]) == ([1.5, 1.5, -3.0], 0.0)
    assert walk(g, [1, 2]) == ([1.5, 1.5], -3.0)
    # Failing into a shorter match: 1 2 1 2 3 -> the second "1" restarts the phrase (fail to the root, then 1).
    assert walk(g, [1, 2, 1, 2, 3]) == ([1.5, 1.5, -1.5, 1.5, 1.5], 0.0)
    assert sum(walk(g, [1, 2, 1, 2, 3])[0]) == 4.5
    assert float(g.score_sentences([[7, 1, 2, 3, 7, 1]])[0]) == 4.5


def test_fail_arcs_keep_the_longest_suffix_and_completed_phrases_keep_their_bonus():
    # "a b c d" and "b c e": after a b c, the unit e falls back to the suffix b c (pending 2) and completes b c e.
    g = ContextGraph([[1, 2, 3, 4], [2, 3, 5]])
    steps, end = walk(g, [1, 2, 3, 5])
    # pending 3 at "a b c"; e reaches "b c e" (a leaf: back to the root): 0 - 3 + bank 3.
    assert (steps, end) == ([1.0, 1.0, 1.0, 0.0], 0.0)  # only b c e completed: |p| = 3
    # Per-phrase weights: a completed phrase keeps w_p |p| even where it shares a prefix with a heavier one.
    g = ContextGraph([[1, 2], [1, 2, 3, 4]], [1.0, 3.0])
    steps, end = walk(g, [1, 2, 9])
    # The prefix earns the largest weight of the phrases through it (3 per unit); reaching "1 2" also banks its
    # own 1 * 2, since the longer phrase may still follow; 9 then pays back the pending 6.
    assert steps == [3.0, 3.0 + 2.0, -6.0]
    assert sum(steps) + end == 2.0  # "1 2" completed with weight 1: 1 * 2
    steps, end = walk(g, [1, 2, 3, 4])
    assert sum(steps) + end == 2.0 + 12.0  # both phrases completed
    # A phrase inside another (suffix link): completing "x y z" also completes "y z".
    g = ContextGraph([[7, 8, 9], [8, 9]], [1.0, 1.0])
    assert float(g.score_sentences([[7, 8, 9]])[0]) == 3.0 + 2.0


def test_language_model_protocol_batches():
    g = ContextGraph([[1, 2, 3], [2, 4]], [1.0, 2.0], vocab=[str(i) for i in range(6)])
    state = g.init_state(3)
    state = g.advance(state, torch.tensor([0, 1, 2]), torch.tensor([1, 2, 5]))
    scores = g.score(state, torch.tensor([[2, 4], [4, 3], [1, 2]]))
    # Row 0 at "1" (pending 1): 2 matches (+1), 4 fails (-1). Row 1 at "2" (pending 2, weight 2): 4 completes
    # "2 4" (a leaf: pending paid back, bank 2 * 2 kept: 0 - 2 + 4), 3 fails (-2). Row 2 at the root.
    assert scores.tolist() == [[1.0, -1.0], [2.0, -2.0], [1.0, 2.0]]
    assert g.final_score(state).tolist() == [-1.0, -2.0, 0.0]


@pytest.mark.skipif(os.environ.get("ASRKIT_NATIVE", "1") == "0", reason="compiled core switched off")
@pytest.mark.parametrize("table_steps", [None, 0])
def test_native_scorer_equals_reference(table_steps, monkeypatch):
    """Random phrases over a random vocabulary: the compiled search's n-best and scores equal the Python search,
    with the core's step table and without it (0)."""
    import decoders.ctc_prefix_beam as cpb
    import decoders.ctc_prefix_beam_native as native
    from decoders.ctc_prefix_beam_native import native_scorer

    assert cpb._native_search() is not None
    monkeypatch.setattr(native, "CONTEXT_TABLE_STEPS", table_steps)
    gen = torch.Generator().manual_seed(3)
    vocab = 12
    phrases = [torch.randint(1, vocab, (int(torch.randint(1, 5, (1,), generator=gen)),), generator=gen).tolist()
               for _ in range(40)]
    g = ContextGraph(phrases, [0.5 + (i % 3) for i in range(40)], vocab=[str(i) for i in range(vocab)])
    assert native_scorer(g) is not None
    lp = torch.log_softmax(torch.randn(3, 30, vocab, generator=gen) * 2.5, -1)
    lens = torch.tensor([30, 22, 9])
    for w in (0.7, 3.0):
        scorers = [WeightedScorer(g, w, "hotwords")]
        a = ctc_prefix_beam_search_batch(lp, lens, beam=6, scorers=scorers, nbest=4)
        b = ctc_prefix_beam_search_reference(lp, lens, beam=6, scorers=scorers, nbest=4)
        for ha, hb in zip(a, b):
            assert [h.units for h in ha] == [h.units for h in hb]
            for x, y in zip(ha, hb):
                assert math.isclose(x.score, y.score, abs_tol=1e-4)
                assert math.isclose(x.lm_scores["hotwords"], y.lm_scores["hotwords"], abs_tol=1e-4)


# ---- flipping an ambiguous name ----------------------------------------------------------------------------
def emissions(vocab: Vocabulary, frames: list[dict[str, float]]) -> torch.Tensor:
    """One peaky frame per entry ({unit string: probability}), each followed by a blank frame."""
    index = {p: i for i, p in enumerate(vocab.pieces())}
    rows = []
    for f in frames:
        for probs in (f, {}):
            row = torch.full((vocab.vocab_size,), 1e-4)
            for unit, p in probs.items():
                row[index[unit]] = p
            row[vocab.blank_id] = max(1e-4, 1.0 - sum(probs.values()))
            rows.append(row / row.sum())
    return torch.log(torch.stack(rows))


CHARS = ["<pad>", "<s>", "</s>", "<unk>", "|"] + list("abcdefghijklmnopqrstuvwxyz")


def test_hotword_flips_an_ambiguous_name_char_vocab(tmp_path):
    vocab = Vocabulary.from_chars([c.upper() for c in CHARS], blank_id=0)
    # "saw marc": the acoustics prefer c over k for the last letter.
    frames = [{c: 0.95} for c in "saw"] + [{"▁": 0.95}] + [{c: 0.95} for c in "mar"] + [{"c": 0.55, "k": 0.4}]
    lp = emissions(vocab, frames)
    assert EmissionsDecoder(vocab, method="beam").decode([lp]) == ["saw marc"]
    hot = tmp_path / "names.txt"
    hot.write_text("Mark\n")
    assert EmissionsDecoder(vocab, method="beam", hotwords=str(hot), hotword_weight=1.0).decode([lp]) == ["saw mark"]
    # A phrase matches only at a word start (the delimiter before it): "ark" does not bias "mark".
    hot.write_text("ark\n")
    assert EmissionsDecoder(vocab, method="beam", hotwords=str(hot), hotword_weight=1.0).decode([lp]) == ["saw marc"]


def test_sentencepiece_character_model_matches_whole_words_like_wav2vec2(tmp_path):
    """A sentencepiece ``char`` model (asrkit's English character models: no dummy prefix, a lone ``▁`` between
    words) spells a phrase without ``▁``; the graph starts it after that ``▁`` as after wav2vec2's ``|``: the
    name flips mid-sentence, "ark" does not bias "mark", and both vocabularies give the same texts."""
    from asrkit.inference.hotwords import build_context_graph, word_delimiter
    from asrkit.tokenizer import train_tokenizer

    tok = train_tokenizer(["saw mark and marc", "the lark saw a bark", "we quizzed yves jo"] * 5, tmp_path / "c.model",
                          64, units="char")
    sp = Vocabulary.from_sentencepiece(tmp_path / "c.model")
    w2v = Vocabulary.from_chars(["<pad>" if i == 0 else "|" if p == "\u2581" else p
                                 for i, p in enumerate(tok.pieces())], blank_id=0)
    # The same pieces as a tokens.txt (save_emissions.py --tokens writes it): a token list spells each word from a
    # ▁, which must not be doubled.
    tokens = tmp_path / "tokens.txt"
    tokens.write_text("".join(f"{p} {i}\n" for i, p in enumerate(tok.pieces())), encoding="utf-8")
    listed = Vocabulary.from_tokens_txt(tokens)
    assert word_delimiter(sp) == word_delimiter(w2v) == tok.pieces().index("\u2581")
    assert word_delimiter(sp) not in sp.encode("mark")  # the phrase alone has no ▁
    frames = [{c: 0.95} for c in "saw"] + [{"\u2581": 0.95}] + [{c: 0.95} for c in "mar"] + [{"c": 0.55, "k": 0.4}]
    hot = tmp_path / "names.txt"
    for phrase, want in (("Mark", "saw mark"), ("ark", "saw marc")):
        hot.write_text(phrase + "\n")
        kw = {"method": "beam", "hotwords": str(hot), "hotword_weight": 1.0}
        got = [EmissionsDecoder(v, **kw).decode([emissions(v, frames)]) for v in (sp, w2v, listed)]
        assert got == [[want], [want], [want]], phrase
    # A script written without spaces is matched anywhere: no delimiter before its phrases.
    zh = train_tokenizer(["要有礼貌 linux 的人", "礼貌 os"] * 5, tmp_path / "zh.model", 64, units="char")
    g = build_context_graph(read_hotwords_text(tmp_path, "礼貌\nlinux\n"), zh)
    delim = word_delimiter(zh)
    assert [p[0] == delim for p in g.phrases] == [False, True]


def read_hotwords_text(folder, text: str):
    from asrkit.inference.hotwords import read_hotwords

    path = folder / "list.txt"
    path.write_text(text, encoding="utf-8")
    return read_hotwords(path)


def test_char_path_equals_bpe_path(tmp_path):
    """The same problem over a character vocabulary (delimiter |) and over sentencepiece-style pieces whose
    word-initial units carry ▁: the same texts and hotword scores."""
    chars = Vocabulary.from_chars(CHARS, blank_id=0)
    letters = "abcdefghijklmnopqrstuvwxyz"
    pieces = ["<blk>", "<unk>"] + ["\u2581" + c for c in letters] + list(letters)
    tokens = tmp_path / "tokens.txt"
    tokens.write_text("".join(f"{p} {i}\n" for i, p in enumerate(pieces)))
    bpe = Vocabulary.from_tokens_txt(tokens)
    assert bpe.blank_id == 0 and bpe.word_delimiter_id is None
    # Equivalent emissions: char "| m" <-> piece "▁m" (the delimiter frame merged into the next letter).
    text_frames = [("s", 0.95), ("a", 0.95), ("w", 0.95), (" m", 0.95), ("a", 0.9), ("r", 0.9)]
    cf, bf = [], []
    for k, (u, p) in enumerate(text_frames):
        if u.startswith(" "):
            cf.append({"▁": p})
            cf.append({u[1]: p})
            bf.append({"\u2581" + u[1]: p})
        else:
            cf.append({u: p})
            bf.append({("\u2581" + u) if k == 0 else u: p})
    cf.append({"c": 0.55, "k": 0.4})
    bf.append({"c": 0.55, "k": 0.4})
    hot = tmp_path / "h.txt"
    hot.write_text("mark\t1.5\n")
    for kw in ({"method": "beam"}, {"method": "beam", "hotwords": str(hot), "hotword_weight": 1.0}):
        a = EmissionsDecoder(chars, **kw)
        b = EmissionsDecoder(bpe, **kw)
        ta, tb = a.decode([emissions(chars, cf)]), b.decode([emissions(bpe, bf)])
        assert ta == tb
        ha, hb = a.hypotheses([emissions(chars, cf)])[0][0], b.hypotheses([emissions(bpe, bf)])[0][0]
        assert ha.lm_scores.get("hotwords") == hb.lm_scores.get("hotwords")
    assert ta == ["saw mark"] and ha.lm_scores["hotwords"] == 1.5 * 4


def test_hotwords_join_every_beam_method(tmp_path):
    """With an n-gram LM that prefers the wrong spelling, the hotword still wins in every LM method."""
    from lm.ngram.build import build_ngram
    from lm.unigram import UnigramLM

    vocab = Vocabulary.from_chars(CHARS, blank_id=0)
    (tmp_path / "t.txt").write_text("saw marc\n" * 5 + "saw mark\n")
    build_ngram([tmp_path / "t.txt"], 2, "word", tmp_path / "w.arpa", memory="64M")
    prior = tmp_path / "prior.json"
    UnigramLM(torch.log_softmax(torch.zeros(len(CHARS)), -1), vocab.pieces()).save(prior)
    frames = [{c: 0.95} for c in "saw"] + [{"▁": 0.95}] + [{c: 0.95} for c in "mar"] + [{"c": 0.55, "k": 0.4}]
    lp = emissions(vocab, frames)
    hot = tmp_path / "h.txt"
    hot.write_text("mark\n")
    lm = str(tmp_path / "w.arpa")
    for method, extra in [("shallow_fusion", {}), ("density_ratio", {"source_lm": lm}), ("ilme", {"ilm": str(prior)}),
                          ("rescore", {"lm_weight": 0.0})]:
        base = dict(method=method, lm=lm, beam=4, **extra)
        assert EmissionsDecoder(vocab, **base).decode([lp]) == ["saw marc"], method
        assert EmissionsDecoder(vocab, **base, hotwords=str(hot), hotword_weight=3.0).decode([lp]) == ["saw mark"], \
            method


class TableHead:
    """An autoregressive head over a real LLM tokenizer that gives two continuations, ``a`` a little more
    likely than ``b``, then the eos: a hand-built stand-in for a speech LLM conditioned on ambiguous audio."""

    unit = "token"

    def __init__(self, a: list[int], b: list[int], vocab_size: int, eos_id: int):
        self.paths = {tuple(a): math.log(0.55), tuple(b): math.log(0.45)}
        self.v, self.eos_id = vocab_size, eos_id
        self.vocab = [str(i) for i in range(vocab_size)]

    def init_state(self, batch):
        return [()] * batch

    def score(self, state, candidates=None):
        out = torch.full((len(state), self.v), -30.0)
        for r, prefix in enumerate(state):
            for path, lp in self.paths.items():
                if path[: len(prefix)] == prefix:
                    nxt = path[len(prefix)] if len(prefix) < len(path) else self.eos_id
                    out[r, nxt] = max(float(out[r, nxt]), lp if not prefix else 0.0)
        return out if candidates is None else out.gather(1, candidates)

    def advance(self, state, parents, units):
        return [state[p] + (u,) for p, u in zip(parents.tolist(), units.tolist())]

    def final_score(self, state):
        return torch.zeros(len(state))

    def select_states(self, state, rows):
        return [state[i] for i in rows.tolist()]

    def concat_states(self, states):
        return [s for b in states for s in b]


def test_hotword_flips_a_name_on_the_llm_head(tiny_speech_llm, tmp_path):
    from decoders.ar_beam import ar_beam_search

    tok = tiny_speech_llm["model"].tokenizer
    a, b = tok.encode(" Marc"), tok.encode(" Mark")
    head = TableHead(a, b, len(tok.pieces()), tok.eos_id)
    plain = ar_beam_search(head, 1, tok.eos_id, beam=2, length_penalty=0.0)[0][0]
    assert list(plain.units) == a
    hot = tmp_path / "h.txt"
    hot.write_text("mark\n")  # normalised (lower case); the graph holds the LLM's spellings " Mark", "Mark", ...
    graph = build_context_graph(read_hotwords(hot), tok)
    biased = ar_beam_search(head, 1, tok.eos_id, beam=2, length_penalty=0.0,
                            scorers=[WeightedScorer(graph, 1.0, "hotwords")])[0][0]
    assert list(biased.units) == b and biased.lm_scores["hotwords"] > 0


class StepHead(TableHead):
    """An autoregressive head whose next-token log-probabilities depend only on the prefix length."""

    def __init__(self, steps: list[dict[int, float]], vocab_size: int, eos_id: int):
        self.steps, self.v, self.eos_id = steps, vocab_size, eos_id
        self.vocab = [str(i) for i in range(vocab_size)]

    def init_state(self, batch):
        return [0] * batch

    def score(self, state, candidates=None):
        out = torch.full((len(state), self.v), -30.0)
        for r, n in enumerate(state):
            for u, lp in self.steps[min(n, len(self.steps) - 1)].items():
                out[r, u] = lp
        return out if candidates is None else out.gather(1, candidates)

    def advance(self, state, parents, units):
        return [state[p] + 1 for p in parents.tolist()]


def test_context_graph_proposes_the_units_that_continue_a_match():
    # "1 2" and "1 | 3 4" (unit 3 starts a word): after 1 the graph proposes 2 and, across the boundary, 3.
    g = ContextGraph([[1, 2], [1, 3, 4]], boundary=[False, True, False, True, False])
    assert g.proposals(g.init_state(1)) == [[]]  # nothing at the start: the head proposes first units
    after_1 = g.advance(g.init_state(1), torch.tensor([0]), torch.tensor([1]))
    assert sorted(g.proposals(after_1)[0]) == [2, 3]
    after_13 = g.advance(after_1, torch.tensor([0]), torch.tensor([3]))
    assert g.proposals(after_13) == [[4]]


def test_ar_search_scores_a_hotword_continuation_the_head_does_not_rank():
    """The head ranks the phrase's second unit (9) below its pre-beam; the graph's proposal lets the bonus
    complete the phrase, and without the graph the search is unchanged."""
    from decoders.ar_beam import _with_proposals, ar_beam_search

    eos = 19
    steps = [{5: 0.0}, {1: -1.5, 2: -1.5, 3: -1.5, 4: -1.5, 9: -4.0}, {eos: 0.0}]
    head = StepHead(steps, 20, eos)
    plain = ar_beam_search(head, 1, eos, beam=1, length_penalty=0.0)[0][0]
    assert list(plain.units)[:1] == [5] and list(plain.units)[1] != 9
    graph = ContextGraph([[5, 9]], [2.0])
    hyp = ar_beam_search(head, 1, eos, beam=1, length_penalty=0.0, pre_beam=2,
                         scorers=[WeightedScorer(graph, 1.0, "hotwords")])[0][0]
    assert list(hyp.units) == [5, 9] and hyp.lm_scores["hotwords"] == 4.0
    # Without proposals (a scorer that has none) the same pre-beam never sees 9.
    class NoProposals:
        def __init__(self, g):
            self.g = g

        def __getattr__(self, name):
            if name == "proposals":
                raise AttributeError(name)
            return getattr(self.g, name)

    hyp = ar_beam_search(head, 1, eos, beam=1, length_penalty=0.0, pre_beam=2,
                         scorers=[WeightedScorer(NoProposals(graph), 1.0, "hotwords")])[0][0]
    assert 9 not in hyp.units
    # Proposals already among the candidates, or out of the vocabulary, are not added twice.
    cand = torch.tensor([[9, 1]])
    state = graph.advance(graph.init_state(1), torch.tensor([0]), torch.tensor([5]))
    out, valid = _with_proposals(cand, [WeightedScorer(graph, 1.0, "h")], [state], 20)
    assert out.tolist() == [[9, 1]] and valid is None


def test_hotwords_reach_the_speech_llm_engine(tiny_speech_llm, tmp_path):
    """The engine puts the context graph in the speech LLM's scorer list (every beam method)."""
    from asrkit.inference.engine import Decoder
    from asrkit.inference.heads import SpeechLLMHead

    head = SpeechLLMHead(tiny_speech_llm["model"], "asr")
    hot = tmp_path / "h.txt"
    hot.write_text("the\nhello world\t2\n")
    dec = Decoder(DecodeConfig(method="beam", beam=2, max_new_tokens=4, hotwords=str(hot)), head)
    assert [s.name for s in dec.scorers] == ["hotwords"]
    hyps = dec.hypotheses(head.acoustics(tiny_speech_llm["waves"]))
    assert all("hotwords" in h[0].lm_scores for h in hyps)


# ---- bad input ---------------------------------------------------------------------------------------------
def test_bad_hotword_files_are_one_line(tmp_path):
    cases = {"missing.txt": None, "empty.txt": b"\n# only a comment\n", "bad_weight.txt": b"mark\tlots\n",
             "neg.txt": b"mark\t-1\n", "punct.txt": b"!!!\n", "latin1.txt": "caf\u00e9".encode("latin-1")}
    for name, data in cases.items():
        if data is not None:
            (tmp_path / name).write_bytes(data)
        with pytest.raises(UserError) as err:
            read_hotwords(tmp_path / name)
        assert "\n" not in str(err.value) and name in str(err.value)
    (tmp_path / "ok.txt").write_text("\ufeffMark!\n  JUDE\t2.5\nmark\t3\n")
    assert [h[:3] for h in read_hotwords(tmp_path / "ok.txt")] == [("mark", 3.0, ()), ("jude", 2.5, ())]
    vocab = Vocabulary.from_chars(CHARS)
    (tmp_path / "greek.txt").write_text("\u03b1\u03b2\n")
    with pytest.raises(UserError, match="cannot spell"):
        build_context_graph(read_hotwords(tmp_path / "greek.txt"), vocab)
    with pytest.raises(UserError, match="--hotwords needs a beam search"):
        DecodeConfig(method="greedy", hotwords=str(tmp_path / "ok.txt")).check()
    with pytest.raises(UserError, match="--hotwords needs a beam search"):
        DecodeConfig(method="tlg", graph="g", hotwords=str(tmp_path / "ok.txt")).check()


def test_fuzz_hotword_file():
    """Any bytes: a list of (normalised phrase, positive weight), or one UserError line."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    bits = [b"mark", b"\t", b"2.5", b"-1", b"nan", b"#", b"\xef\xbb\xbf", b"\xff", b"!", b" ", b"\r", b"\x00",
            b"|", b"marc", b"jude"]
    line = st.lists(st.one_of(st.sampled_from(bits), st.binary(max_size=8)), max_size=6).map(b"".join)

    @settings(max_examples=60, deadline=2000, database=None)
    @given(st.lists(line, max_size=6).map(b"\n".join))
    def check(data):
        import tempfile
        from pathlib import Path

        with tempfile.TemporaryDirectory() as d:
            path = Path(d) / "hot.txt"
            path.write_bytes(data)
            try:
                got = read_hotwords(path)
            except UserError as err:
                assert str(err) and "\n" not in str(err)
                return
            assert got and all(h.phrase and h.weight > 0 and math.isfinite(h.weight) for h in got)
            phrases = {h.phrase for h in got}
            aliases = [a for h in got for a in h.aliases]
            # an alias names one phrase and is never a phrase itself
            assert len(aliases) == len(set(aliases)) and not phrases & set(aliases)

    check()


def test_a_word_lm_spares_the_hotword_words(tmp_path):
    """With hotwords, the search's word LM counts their words (phrases and aliases) as vocabulary for the OOV
    penalty: a name the LM lacks, clearly spoken, costs the LM exactly the penalty less than without the list
    (it is still scored as <unk> when complete)."""
    from lm.ngram.build import build_ngram

    (tmp_path / "text.txt").write_text("the cat sat\nthe cat\n" * 5)
    build_ngram([tmp_path / "text.txt"], 2, "word", tmp_path / "words.arpa", memory="64M")
    chars = ["<pad>", "|", *"abcdehstz"]
    vocab = Vocabulary.from_chars(chars, blank_id=0)
    spoken = [chars.index(c) for c in "the|zebedee"]
    lp = torch.full((1, 2 * len(spoken), len(chars)), math.log(0.01 / (len(chars) - 1)))
    for t, u in enumerate(spoken):  # each letter, then a blank (between the doubled e's too)
        lp[0, 2 * t, u] = math.log(0.99)
        lp[0, 2 * t + 1, 0] = math.log(0.99)
    (tmp_path / "names.txt").write_text("Zebedee\n")
    common = dict(method="shallow_fusion", lm=str(tmp_path / "words.arpa"), lm_weight=0.5, oov_penalty=-10.0, beam=4)
    plain = EmissionsDecoder(vocab, **common)
    spared = EmissionsDecoder(vocab, **common, hotwords=str(tmp_path / "names.txt"), hotword_weight=0.1)
    lm = next(s.lm for s in spared.engine.scorers if s.name == "lm")
    assert lm.extra_words == ("zebedee",)
    assert next(s.lm for s in plain.engine.scorers if s.name == "lm").extra_words == ()
    a, b = plain.hypotheses(lp)[0][0], spared.hypotheses(lp)[0][0]
    assert vocab.decode(a.units) == vocab.decode(b.units) == "the zebedee"
    assert math.isclose(b.lm_scores["lm"] - a.lm_scores["lm"], 10.0, abs_tol=1e-3)
