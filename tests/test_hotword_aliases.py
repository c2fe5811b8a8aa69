"""Hotword aliases: the file column, the output rewrite, the choice of the model's readings, the CLI that
makes them (espeak-ng + the bundled model) and a name recovered through its alias on hand-built emissions."""

from __future__ import annotations

import re
from collections import Counter

import pytest
import torch
from hypothesis import given
from hypothesis import settings as hyp_settings
from hypothesis import strategies as st

from asrkit.cli.main import main
from asrkit.errors import UserError
from asrkit.inference.emissions_decoder import EmissionsDecoder
from asrkit.inference.hotword_aliases import (
    choose_aliases,
    format_hotwords,
    model_readings,
    read_known_words,
    reading_in,
)
from asrkit.inference.hotwords import AliasRewriter, Hotword, build_context_graph, read_hotwords
from decoders.vocabulary import Vocabulary
from tests.conftest import piece_emissions

torch.set_num_threads(1)


def test_alias_column_is_read_normalised_and_merged(tmp_path):
    f = tmp_path / "h.txt"
    f.write_text("Zebedee\t\tZebity| zeb ity |zebedee|\nTorvalds\t2\nzebedee\t3\tzebidy\n")
    got = read_hotwords(f)
    assert got[0] == Hotword("zebedee", 3.0, ("zebity", "zeb ity", "zebidy"), "Zebedee")
    assert got[1] == Hotword("torvalds", 2.0, (), "Torvalds")


@pytest.mark.parametrize("text, message", [
    ("Mark\t\tmarc\nMarcus\t\tmarc\n", "also an alias of 'mark'"),
    ("Mark\t\tmarcus\nMarcus\n", "both a phrase and an alias"),
    ("Mark\tx\tmarc\n", "not a number"),
])
def test_alias_conflicts_are_one_line(tmp_path, text, message):
    f = tmp_path / "h.txt"
    f.write_text(text)
    with pytest.raises(UserError, match=message) as err:
        read_hotwords(f)
    assert "\n" not in str(err.value) and "h.txt" in str(err.value)


def test_rewriter_whole_words_longest_first_one_pass():
    hw = [Hotword("zebedee", 1.0, ("zeb ity", "zeb"), "Zebedee"), Hotword("torvalds", 1.0, ("tveleds",), "Torvalds"),
          Hotword("mark", 1.0, ("zebedee ok",), "Mark")]
    rw = AliasRewriter(hw)
    assert rw("and zeb  ity said to tveleds") == "and Zebedee said to Torvalds"  # any spacing, longest first
    assert rw("Zeb went; TVELEDS.") == "Zebedee went; Torvalds."  # any case, punctuation is a boundary
    assert rw("zebra zebs tveleds's") == "zebra zebs tveleds's"  # whole words only
    assert rw("zeb ok") == "Zebedee ok"  # the output "Zebedee" is not read again as the alias "zebedee ok"
    assert not AliasRewriter([Hotword("mark")]) and AliasRewriter([Hotword("mark")])("marc") == "marc"


def test_choose_aliases_filters():
    hw = [Hotword("york", 2.0, (), "York"), Hotword("zebedee", 1.0, ("zebity",), "Zebedee"),
          Hotword("torvalds"), Hotword("tom")]
    readings = {"york": Counter({"your": 5, "yk": 3, "yorick": 1}),  # a known word, too short, kept
                "zebedee": Counter({"zebity": 4, "zebite": 2, "zebitity": 2, "zbi": 1, "toms": 1}),
                "torvalds": Counter({"tveleds": 3, "toms": 2}),  # "toms": read for two phrases -> dropped
                "tom": Counter({"tom": 6, "to": 1})}  # the phrase itself and a 2-letter reading
    out = choose_aliases(hw, readings, known_words={"your", "to"}, max_aliases=2)
    assert [h.aliases for h in out] == [("yorick",), ("zebity", "zebite", "zebitity"), ("tveleds",), ()]
    assert out[0].weight == 2.0 and out[0].display == "York"
    assert choose_aliases(hw, readings, min_count=3)[0].aliases == ("your",)  # no --known-words


def test_choose_aliases_near_real_words():
    hw = [Hotword("tyre"), Hotword("onan")]
    readings = {"tyre": Counter({"tre": 3, "tiah": 2}), "onan": Counter({"ownan": 3, "oan": 1})}
    known = {"own", "tree", "ten"}
    assert [h.aliases for h in choose_aliases(hw, readings, known, min_known_distance=0)] == [
        ("tre", "tiah"), ("ownan", "oan")]
    # "tre" is 0.25 from "tree" (1 edit / 4 letters): dropped below 0.3, kept below 0.25 (strictly nearer only);
    # "ownan" is 0.4 from "own", "oan" 0.67 from "own"/"ten": kept
    got = choose_aliases(hw, readings, known, min_known_distance=0.3)
    assert [h.aliases for h in got] == [("tiah",), ("ownan", "oan")]
    assert choose_aliases(hw, readings, known, min_known_distance=0.25)[0].aliases == ("tre", "tiah")
    assert choose_aliases(hw, readings, None, min_known_distance=0.3)[0].aliases == ("tre", "tiah")


