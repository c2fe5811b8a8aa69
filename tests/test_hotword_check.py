"""--hotword-check: unknown output words that the CTC emissions also spell as a hotword, nearly as well as
their best path, become it (asrkit/inference/hotword_check.py); real words never."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import settings as hyp_settings
from hypothesis import strategies as st

from asrkit.errors import UserError
from asrkit.inference import DecodeConfig
from asrkit.inference.emissions_decoder import EmissionsDecoder
from asrkit.inference.hotword_check import CtcHotwordCheck
from asrkit.inference.hotwords import Hotword
from decoders.vocabulary import Vocabulary

PIECES = ["<blk>", "\u2581ba", "bas", "ra", "\u2581die", "\u2581x"]
VOCAB = Vocabulary(PIECES, blank_id=0)


def _frames(rows: list[dict[int, float]]) -> torch.Tensor:
    """Log-probabilities: each frame's listed units get their probability, the rest share what is left."""
    lp = np.zeros((len(rows), len(PIECES)), dtype=np.float64)
    for t, row in enumerate(rows):
        rest = (1 - sum(row.values())) / (len(PIECES) - len(row))
        lp[t] = [row.get(k, rest) for k in range(len(PIECES))]
    return torch.log(torch.tensor(lp, dtype=torch.float32))


# "ba bas die" is the best path; "ba ra bas" (Barabas) needs frame 1 to say "ra" (p 0.3 against 0.6 blank).
LP = _frames([{1: 0.9}, {0: 0.6, 3: 0.3}, {2: 0.9}, {0: 0.9}, {4: 0.9}])
HOT = [Hotword("barabas", 1.0, (), "Barabas")]


def _cost() -> float:
    """The check's cost of "barabas" over the frames of "babas" (0-3; frame 4 is "die"), by hand: the best
    path takes each frame's most likely unit; Barabas's best path says ba, ra, bas, blank."""
    p = torch.exp(LP).numpy()
    ceiling = sum(np.log(p[t].max()) for t in range(4))
    spelled = np.log(p[0, 1]) + np.log(p[1, 3]) + np.log(p[2, 2]) + np.log(p[3, 0])  # ba ra bas blank
    return float((ceiling - spelled) / 3)  # three units: ba, ra, bas


def test_cost_is_the_gap_to_the_best_path_per_unit():
    cost = _cost()
    assert cost == pytest.approx(np.log(0.6 / 0.3) / 3)
    assert CtcHotwordCheck(HOT, {"die"}, VOCAB, cost + 1e-4)("babas die", LP) == "Barabas die"
    assert CtcHotwordCheck(HOT, {"die"}, VOCAB, cost - 1e-4)("babas die", LP) == "babas die"


def test_real_words_and_hotwords_are_never_replaced():
    check = CtcHotwordCheck(HOT, {"die", "babas"}, VOCAB, 5.0)
    assert check("babas die", LP) == "babas die"  # a known word
    assert CtcHotwordCheck(HOT, {"die"}, VOCAB, 5.0)("Barabas die", LP) == "Barabas die"  # already the hotword
    assert not CtcHotwordCheck(HOT, {"die"}, VOCAB, 0.0)
    assert CtcHotwordCheck(HOT, {"die"}, VOCAB, 0.0)("babas die", LP) == "babas die"


def test_a_name_split_in_two_words_is_joined():
    """The search wrote the name as two unknown words, "ba rabas": the run is checked as one."""
    pieces = ["<blk>", "\u2581ba", "\u2581ra", "bas", "\u2581die", "ra"]
    vocab = Vocabulary(pieces, blank_id=0)
    lp = torch.log(torch.tensor([[0.05, 0.9, 0.02, 0.02, 0.005, 0.005], [0.4, 0.02, 0.3, 0.02, 0.01, 0.25],
                                 [0.05, 0.02, 0.02, 0.9, 0.005, 0.005], [0.9, 0.02, 0.02, 0.02, 0.035, 0.005],
                                 [0.05, 0.02, 0.02, 0.005, 0.9, 0.005]]))
    hot = [Hotword("barabas", 1.0, (), "Barabas")]
    # cost: ln(0.4 / 0.25) / 3 units (frame 1 says "ra" at 0.25 where its best is blank at 0.4)
    assert CtcHotwordCheck(hot, {"die"}, vocab, 0.16)("ba rabas die", lp) == "Barabas die"
    assert CtcHotwordCheck(hot, {"die"}, vocab, 0.15)("ba rabas die", lp) == "ba rabas die"


