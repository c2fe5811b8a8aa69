"""Fast checks of the bible recipe's data preparation (egs/bible/local): markup stripping, split rule,
DP aligner, noise/reverb and digit expansion. No espeak-ng, SWORD module or data directory needed."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "egs" / "bible" / "local"))

from align import Lexicon, Scorer, Verse, dp_align, range_id  # noqa: E402
from common import expand_digits, split_of, spoken_es  # noqa: E402
from prepare_data import hash_split, sample_rows, select_by_split  # noqa: E402
from synth import SynthParams, degrade, draw_params  # noqa: E402
from text_prep import clean_fortune, clean_zh_entry, parse_imp, strip_osis  # noqa: E402

IMP = """$$$[ Module Heading ]
$$$Genesis 0:0
<div sID="gen2" type="front"/> <title level="1" type="main">Preface</title> Some preface text.
$$$Genesis 1:1
<w lemma="strong:H0430">In</w> <w lemma="strong:H7225">beginning</w>, <w lemma="strong:H0430">God</w><note \
placement="foot"><reference type="annotateRef">1:1 </reference>The Hebrew word rendered “God” is “Elohim”.</note>\
<w lemma="strong:H1254">created</w> <w lemma="strong:H8064">heavens</w>.
$$$Psalms 3:1
<div type="x-milestone" subType="x-preverse" sID="pv4877"/><title canonical="true" type="psalm">A Psalm by \
David.</title> <lg sID="gen7860"/> <l level="1" sID="gen7861"/><div type="x-milestone" subType="x-preverse" \
eID="pv4877"/>Yahweh, how <w lemma="strong:H1732">my</w> adversaries increased!<l eID="gen7861" level="1"/> \
<l level="2" sID="gen7862"/>Many rise <w lemma="strong:H6440">against</w> me. <l eID="gen7862" level="2"/>
$$$Matthew 5:3
<q marker="" who="Jesus">“Blessed are the poor in spirit, for theirs is the Kingdom of Heaven.</q>
$$$Revelation of John 22:21
<w lemma="strong:G5485">The</w> grace be with all the saints. Amen.  <chapter eID="Rev.22"/> \
<div sID="gen35837" type="glossary"/> <title level="1" type="main">World English Bible Glossary</title> Abba.
"""


def test_parse_imp_and_strip_markup() -> None:
    entries = {(b, c, v): strip_osis(raw) for b, c, v, raw in parse_imp(IMP.splitlines())}
    assert entries[("Genesis", 1, 1)] == "In beginning, God created heavens."  # footnote -> a space
    assert entries[("Psalms", 3, 1)] == (
        "A Psalm by David. Yahweh, how my adversaries increased! Many rise against me.")
    assert entries[("Matthew", 5, 3)].startswith("“Blessed are the poor")
    assert entries[("Revelation of John", 22, 21)] == "The grace be with all the saints. Amen."  # no glossary
    assert entries[("Genesis", 0, 0)] == "Some preface text."  # parsed; extract_bible skips verse 0


def test_rv1909_transchange_joins() -> None:
    raw = ('<w lemma="strong:H3318">sáca</w><transChange type="added">lo</transChange> '
           '<w lemma="strong:H1">también</w><transChange type="added">bdelio</transChange><w lemma="x">y</w>'
           ' <w lemma="strong:H2">no</w><transChange type="added">lo</transChange> vió.')
    assert strip_osis(raw) == "sácalo también bdelio y no lo vió."


def test_fortune_and_zh_cleaning() -> None:
    assert clean_fortune("A critic is a bundle of biases held loosely together.\n\t\t-- Someone\n") == (
        "A critic is a bundle of biases held loosely together.")
    assert clean_fortune("See http://example.com for more fun things to do") is None
    assert clean_fortune("int main() { return 0; } /* code */") is None
    assert clean_fortune("Too short.") is None
    entry = "\x1b《静夜思》\x1b\n床前明月光，疑是地上霜。\n举头望明月，低头思故乡。\nHello 你好\n"
    assert clean_zh_entry(entry) == ["床前明月光，疑是地上霜。", "举头望明月，低头思故乡。"]


def test_split_rule() -> None:
    assert split_of("Mark.1.1") == "test" and split_of("Jude.1.3") == "test"
    assert split_of("Titus.2.1") == "dev"
    for vid in ("Ruth.1.1", "Phlm.1.1", "3John.1.1"):
        assert split_of(vid) == "reserved"
    assert split_of("Gen.1.1") == "train" and split_of("John.3.16") == "train"  # John is not 1/2/3John
    assert split_of("Job.39.27-40.5") == "train"
    assert split_of("Tob.1.1") == "train" and split_of("Sir.51.30") == "train"  # the deuterocanon: training text
    with pytest.raises(ValueError):
        split_of("Enoch.1.1")  # no book of the recipe
    rows = [(v, "x") for v in ("Gen.1.1", "Ruth.1.1", "Mark.1.1", "Titus.1.1", "Phlm.1.2", "3John.1.1",
                               "Jude.1.1", "Rev.1.1")]
    assert [r[0] for r in select_by_split(rows, "train")] == ["Gen.1.1", "Rev.1.1"]
    assert [r[0] for r in select_by_split(rows, "test")] == ["Mark.1.1", "Jude.1.1"]
    assert [r[0] for r in select_by_split(rows, "dev")] == ["Titus.1.1"]
    with pytest.raises(AssertionError):
        select_by_split(rows, "reserved")
    # deterministic sampling and hash split
    many = [(f"Gen.1.{i}", "x") for i in range(1, 200)]
    assert sample_rows(many, 20, 3) == sample_rows(many, 20, 3)
    ids = [f"{i:06d}" for i in range(100)]
    tr, te = hash_split(ids, 10)
    assert len(te) == 10 and len(tr) == 90 and not set(tr) & set(te)
    gone = next(i for i in ids if i not in te)  # removing a train id leaves the test ids unchanged
    assert hash_split([i for i in ids if i != gone], 10)[1] == te


def _toy_scorer() -> Scorer:
    pairs = {"rey": "king", "casa": "house", "perro": "dog", "pan": "bread", "agua": "water", "fria": "cold",
             "sol": "sun", "sale": "rises", "luna": "moon", "brilla": "shines", "come": "eats", "va": "goes"}
    es2en = {s: frozenset({e}) for s, e in pairs.items()}
    en2es = {e: frozenset({s}) for s, e in pairs.items()}
    return Scorer(Lexicon(es2en, en2es), len_ratio=1.0)


def test_dp_aligner_fixes_a_verse_shift() -> None:
    en = [("Gen.1.1", "king goes house"), ("Gen.1.2", "dog eats bread"), ("Gen.1.3", "water cold"),
          ("Gen.1.4", "sun rises"), ("Gen.1.5", "moon shines")]
    # Spanish verse 1.2 holds English 1.2 + 1.3, so everything after it is numbered one lower.
    es = [("Gen.1.1", "rey va casa"), ("Gen.1.2", "perro come pan agua fria"), ("Gen.1.3", "sol sale"),
          ("Gen.1.4", "luna brilla")]
    groups = dp_align([Verse.make(*v) for v in es], [Verse.make(*v) for v in en], _toy_scorer())
    got = [([es[i][0] for i in gi], [en[j][0] for j in gj]) for gi, gj in groups]
    assert got == [(["Gen.1.1"], ["Gen.1.1"]), (["Gen.1.2"], ["Gen.1.2", "Gen.1.3"]),
                   (["Gen.1.3"], ["Gen.1.4"]), (["Gen.1.4"], ["Gen.1.5"])]
    assert range_id("Gen.1.2", "Gen.1.3") == "Gen.1.2-3"
    assert range_id("Job.39.27", "Job.40.5") == "Job.39.27-40.5"


def test_dp_aligner_skips_unmatched_verse() -> None:
    en = [("Luke.1.1", "king goes house"), ("Luke.1.2", "sun rises"), ("Luke.1.3", "moon shines")]
    es = [("Luke.1.1", "rey va casa"), ("Luke.1.2", "perro come pan"), ("Luke.1.3", "sol sale"),
          ("Luke.1.4", "luna brilla")]
    groups = dp_align([Verse.make(*v) for v in es], [Verse.make(*v) for v in en], _toy_scorer())
    pairs = [([es[i][0] for i in gi], [en[j][0] for j in gj]) for gi, gj in groups if gi and gj]
    assert pairs == [(["Luke.1.1"], ["Luke.1.1"]), (["Luke.1.3"], ["Luke.1.2"]), (["Luke.1.4"], ["Luke.1.3"])]


@pytest.mark.parametrize("reverb", [0.0, 0.4])
@pytest.mark.parametrize("noise", ["white", "pink", "brown"])
def test_degrade_deterministic_and_snr(reverb: float, noise: str) -> None:
    sr = 16000
    t = np.arange(2 * sr) / sr
    x = (0.3 * np.sin(2 * np.pi * 220 * t) * (1 + np.sin(2 * np.pi * 3 * t))).astype(np.float32)
    params = SynthParams("en-us", 160, 50, snr_db=21.5, reverb=reverb, noise=noise)
    y1, s1, n1 = degrade(x, params, np.random.default_rng(7), return_parts=True)
    y2 = degrade(x, params, np.random.default_rng(7))
    assert np.array_equal(y1, y2)
    assert len(y1) == len(x)
    assert np.max(np.abs(y1)) <= 0.9 + 1e-6
    snr = 10 * np.log10(np.mean(s1.astype(np.float64) ** 2) / np.mean(n1.astype(np.float64) ** 2))
    assert abs(snr - 21.5) < 0.05
    assert not np.array_equal(y1, degrade(x, params, np.random.default_rng(8)))


def test_draw_params_is_seeded_by_utt_id() -> None:
    a, b = draw_params("en-Mark.1.1", "en"), draw_params("en-Mark.1.1", "en")
    assert a == b
    assert 130 <= a.speed <= 190 and 30 <= a.pitch <= 70 and 15 <= a.snr_db <= 35
    assert a.reverb == 0.0 or 0.15 <= a.reverb <= 0.5
    assert draw_params("zh-000001", "zh").voice.startswith("cmn-latn-pinyin")
    assert draw_params("es-Mark.1.1", "es").voice.split("+")[0] in ("es", "es-419")


def test_digit_expansion() -> None:
    assert expand_digits("3 men and 1,000 sheep", "en") == "three men and one thousand sheep"
    assert expand_digits("the 2nd day", "en") == "the second day"
    assert expand_digits("in 1984", "en") == "in nineteen eighty-four"
    assert expand_digits("20% of $5", "en") == "twenty percent of five dollars"
    assert expand_digits("2 de Corintios", "es") == "dos de Corintios"
    # old one-letter accented words would be read as letter names by espeak-ng
    assert spoken_es("Dijo Jehová á Moisés: vino ó agua, 2 veces. Á la mañana") == (
        "Dijo Jehová a Moisés: vino o agua, dos veces. A la mañana")
    assert expand_digits("no digits here", "en") == "no digits here"
    assert not any(c.isdigit() for c in expand_digits("10am, 5:23 and 3.14", "en"))