def test_reading_inside_a_carrier_sentence():
    assert reading_in("and then {} said", "And then zebede said.") == "zebede"
    assert reading_in("and then {} said", "and then zeb ity said") == "zeb ity"
    assert reading_in("{}", "Zeb ity") == "zeb ity"
    # the phrase merged into a carrier word, a carrier word misheard, nothing between: no reading
    assert reading_in("and then {} said", "and thenzebede said") is None
    assert reading_in("and then {} said", "and den zebede said") is None
    assert reading_in("we saw {} there", "we saw there") is None


def test_model_readings_counts_over_carriers_voices_and_speeds():
    said = []

    def speak(text, voice, speed):  # the "waveform" is the text and the voice
        said.append((text, voice, speed))
        return f"{text}|{voice}"

    def decode(waves):  # voice b is misheard: "saw" -> "so"
        return [w.split("|")[0].replace("saw", "so" if w.endswith("|b") else "saw") for w in waves]

    got = model_readings(decode, ["Zebedee"], speak, voices=["a", "b"], speeds=[150],
                         carriers=["{}", "we saw {} there"])
    assert len(said) == 4 and ("we saw Zebedee there", "b", 150) in said
    assert got == {"Zebedee": Counter({"zebedee": 3})}  # the misheard carrier gives no reading
    with pytest.raises(UserError, match="exactly one"):
        model_readings(decode, ["x"], speak, carriers=["no slot"])


def test_model_readings_synthesized_ahead_come_in_order_and_errors_reach_the_caller():
    """Readings are synthesized in worker threads one phrase ahead of the decoding: each decode call gets its
    phrase's waves in carrier x voice x speed order, whatever order the threads finish in; a synthesis error
    is raised to the caller (one line), not lost in a thread."""
    import random
    import time

    rng = random.Random(0)

    def speak(text, voice, speed):
        time.sleep(rng.random() * 0.002)  # threads finish out of order
        if text == "boom":
            raise UserError("--voices a: espeak-ng failed (test)")
        return (text, voice, speed)

    calls = []

    def decode(waves):
        calls.append(list(waves))
        return [w[0] for w in waves]

    names = [f"name{i}" for i in range(6)]
    got = model_readings(decode, names, speak, voices=["a", "b"], speeds=[150, 175], carriers=["{}", "we saw {} there"])
    assert calls == [[(c.replace("{}", n), v, s) for c in ("{}", "we saw {} there") for v in "ab" for s in (150, 175)]
                     for n in names]
    assert got == {n: Counter({n: 8}) for n in names}
    with pytest.raises(UserError, match="espeak-ng failed"):
        model_readings(decode, ["fine", "boom", "after"], speak, voices=["a"], speeds=[150], carriers=["{}"])


def test_format_reads_back(tmp_path):
    hw = [Hotword("zebedee", 1.0, ("zebity", "zeb ity"), "Zebedee"), Hotword("torvalds", 2.5, (), "Torvalds"),
          Hotword("mark", 1.0, (), "Mark")]
    f = tmp_path / "h.txt"
    f.write_text(format_hotwords(hw))
    assert read_hotwords(f) == hw


def test_known_words_from_text_and_arpa(tmp_path):
    (tmp_path / "t.txt").write_text("And Jesus said,\nunto them\n")
    assert read_known_words(tmp_path / "t.txt") == {"and", "jesus", "said", "unto", "them"}
    (tmp_path / "lm.arpa").write_text("\\data\\\nngram 1=3\nngram 2=1\n\n\\1-grams:\n-1.0\t<s>\t-0.5\n"
                                      "-1.2\tunto\t-0.3\n-1.3\tthem\n\n\\2-grams:\n-0.4\tunto them\n\n\\end\\\n")
    assert read_known_words(tmp_path / "lm.arpa") == {"unto", "them"}
    with pytest.raises(UserError, match="--known-words .*no such file"):
        read_known_words(tmp_path / "missing.txt")


# ---- a name recovered through its alias --------------------------------------------------------------------
PIECES = ["<blk>", "\u2581ze", "b", "i", "ty", "dy", "dee", "\u2581die"]