@hyp_settings(max_examples=150, deadline=None)
@given(st.lists(st.lists(st.sampled_from(["babas", "ba", "rabas", "die", "barabas", "brbs", "zz", "dabas"]),
                         max_size=6), max_size=5))
def test_a_batch_looked_up_together_gets_the_same_candidates_and_texts(texts):
    """prepare() looks up the unknown runs of a batch's texts at once: the remembered candidate lists are the
    ones a run looks up alone, and the checked texts do not change."""
    hot = [Hotword("barabas", 1.0, ("babas",), "Barabas"), Hotword("dabbas", 1.0, (), "Dabbas"),
           Hotword("rabbit", 1.0, (), "Rabbit")]
    texts = [" ".join(words) for words in texts]
    alone, batched = (CtcHotwordCheck(hot, {"die"}, VOCAB, 5.0) for _ in range(2))
    batched.prepare(texts)
    for letters, found in batched._nearest.items():  # noqa: SLF001
        assert found == CtcHotwordCheck(hot, {"die"}, VOCAB, 5.0)._candidates(letters)  # noqa: SLF001
    lp = LP.numpy()
    assert [batched(t, lp) for t in texts] == [alone(t, lp) for t in texts]
    assert all(r in batched._nearest for t in texts  # noqa: SLF001
               for r in alone._run_letters(*alone._unknown(t.split())) if len(r) >= 3)  # noqa: SLF001


def test_the_decoder_applies_it_after_the_search(tmp_path):
    """End to end on hand-built emissions: the search writes "babas die" (the context graph's bonus cannot lift
    "ra" at weight 0.1); with --hotword-check the emissions' second reading gives Barabas."""
    hot, known = tmp_path / "h.txt", tmp_path / "k.txt"
    hot.write_text("Barabas\n")
    known.write_text("die\n")
    base = dict(method="beam", beam=4, hotwords=str(hot), hotword_weight=0.1, known_words=str(known))
    assert EmissionsDecoder(VOCAB, **base).decode([LP]) == ["babas die"]
    assert EmissionsDecoder(VOCAB, **base, hotword_check=1.0).decode([LP]) == ["Barabas die"]
    known.write_text("die babas\n")
    assert EmissionsDecoder(VOCAB, **base, hotword_check=1.0).decode([LP]) == ["babas die"]


@pytest.mark.parametrize("settings, message", [
    (dict(hotword_check=3.0), "needs --hotwords and --known-words"),
    (dict(hotword_check=-1.0, known_words="k.txt"), "nats per unit"),
    (dict(hotword_check=float("inf"), known_words="k.txt"), "nats per unit"),
])
def test_check_flags_are_checked(settings, message):
    with pytest.raises(UserError, match=message):
        DecodeConfig(method="beam", **settings).check()


def test_character_vocabulary_keeps_the_word_delimiter():
    """wav2vec2-style letters with "|" between words: the run's units start with the delimiter, and so do the
    candidate's, so the cost compares like with like."""
    chars = ["<pad>", "|", "a", "b", "r", "s", "d", "i", "e"]
    vocab = Vocabulary.from_chars(chars, blank_id=0)
    idx = {c: i for i, c in enumerate(chars)}
    rows = [{idx[c]: 0.9} for c in "die|ba"] + [{0: 0.5, idx["r"]: 0.3}, {0: 0.5, idx["a"]: 0.3}]
    rows += [{idx[c]: 0.9} for c in "bas"]
    lp = np.zeros((len(rows), len(chars)))
    for t, row in enumerate(rows):
        rest = (1 - sum(row.values())) / (len(chars) - len(row))
        lp[t] = [row.get(k, rest) for k in range(len(chars))]
    lp = torch.log(torch.tensor(lp, dtype=torch.float32))
    cost = 2 * np.log(0.5 / 0.3) / 8  # "|" and seven letters; frames 6 and 7 say r, a instead of blank
    assert CtcHotwordCheck(HOT, {"die"}, vocab, cost + 1e-3)("die babas", lp) == "die Barabas"
    assert CtcHotwordCheck(HOT, {"die"}, vocab, cost - 1e-3)("die babas", lp) == "die babas"


