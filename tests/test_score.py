"""Tests for text normalisation, WER/CER/BLEU and `asrkit score`."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import sacrebleu

import asrkit.cli.main as cli_main
from asrkit.errors import UserError
from asrkit.metrics import cer, corpus_bleu, wer
from asrkit.metrics.references import load_hypotheses, load_references, pair
from asrkit.text import chars_for_cer, normalize_text

# --- normalisation -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Hello, World!", "hello world"),
        ("  many   spaces\tand\nlines ", "many spaces and lines"),
        ("well...yes;no", "well yes no"),
        ("rock-n-roll e_mail a/b", "rock n roll e mail a b"),
        ("50% of $5 + 3", "50 of 5 3"),
        ("ＡＢＣ ﬁne", "abc fine"),  # NFKC: full-width letters, ligature
        ("Straße", "strasse"),  # casefold, not just lower
        ("“quoted” «guillemets»", "quoted guillemets"),
        ("", ""),
        ("?!.", ""),
    ],
)
def test_normalize_punctuation_and_case(text: str, expected: str) -> None:
    assert normalize_text(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("don't", "don't"),
        ("Israel's king", "israel's king"),
        ("Don’t", "don't"),  # typographic apostrophe
        ("Israel‘s", "israel's"),
        ("'tis the dogs' bone", "tis the dogs bone"),  # not between two letters
        ("'quoted'", "quoted"),
        ("it ' s", "it s"),
        ("90's", "90 s"),  # a digit is not a letter
    ],
)
def test_normalize_apostrophes(text: str, expected: str) -> None:
    assert normalize_text(text) == expected


def test_normalize_keeps_accents() -> None:
    assert normalize_text("¿Qué tal, Señor Ñandú? ¡Canción!", "es") == "qué tal señor ñandú canción"
    # A decomposed accent (e + combining acute) is composed by NFKC and kept.
    assert normalize_text("cafe\u0301") == "café"


def test_normalize_chinese_spacing() -> None:
    assert normalize_text("你 好 ， 世界 。") == "你好世界"
    assert normalize_text("你 好", "zh") == "你好"
    # Mostly Han even with Latin words in it; spaces next to Latin words stay.
    assert normalize_text("我 爱 NLP 和 AI") == "我爱 nlp 和 ai"
    # lang zh forces it on mostly-Latin text; Latin-only spacing is untouched.
    assert normalize_text("a 你 好 b c d", "zh-CN") == "a 你好 b c d"
    assert normalize_text("a 你 好 b c d", "en") == "a 你 好 b c d"


def test_chars_for_cer() -> None:
    assert chars_for_cer("ab c") == ["a", "b", "c"]
    assert chars_for_cer("") == []


# --- WER / CER -----------------------------------------------------------------------------------


def test_wer_hand_computed() -> None:
    refs = ["The cat sat on the mat.", "Hello world"]
    hyps = ["the cat sit on mat", "hello, big world!"]
    result = wer(refs, hyps)
    # Utterance 1: sat->sit (sub), "the" deleted; utterance 2: "big" inserted. 3 errors / 8 words.
    assert (result.substitutions, result.deletions, result.insertions) == (1, 1, 1)
    assert result.ref_len == 8 and result.n_utts == 2
    assert result.value == pytest.approx(37.5)
    assert result.format() == "WER 37.50 % [ 3 / 8, 1 ins, 1 del, 1 sub ] 2 utts"
    assert [u.errors for u in result.utterances] == [2, 1]


def test_wer_normalisation_means_no_errors() -> None:
    assert wer(["Don’t STOP, now!"], ["don't stop now"]).value == 0.0


def test_cer_hand_computed() -> None:
    assert cer(["abc"], ["abd"]).value == pytest.approx(100 / 3)
    # Spaces do not count: a moved word boundary is not an error.
    result = cer(["ab c"], ["a bc"])
    assert result.value == 0.0 and result.ref_len == 3
    result = cer(["你好世界"], ["你好 世 届"])
    assert (result.substitutions, result.ref_len, result.value) == (1, 4, 25.0)


def test_empty_texts() -> None:
    result = wer(["one two", "", "three"], ["", "extra words", "three"])
    assert (result.substitutions, result.deletions, result.insertions) == (0, 2, 2)
    assert result.ref_len == 3
    assert wer(["a", ""], ["a", ""]).value == 0.0
    with pytest.raises(ValueError, match="no words"):
        wer([""], ["x"])
    with pytest.raises(ValueError, match="2 references but 1"):
        wer(["a", "b"], ["a"])


# --- BLEU ----------------------------------------------------------------------------------------

REFS = ["The cat sat on the mat.", "It is raining today!", "Where is the station?"]
HYPS = ["The cat sat on a mat.", "it rains today", "Where is the train station?"]


def test_bleu_equals_sacrebleu() -> None:
    result = corpus_bleu(REFS, HYPS)
    expected = sacrebleu.corpus_bleu(HYPS, [REFS])
    assert result.value == pytest.approx(expected.score)
    assert "tok:13a" in result.signature and "case:mixed" in result.signature
    assert result.line.startswith("BLEU|nrefs:1|")


def test_bleu_lowercase_and_normalize() -> None:
    result = corpus_bleu(REFS, HYPS, lowercase=True)
    assert result.value == pytest.approx(sacrebleu.corpus_bleu(HYPS, [REFS], lowercase=True).score)
    assert "case:lc" in result.signature
    normed = corpus_bleu(REFS, HYPS, normalize=True)
    plain = sacrebleu.corpus_bleu([normalize_text(h) for h in HYPS], [[normalize_text(r) for r in REFS]])
    assert normed.value == pytest.approx(plain.score)
    assert normed.signature.endswith("|norm:asrkit")


# --- reference and hypothesis files --------------------------------------------------------------


def _write(path: Path, lines: list[str]) -> Path:
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def _jsonl(path: Path, rows: list[dict]) -> Path:
    return _write(path, [json.dumps(row, ensure_ascii=False) for row in rows])


def test_kaldi_text_and_jsonl_refs_agree(tmp_path: Path) -> None:
    kaldi = _write(tmp_path / "text", ["u1 hello world", "u2  how are you", "u3"])
    manifest = _jsonl(
        tmp_path / "refs.jsonl",
        [
            {"id": "u1", "text": "hello world", "audio": "u1.wav"},
            {"id": "u2", "text": "how are you"},
            {"id": "u3", "text": ""},
        ],
    )
    assert (
        load_references(kaldi)
        == load_references(manifest)
        == {
            "u1": "hello world",
            "u2": "how are you",
            "u3": "",
        }
    )


def test_hypotheses_missing_failed_extra(tmp_path: Path) -> None:
    refs = {"a": "one two three", "b": "four five", "c": "six"}
    hyp = _jsonl(
        tmp_path / "hyp.jsonl",
        [
            {"id": "a", "text": "one two three", "score": -1.5},
            {"id": "c", "error": "OOM"},
            {"id": "z", "text": "x"},
        ],
    )
    paired = pair(refs, load_hypotheses(hyp))
    assert paired.hyps == ["one two three", "", ""]
    assert (paired.missing, paired.failed, paired.extra) == (["b"], ["c"], ["z"])
    result = wer(paired.refs, paired.hyps)
    # Missing and failed utterances are all deletions: 3 of 6 words.
    assert (result.deletions, result.value) == (3, 50.0)


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        (['{"id": "a", "text": "x"}', "{broken"], r"ref\.jsonl:2: not valid JSON"),
        (['{"id": "a", "text": "x"}', '{"text": "y"}'], r"ref\.jsonl:2: missing or invalid 'id'"),
        (['{"id": "a", "text": "x"}', '{"id": "a", "text": "y"}'], r"ref\.jsonl:2: duplicate id 'a'"),
        (['{"id": "a", "sentence": "x"}'], r"ref\.jsonl:1: no 'text' field"),
        (['{"id": "a", "text": 3}'], r"ref\.jsonl:1: field 'text' is int"),
        (["[1, 2]"], r"ref\.jsonl:1: expected a JSON object"),
        (["", "  "], r"ref\.jsonl: file is empty"),
    ],
)
def test_bad_reference_lines(tmp_path: Path, lines: list[str], message: str) -> None:
    with pytest.raises(UserError, match=message):
        load_references(_write(tmp_path / "ref.jsonl", lines))


def test_bad_files(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="no such file"):
        load_references(tmp_path / "absent")
    with pytest.raises(UserError, match="is a directory"):
        load_hypotheses(tmp_path)
    bad = tmp_path / "latin1"
    bad.write_bytes(b"u1 ok\nu2 caf\xe9\n")
    with pytest.raises(UserError, match="latin1:2: not valid UTF-8"):
        load_references(bad)


# --- the command line ----------------------------------------------------------------------------


@pytest.fixture
def score_main(monkeypatch: pytest.MonkeyPatch):
    """`asrkit` main with only the score sub-command, so the test needs no other command module."""
    monkeypatch.setattr(cli_main, "COMMANDS", ["score"])
    return lambda *argv: cli_main.main(["score", *argv])


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    ref = _jsonl(
        tmp_path / "ref.jsonl",
        [
            {"id": "u1", "text": "The cat sat on the mat.", "translation": REFS[0]},
            {"id": "u2", "text": "Hello world", "translation": REFS[1]},
            {"id": "u3", "text": "Good night", "translation": REFS[2]},
        ],
    )
    hyp = _jsonl(
        tmp_path / "hyp.jsonl",
        [
            {"id": "u1", "text": "the cat sit on mat"},
            {"id": "u2", "text": "hello, big world!"},
            {"id": "u9", "text": "stray"},
        ],
    )
    st_hyp = _jsonl(tmp_path / "st.jsonl", [{"id": f"u{i + 1}", "text": h} for i, h in enumerate(HYPS)])
    return {"ref": ref, "hyp": hyp, "st": st_hyp, "dir": tmp_path}


def test_cli_wer_line_and_warnings(score_main, files, capsys) -> None:
    assert score_main("--ref", str(files["ref"]), "--hyp", str(files["hyp"])) == 0
    out, err = capsys.readouterr()
    # u3 is missing: 2 deletions, so 5 errors over 10 words.
    assert out == "WER 50.00 % [ 5 / 10, 1 ins, 3 del, 1 sub ] 3 utts\n"
    warnings = err.splitlines()
    assert len(warnings) == 2
    assert "1 of 3 reference utterances have no hypothesis" in warnings[0]
    assert "1 hypotheses" in warnings[1] and "ignored" in warnings[1]


def test_cli_json_and_details(score_main, files, capsys) -> None:
    details = files["dir"] / "details.jsonl"
    argv = ["--ref", str(files["ref"]), "--hyp", str(files["hyp"]), "--metric", "cer", "--json"]
    assert score_main(*argv, "--details", str(details)) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["metric"] == "cer"
    assert (summary["n_utts"], summary["missing"], summary["failed"], summary["extra"]) == (3, 1, 0, 1)
    assert summary["errors"] == summary["substitutions"] + summary["deletions"] + summary["insertions"]
    assert summary["value"] == pytest.approx(100 * summary["errors"] / summary["ref_len"])
    rows = [json.loads(line) for line in details.read_text(encoding="utf-8").splitlines()]
    assert [r["id"] for r in rows] == ["u1", "u2", "u3"]
    assert rows[2]["status"] == "missing" and rows[2]["del"] == rows[2]["ref_len"] == len("goodnight")
    assert rows[1]["hyp_norm"] == "hello big world" and rows[1]["ins"] == 3


def test_cli_bleu(score_main, files, capsys) -> None:
    assert score_main("--ref", str(files["ref"]), "--hyp", str(files["st"]), "--metric", "bleu") == 0
    line = capsys.readouterr().out.strip()
    expected = sacrebleu.corpus_bleu(HYPS, [REFS])
    assert line.startswith("BLEU|nrefs:1|case:mixed|eff:no|tok:13a")
    assert f"= {expected.score:.2f} " in line
    argv = ["--ref", str(files["ref"]), "--hyp", str(files["st"]), "--metric", "bleu", "--json"]
    assert score_main(*argv, "--lowercase") == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["value"] == pytest.approx(sacrebleu.corpus_bleu(HYPS, [REFS], lowercase=True).score)
    assert summary["field"] == "translation"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--hyp", "{dir}/absent.jsonl"], "absent.jsonl: no such file"),
        (["--hyp", "{dir}/empty.jsonl"], "empty.jsonl: file is empty"),
        (["--hyp", "{dir}/bad.jsonl"], "bad.jsonl:2: not valid JSON"),
        (["--hyp", "{hyp}", "--field", "nope"], "ref.jsonl:1: no 'nope' field"),
        (["--hyp", "{hyp}", "--lowercase"], "apply only to --metric bleu"),
        (["--hyp", "{dir}/other.jsonl"], "no hypothesis id matches a reference id"),
        (["--hyp", "{hyp}", "--biased-words", "{dir}/absent.txt"], "--biased-words "),
        (["--hyp", "{hyp}", "--biased-words", "{dir}/bad.jsonl", "--metric", "cer"], "applies only to --metric wer"),
    ],
)
def test_cli_bad_input_exit_2(score_main, files, capsys, argv: list[str], message: str) -> None:
    (files["dir"] / "empty.jsonl").write_text("\n", encoding="utf-8")
    _write(files["dir"] / "bad.jsonl", ['{"id": "u1", "text": "a"}', "not json"])
    _jsonl(files["dir"] / "other.jsonl", [{"id": "x", "text": "a"}])
    argv = [a.format(dir=files["dir"], hyp=files["hyp"]) for a in argv]
    assert score_main("--ref", str(files["ref"]), *argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("asrkit score: error: ")
    assert message in err


def test_cli_all_empty_references(score_main, tmp_path, capsys) -> None:
    ref = _write(tmp_path / "text", ["u1", "u2 ..."])
    hyp = _jsonl(tmp_path / "hyp.jsonl", [{"id": "u1", "text": "a"}, {"id": "u2", "text": ""}])
    assert score_main("--ref", str(ref), "--hyp", str(hyp)) == 2
    assert "hold no words; WER is undefined" in capsys.readouterr().err


def test_cli_subprocess(files) -> None:
    # A real process, with only the score command registered (others may not exist yet).
    code = "import sys, asrkit.cli.main as m; m.COMMANDS = ['score']; sys.exit(m.main(sys.argv[1:]))"
    argv = ["score", "--ref", str(files["ref"]), "--hyp", str(files["hyp"]), "--json"]
    proc = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["value"] == pytest.approx(50.0)
    proc = subprocess.run(
        [sys.executable, "-c", code, "score", "--ref", str(files["dir"] / "nope"), "--hyp", "x"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2 and len(proc.stderr.splitlines()) == 1


def test_cli_biased_words(score_main, files, capsys) -> None:
    """Recall, B-WER and U-WER of a list's words, by hand: the list holds "cat", "mat" (both right in u1:
    "the cat sit on mat" aligns "the" before "mat" as the deletion) and "good night" (u3 has no hypothesis:
    both deleted); "hello" is not listed."""
    words = _write(files["dir"] / "names.txt", ["Cat", "good night\t2.0", "mat"])
    assert score_main("--ref", str(files["ref"]), "--hyp", str(files["hyp"]), "--biased-words", str(words)) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("WER 50.00 %")
    # biased reference words: cat, mat (u1), good, night (u3) = 4, of which cat and mat are right; B errors:
    # good, night deleted = 2; U words: the, sat, on, the, hello, world = 6, errors: sat -> sit, the deleted,
    # "big" inserted = 3
    assert out[1] == ("%BIASED recall 50.00 % [ 2 / 4 ], B-WER 50.00 %, U-WER 50.00 %, "
                      "list words written for another word 0")
    assert score_main("--ref", str(files["ref"]), "--hyp", str(files["hyp"]), "--biased-words", str(words),
                      "--json") == 0
    biased = json.loads(capsys.readouterr().out)["biased"]
    assert (biased["biased_words"], biased["recall"], biased["list_words_written_wrongly"]) == (4, 50.0, 0)

