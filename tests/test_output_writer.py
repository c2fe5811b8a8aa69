"""The results writer (asrkit/data/results.py) through `asrkit decode` and `asrkit tune`: nothing written is lost,
nothing we did not write is touched, a cut last line is repaired by --resume (issue 13, "Data loss")."""

import json
import resource
import shutil
import subprocess
from pathlib import Path

import pytest

from asrkit.cli.main import main
from asrkit.inference.decode_config import DecodeConfig
from asrkit.inference.tuning import search

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "asrkit" / "samples"


@pytest.fixture
def manifest(tmp_path):
    """Three bundled English samples, with absolute audio paths, as a manifest in tmp_path."""
    rows = [json.loads(x) for x in (SAMPLES / "samples.jsonl").read_text().splitlines()][:3]
    path = tmp_path / "m.jsonl"
    path.write_text("".join(json.dumps({**r, "audio": str(SAMPLES / r["audio"])}) + "\n" for r in rows))
    return path


def _ids(path):
    return [json.loads(x)["id"] for x in path.read_text().splitlines()]


def _errors(err):
    return [x for x in err.splitlines() if ": error: " in x]


def test_resume_repairs_a_cut_last_line_and_redoes_that_id(manifest, tmp_path, capsys):
    out = tmp_path / "hyp.jsonl"
    assert main(["decode", "-q", "-i", str(manifest), "-o", str(out)]) == 0
    full = out.read_bytes()
    out.write_bytes(full[: len(full) - 25])  # a kill (or a full disk) in the middle of the last line
    capsys.readouterr()
    assert main(["decode", "-q", "-i", str(manifest), "-o", str(out), "--resume"]) == 0
    assert "removed a cut last line" in capsys.readouterr().err
    assert out.read_bytes() == full  # the same lines, each id once
    assert main(["score", "--ref", str(manifest), "--hyp", str(out)]) == 0


def test_a_complete_last_line_without_newline_is_kept(manifest, tmp_path):
    out = tmp_path / "hyp.jsonl"
    assert main(["decode", "-q", "-i", str(manifest), "-o", str(out)]) == 0
    full = out.read_bytes()
    first = full.split(b"\n")[0]
    out.write_bytes(first)  # a finished result whose newline never made it
    assert main(["decode", "-q", "-i", str(manifest), "-o", str(out), "--resume"]) == 0
    assert out.read_bytes() == full


def test_tune_resume_repairs_a_cut_last_line(tmp_path):
    log = tmp_path / "tune.jsonl"
    points = [DecodeConfig(lm_weight=w) for w in (0.1, 0.2, 0.3)]

    def score(cfg):
        return abs(cfg.lm_weight - 0.2) * 100  # a real function of the point: the best is 0.2

    search(points[:2], ["lm_weight"], score, log, False)
    log.write_bytes(log.read_bytes()[:-9])  # the second row is cut mid-line
    best, rows = search(points, ["lm_weight"], score, log, False)
    lines = [json.loads(x) for x in log.read_text().splitlines()]  # every line is a row again
    assert [r["lm_weight"] for r in lines] == [0.1, 0.2, 0.3]
    assert best.lm_weight == 0.2 and len(rows) == 3


def test_tune_rerun_repairs_its_log_through_the_cli(manifest, tmp_path, capsys):
    args = ["tune", "--dev", str(manifest), "--grid", "blank_penalty=0,2", "-o", str(tmp_path / "t")]
    assert main(args) == 0
    log = tmp_path / "t" / "tune.jsonl"
    full = log.read_bytes()
    log.write_bytes(full[:-7])
    assert main(args) == 0
    assert [json.loads(x)["blank_penalty"] for x in log.read_text().splitlines()] == [0.0, 2.0]


@pytest.mark.parametrize("line", ["null", "5", '{"text": "x"}', '{"id": "en-Mark.2.6"}', '{"id": 1, "text": 2}'])
def test_resume_refuses_lines_that_are_not_results(manifest, tmp_path, capsys, line):
    out = tmp_path / "hyp.jsonl"
    out.write_text(line + "\n")
    assert main(["decode", "-q", "-i", str(manifest), "-o", str(out), "--resume"]) == 2
    err = capsys.readouterr().err
    assert _errors(err) == [e for e in _errors(err) if f"{out}:1: not a finished result" in e] and _errors(err)
    assert "Traceback" not in err
    assert out.read_text() == line + "\n"  # nothing decoded twice, nothing dropped


def test_tune_refuses_a_foreign_line(tmp_path):
    log = tmp_path / "tune.jsonl"
    log.write_text('{"key": "{}", "score": "high"}\n')
    from asrkit.errors import UserError

    with pytest.raises(UserError, match=r"tune.jsonl:1: not a finished result \(no numeric 'score'\)"):
        search([DecodeConfig()], ["lm_weight"], lambda c: 1.0, log, False)


def test_output_that_is_also_an_input_is_refused(manifest, capsys):
    before = manifest.read_bytes()
    assert main(["decode", "-q", "-i", str(manifest), "-o", str(manifest)]) == 2
    assert "is also an input" in capsys.readouterr().err
    assert manifest.read_bytes() == before