def _cli_decoder(tmp_path, capsys, chars: list[str], rows: list[dict[int, float]], hotwords: str, known: str,
                 weight: str):
    """``decode(*flags) -> text``: `asrkit decode --emissions --tokens --hotwords --known-words` on one utterance
    of hand-built letter emissions (each frame's listed units get their probability, the rest share the rest)."""
    import json

    from asrkit.cli.main import main

    tokens = tmp_path / "tokens.txt"
    tokens.write_text("".join(f"{c} {i}\n" for i, c in enumerate(chars)))
    lp = np.zeros((len(rows), len(chars)), dtype=np.float32)
    for t, row in enumerate(rows):
        rest = (1 - sum(row.values())) / (len(chars) - len(row))
        lp[t] = np.log([row.get(k, rest) for k in range(len(chars))])
    npz = tmp_path / "em.npz"
    np.savez(npz, utt=lp)
    hot, words = tmp_path / "h.txt", tmp_path / "k.txt"
    hot.write_text(hotwords)
    words.write_text(known)

    def decode(*extra: str) -> str:
        out = tmp_path / f"out{'_'.join(extra)}.jsonl"
        assert main(["decode", "-q", "--emissions", str(npz), "--tokens", str(tokens), "--method", "beam",
                     "--hotwords", str(hot), "--hotword-weight", weight, "--known-words", str(words), *extra,
                     "-o", str(out)]) == 0, capsys.readouterr().err
        return json.loads(out.read_text())["text"]

    return decode


def test_cli_decodes_saved_emissions_with_the_check(tmp_path, capsys):
    """`asrkit decode --emissions --tokens --hotwords --hotword-check --known-words`: the flag reaches the
    engine; a speech LLM would refuse it (it has no CTC emissions to read)."""
    chars = ["<blk>", "|", "a", "b", "r", "s", "d", "i", "e"]
    idx = {c: i for i, c in enumerate(chars)}
    rows = [{idx[c]: 0.9} for c in "die|ba"] + [{0: 0.5, idx["r"]: 0.3}, {0: 0.5, idx["a"]: 0.3}]
    rows += [{idx[c]: 0.9} for c in "bas"]
    decode = _cli_decoder(tmp_path, capsys, chars, rows, "Barabas\n", "die\n", "0.1")
    assert decode() == "die babas"
    assert decode("--hotword-check", "1.0") == "die Barabas"


def test_a_speech_llm_refuses_the_check(tmp_path):
    from asrkit.inference.engine import hotword_check

    class _ARHead:
        kind = "ar"

    known = tmp_path / "k.txt"
    known.write_text("die\n")
    cfg = DecodeConfig(method="beam", hotword_check=1.0, known_words=str(known))
    assert hotword_check(DecodeConfig(method="beam"), _ARHead(), HOT) is None  # off: nothing to refuse
    with pytest.raises(UserError, match="CTC models, not on a speech LLM"):
        hotword_check(cfg, _ARHead(), HOT)


@hyp_settings(max_examples=150, deadline=None)
@given(st.lists(st.sampled_from(["ba", "bas", "ra", "die", "x", "babas", "rabas", "dier"]), min_size=1, max_size=7),
       st.sets(st.sampled_from(["ba", "bas", "ra", "die", "x", "babas", "rabas", "dier"])),
       st.integers(0, 2 ** 31 - 1), st.sampled_from([0.5, 2.0, 50.0]))
def test_known_words_survive_any_emissions(words, known, seed, cost):
    """Whatever the emissions say, the check only ever replaces unknown words: the known words of the input
    come out in the same order, and every other output word is an input word or a hotword."""
    rng = np.random.default_rng(seed)
    lp = torch.log_softmax(torch.tensor(rng.normal(size=(int(rng.integers(1, 40)), len(PIECES))) * 2), -1)
    check = CtcHotwordCheck(HOT + [Hotword("dibas", 1.0, ("dbas",), "Dibas")], set(known), VOCAB, cost)
    out = check(" ".join(words), lp.float()).split()
    assert [w for w in out if w in known] == [w for w in words if w in known]
    assert all(w in words or w in ("Barabas", "Dibas") for w in out)


def test_python_fallback_gives_the_same_answer(monkeypatch):
    """ASRKIT_NATIVE=0 (or no compiled core): the numpy Viterbi twins give the same replacements."""
    native = CtcHotwordCheck(HOT, {"die"}, VOCAB, _cost() + 1e-4)("babas die", LP)
    monkeypatch.setenv("ASRKIT_NATIVE", "0")
    assert CtcHotwordCheck(HOT, {"die"}, VOCAB, _cost() + 1e-4)("babas die", LP) == native == "Barabas die"
    assert CtcHotwordCheck(HOT, {"die"}, VOCAB, _cost() - 1e-4)("babas die", LP) == "babas die"


# --hotword-reject: "babas" (a hotword) written where the best path reads "die" (frames 0-1), then "x".
REJ_LP = _frames([{4: 0.6, 1: 0.3}, {0: 0.6, 2: 0.3}, {5: 0.9}])
REJ_HOT = [Hotword("babas", 1.0, (), "Babas"), Hotword("boltzmann", 1.0, ("babas",), "Boltzmann")]


def test_reject_cost_is_the_gap_to_the_best_path_per_unit():
    cost = np.log(0.6 / 0.3)  # two frames at 0.3 where the best path has 0.6, over two units (ba, bas)
    hot = REJ_HOT[:1]
    assert CtcHotwordCheck(hot, {"die", "x"}, VOCAB, 0.0, cost - 1e-4)("babas x", REJ_LP) == "die x"
    assert CtcHotwordCheck(hot, {"die", "x"}, VOCAB, 0.0, cost + 1e-4)("babas x", REJ_LP) == "babas x"
    # the best path's reading must be real words: else the hotword stays
    assert CtcHotwordCheck(hot, {"x"}, VOCAB, 0.0, cost - 1e-4)("babas x", REJ_LP) == "babas x"
    # an alias is a hotword's spelling too (the alias rewrite writes the phrase afterwards)
    alias = REJ_HOT[1:]
    assert CtcHotwordCheck(alias, {"die", "x"}, VOCAB, 0.0, cost - 1e-4)("babas x", REJ_LP) == "die x"
    assert not CtcHotwordCheck(hot, {"die"}, VOCAB, 0.0, 0.0)


def test_the_decoder_rejects_what_only_the_bonus_wrote(tmp_path):
    hot, known = tmp_path / "h.txt", tmp_path / "k.txt"
    hot.write_text("Babas\n")
    known.write_text("die x\n")
    base = dict(method="beam", beam=4, hotwords=str(hot), hotword_weight=2.0, known_words=str(known))
    assert EmissionsDecoder(VOCAB, method="beam", beam=4).decode([REJ_LP]) == ["die x"]
    assert EmissionsDecoder(VOCAB, **base).decode([REJ_LP]) == ["babas x"]
    assert EmissionsDecoder(VOCAB, **base, hotword_reject=0.5).decode([REJ_LP]) == ["die x"]
    assert EmissionsDecoder(VOCAB, **base, hotword_reject=1.0).decode([REJ_LP]) == ["babas x"]


@pytest.mark.parametrize("settings, message", [
    (dict(hotword_reject=1.0), "needs --hotwords and --known-words"),
    (dict(hotword_reject=-1.0, known_words="k.txt"), "--hotword-reject is a cost in nats per unit"),
])
def test_reject_flags_are_checked(settings, message):
    with pytest.raises(UserError, match=message):
        DecodeConfig(method="beam", **settings).check()


def test_cli_rejects_on_a_character_vocabulary(tmp_path, capsys):
    """`asrkit decode --emissions --tokens --hotword-reject` with wav2vec2-style letters: the written hotword's
    units start with the word delimiter, and the best path over them reads "die" (0.6 against 0.3 per letter:
    3 ln 2 over the four units |, b, a, s = 0.52 nats per unit)."""
    chars = ["<blk>", "|", "a", "b", "s", "d", "i", "e", "x"]
    idx = {c: i for i, c in enumerate(chars)}
    rows = [{idx["x"]: 0.9}, {idx["|"]: 0.9}]
    rows += [{idx["d"]: 0.6, idx["b"]: 0.3}, {idx["i"]: 0.6, idx["a"]: 0.3}, {idx["e"]: 0.6, idx["s"]: 0.3}]
    decode = _cli_decoder(tmp_path, capsys, chars, rows, "bas\n", "die x\n", "2")
    assert decode() == "x bas"
    assert decode("--hotword-reject", "0.4") == "x die"
    assert decode("--hotword-reject", "0.6") == "x bas"


# Words the units can spell (a word cannot start with "bas" or "ra"): else the step has nothing to align.
_SPELLABLE = ["ba", "babas", "die", "x", "diera", "barabas", "xra"]


@hyp_settings(max_examples=150, deadline=None)
@given(st.lists(st.sampled_from(_SPELLABLE), min_size=1, max_size=7), st.sets(st.sampled_from(_SPELLABLE)),
       st.integers(0, 2 ** 31 - 1), st.sampled_from([0.01, 0.5, 2.0]))
def test_reject_touches_only_written_hotwords(words, known, seed, cost):
    """Whatever the emissions say, the reject step replaces only runs that spell a hotword ("babas", or the
    alias "diera"), and only by words of ``known``: every other input word comes out in the same order.
    (On random emissions it fires in about a sixth of such texts.)"""
    rng = np.random.default_rng(seed)
    lp = torch.log_softmax(torch.tensor(rng.normal(size=(int(rng.integers(1, 40)), len(PIECES))) * 2), -1)
    hot = [Hotword("babas", 1.0, (), "Babas"), Hotword("boltzmann", 1.0, ("diera",), "Boltzmann")]
    out = CtcHotwordCheck(hot, set(known), VOCAB, 0.0, cost)(" ".join(words), lp.float()).split()
    assert all(w in words or w in known for w in out)  # a rejected hotword becomes known words only
    kept = [w for w in words if w not in ("babas", "diera")]
    it = iter(out)
    assert all(any(w == o for o in it) for w in kept)  # the other words, in order, inside the output


def _spelled_runs_reference(keys: set[str], norm: list[str]) -> dict[int, int]:
    """The written hotwords by brute force: at each word the longest spelling that matches there, no overlap."""
    runs, i = {}, 0
    while i < len(norm):
        n = max((len(k.split()) for k in keys if norm[i: i + len(k.split())] == k.split()), default=0)
        if n:
            runs[i] = n
        i += max(n, 1)
    return runs


_SPELLING_WORDS = ["a", "ba", "bas", "die", "x"]


@hyp_settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(st.sampled_from(_SPELLING_WORDS), min_size=1, max_size=3).map(" ".join), min_size=1,
                max_size=5, unique=True),
       st.lists(st.sampled_from(_SPELLING_WORDS), max_size=9))
def test_written_hotword_scan_equals_the_plain_scan(spellings, words):
    """The reject step's scan for written hotwords (a set test of one-word spellings and word pairs first)
    finds the runs a plain word-by-word scan finds."""
    hot = [Hotword(spellings[0], 1.0, tuple(spellings[1:]), "H")]
    check = CtcHotwordCheck(hot, set(), VOCAB, 0.0, reject_cost=1.0)
    assert check._spelled_runs(words) == _spelled_runs_reference(set(spellings), words)  # noqa: SLF001


def _vocabularies() -> list:
    """The three vocabulary kinds a check reads words with: sentencepiece pieces (the bundled character
    model's, a lone ▁ before each word), a wav2vec2 letter list with "|", and a token list of word pieces."""
    from pathlib import Path

    sp = Path(__file__).resolve().parents[1] / "asrkit/pretrained/bible-en-ctc-char/tokenizer.model"
    letters = ["<pad>", "|", *"abcdefghijklmnopqrstuvwxyz'"]
    return [Vocabulary.from_sentencepiece(sp), Vocabulary.from_chars(letters, blank_id=0), VOCAB]


@hyp_settings(max_examples=200, deadline=None)
@given(st.lists(st.text("abrsdiex'", min_size=1, max_size=6), min_size=1, max_size=8), st.integers(0, 2))
def test_word_bounds_equal_the_encoded_prefixes(words, kind):
    """The check's one-pass word bounds are where the encoded prefixes of the text end (the definition, which
    costs time quadratic in the words), for each vocabulary kind."""
    vocab = _vocabularies()[kind]
    check = CtcHotwordCheck(HOT, set(), vocab, 1.0)
    units, bounds = check._word_units(words)  # noqa: SLF001
    assert units == list(vocab.encode(" ".join(words)))
    assert bounds == [0] + [len(vocab.encode(" ".join(words[: k + 1]))) for k in range(len(words))]