def frames_to_lp(frames: list[dict[str, float]]) -> torch.Tensor:
    return piece_emissions(PIECES, frames)


def test_alias_path_is_boosted_and_written_as_the_phrase(tmp_path):
    """The model hears "zebidy" (slightly) over "zebity" and never "zebedee": the phrase alone cannot flip it,
    its alias "zebity" can, and the output says "Zebedee"."""
    vocab = Vocabulary(PIECES, blank_id=0)
    lp = frames_to_lp([{"\u2581ze": 0.95}, {"b": 0.95}, {"i": 0.95}, {"dy": 0.5, "ty": 0.4}, {},
                       {"\u2581die": 0.95}, {}])
    plain = dict(method="beam", beam=4)
    assert EmissionsDecoder(vocab, **plain).decode([lp]) == ["zebidy die"]
    alone, alias = tmp_path / "alone.txt", tmp_path / "alias.txt"
    alone.write_text("Zebedee\n")
    alias.write_text("Zebedee\t\tzebity\n")
    assert EmissionsDecoder(vocab, **plain, hotwords=str(alone), hotword_weight=1.0).decode([lp]) == ["zebidy die"]
    dec = EmissionsDecoder(vocab, **plain, hotwords=str(alias), hotword_weight=1.0)
    assert dec.decode([lp]) == ["Zebedee die"]
    best = dec.hypotheses([lp])[0][0]
    assert best.lm_scores["hotwords"] > 0 and vocab.decode(best.units) == "zebity die"  # the alias's units
    # The graph holds the phrase's and the alias's spellings, both with the phrase's weight.
    g = build_context_graph(read_hotwords(alias), vocab)
    assert len(g.phrases) == 2 and g.weights == [1.0, 1.0]


def test_aliases_cli_reads_names_aloud_with_the_bundled_model(tmp_path, capsys):
    names = tmp_path / "names.txt"
    names.write_text("Torvalds\nZebedee\t2\n")
    out = tmp_path / "aliased.txt"
    rc = main(["hotwords", "aliases", "-q", "-i", str(names), "-o", str(out), "-m", "bible-en-ctc-small",
               "--voices", "en-us", "--speeds", "160"])
    assert rc == 0
    got = read_hotwords(out)
    assert [(h.phrase, h.weight) for h in got] == [("torvalds", 1.0), ("zebedee", 2.0)]
    assert any(h.aliases for h in got)  # the model spells neither name right from espeak-ng's reading
    before = out.read_bytes()
    assert main(["hotwords", "aliases", "-q", "-i", str(names), "-o", str(out), "-m", "bible-en-ctc-small"]) == 2
    assert out.read_bytes() == before and "exists" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        main(["hotwords", "aliases", "-i", str(names), "-o", str(tmp_path / "x"), "--min-known-distance", "2"])
    assert exc.value.code == 2 and "expected a number from 0 to 1" in capsys.readouterr().err


def _regex_rewrite(hotwords, text):
    """The first AliasRewriter: one alternation of every alias, longest first (the reference for the scan)."""
    target = {a: h.display or h.phrase for h in hotwords for a in h.aliases}
    if not target:
        return text
    alts = ["\\s+".join(re.escape(w) for w in a.split()) for a in sorted(target, key=lambda a: (-len(a), a))]
    pattern = re.compile(r"(?<![\w'])(?:" + "|".join(alts) + r")(?![\w'])", re.IGNORECASE)
    return pattern.sub(lambda m: target.get(" ".join(m.group(0).lower().split()), m.group(0)), text)


_WORDS = st.lists(st.sampled_from(["ab", "abc", "b", "zz", "a'b"]), min_size=1, max_size=3).map(" ".join)


@hyp_settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(_WORDS, st.lists(_WORDS, max_size=3)), max_size=4),
       st.lists(st.tuples(st.sampled_from(["ab", "ABC", "abc", "b", "zz", "a'b", "x", "abz"]),
                          st.sampled_from([" ", " ", " ", "  ", ", ", ".", "-", "\n", "'", ""])),
                max_size=8).map(lambda parts: "".join(w + sep for w, sep in parts)))
def test_rewriter_scan_equals_the_alternation(spec, text):
    phrases, hotwords, seen = set(), [], set()
    for phrase, aliases in spec:
        aliases = tuple(a for a in dict.fromkeys(aliases) if a not in seen and a != phrase)
        if phrase in phrases or phrase in seen:
            continue
        phrases.add(phrase)
        seen.update(aliases)
        hotwords.append(Hotword(phrase, 1.0, aliases, phrase.upper()))
    assert AliasRewriter(hotwords)(text) == _regex_rewrite(hotwords, text)