def test_a_typo_keeps_the_previous_output(manifest, tmp_path, capsys):
    out = tmp_path / "hyp.jsonl"
    assert main(["decode", "-q", "-i", str(manifest), "-o", str(out)]) == 0
    before = out.read_bytes()
    for mistake in (["-m", "no-such-model"], ["--method", "shallow_fusion", "--lm", "typo.arpa"],
                    ["--config", "missing.json"]):
        capsys.readouterr()
        assert main(["decode", "-q", "-i", str(manifest), "-o", str(out), *mistake]) == 2
        assert len(_errors(capsys.readouterr().err)) == 1
        assert out.read_bytes() == before


def test_a_file_we_did_not_write_is_not_overwritten(manifest, tmp_path, capsys):
    notes = tmp_path / "notes.txt"
    notes.write_text("my notes\n")
    assert main(["decode", "-q", "-i", str(manifest), "-o", str(notes)]) == 2
    assert "not a results file written by asrkit" in capsys.readouterr().err
    assert notes.read_text() == "my notes\n"


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_a_device_output_is_written_to_never_unlinked(manifest, tmp_path, capsys):
    """/dev/full (through a link, so no device node is at risk even on old code) reports a full disk in one line."""
    link = tmp_path / "full.jsonl"
    link.symlink_to("/dev/full")
    assert main(["decode", "-q", "-i", str(manifest), "-o", str(link)]) == 2
    err = capsys.readouterr().err
    assert _errors(err) == [e for e in _errors(err) if "No space left on device" in e and "--resume" in e]
    assert link.is_symlink() and Path("/dev/full").is_char_device()


@pytest.mark.parametrize("where", ["parent_is_file", "is_folder", "proc"])
def test_an_unwritable_output_is_one_line(manifest, tmp_path, capsys, where):
    out = {"parent_is_file": manifest / "hyp.jsonl", "is_folder": tmp_path,
           "proc": Path("/proc/asrkit-test/hyp.jsonl")}[where]
    assert main(["decode", "-q", "-i", str(manifest), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert len(_errors(err)) == 1 and str(out) in err and "Traceback" not in err


def test_an_immutable_output_is_one_line(manifest, tmp_path, capsys):
    out = tmp_path / "hyp.jsonl"
    out.write_text('{"id": "x", "text": "kept"}\n')
    if shutil.which("chattr") is None or subprocess.run(["chattr", "+i", str(out)], capture_output=True).returncode:
        pytest.skip("chattr +i is not available here (needs root and a file system with the immutable flag)")
    try:
        rc = main(["decode", "-q", "-i", str(manifest), "-o", str(out)])
    finally:
        subprocess.run(["chattr", "-i", str(out)], check=True)
    err = capsys.readouterr().err
    assert rc == 2
    assert _errors(err) == [f"asrkit decode: error: {out}: cannot open for writing (Operation not permitted)"]
    assert out.read_text() == '{"id": "x", "text": "kept"}\n'


def test_a_file_size_limit_is_one_line_and_resume_completes(manifest, tmp_path, capsys):
    """`ulimit -f` (EFBIG, mid-line): one line, exit 2, the written lines kept; --resume then finishes exactly."""
    out = tmp_path / "hyp.jsonl"
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (150, hard))  # Python ignores SIGXFSZ: writes past it fail EFBIG
    try:
        rc = main(["decode", "-q", "-i", str(manifest), "-o", str(out), "--batch-size", "1"])
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
    err = capsys.readouterr().err
    assert rc == 2 and "Traceback" not in err
    assert _errors(err) == [e for e in _errors(err) if "cannot write results (File too large)" in e] and _errors(err)
    assert out.stat().st_size == 150  # one whole line and the start of the next
    assert main(["decode", "-q", "-i", str(manifest), "-o", str(out), "--resume"]) == 0
    assert _ids(out) == [json.loads(x)["id"] for x in manifest.read_text().splitlines()]


def test_writer_appends_whole_lines(tmp_path):
    from asrkit.data.results import ResultWriter, read_results

    path = tmp_path / "r.jsonl"
    path.write_text('{"id": "a", "text": "x"}')  # complete, no newline
    assert [r["id"] for r in read_results(path)] == ["a"]
    with ResultWriter(path, fresh=False) as w:
        w.write([{"id": "b", "text": "ü"}])
    assert path.read_text(encoding="utf-8").splitlines() == ['{"id": "a", "text": "x"}', '{"id": "b", "text": "ü"}']
    with ResultWriter(path, fresh=True) as w:
        w.write([{"id": "c", "text": ""}])
    assert _ids(path) == ["c"]


def test_torchrun_merge_keeps_earlier_results_on_resume(manifest, tmp_path, monkeypatch):
    """Rank 0's merge reads the part files and, on --resume, the lines OUTPUT already had."""
    from asrkit.cli.decode import _merge

    out = tmp_path / "hyp.jsonl"
    out.write_text('{"id": "old", "text": "kept"}\n')
    (tmp_path / "hyp.jsonl.rank0").write_text('{"id": "b", "text": "1"}\n')
    (tmp_path / "hyp.jsonl.rank1").write_text('{"id": "a", "text": "2"}\n{"id": "c", "te')
    _merge(out, 2, ["a", "b", "c"], resume=True)
    assert _ids(out) == ["a", "b", "old"]
    # the merge leaves no temporary file behind
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []
