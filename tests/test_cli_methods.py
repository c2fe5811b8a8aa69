"""Every decoding method from the CLI on the tiny trained model; `asrkit tune`, `asrkit lm prior`, torchrun decode."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from asrkit.cli.main import main
from lm.ngram.build import build_ngram
from tests.conftest import free_port


@pytest.fixture(scope="module")
def setup(trained, tmp_path_factory):
    from tests.conftest import SENTENCES

    folder, _ = trained
    model = folder / "exp" / "model"
    d = tmp_path_factory.mktemp("lms")
    (d / "c.txt").write_text("\n".join(SENTENCES * 5) + "\n")
    spm = str(model / "tokenizer.model")
    build_ngram([d / "c.txt"], 3, "token", d / "tok3.arpa", tokenizer=spm, memory="64M")
    build_ngram([d / "c.txt"], 2, "token", d / "tok2.arpa", tokenizer=spm, memory="64M")
    build_ngram([d / "c.txt"], 3, "word", d / "word3.arpa", memory="64M")
    return folder, model, d


def wer(capsys, ref, hyp) -> float:
    capsys.readouterr()
    assert main(["score", "--ref", str(ref), "--hyp", str(hyp), "--metric", "wer", "--json"]) == 0
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])["value"]


def test_every_method_runs_and_lms_help(setup, trained_tlg, tmp_path, capsys):
    from asrkit.inference.methods import METHODS

    folder, model, d = setup
    manifest = folder / "m.jsonl"
    assert main(["lm", "prior", "-m", str(model), "-i", str(manifest), "-o", str(tmp_path / "prior.json")]) == 0
    runs = {
        "greedy": [],
        "beam": ["--beam", "8"],
        "shallow_fusion": ["--lm", str(d / "tok3.arpa"), "--lm-weight", "0.6"],
        "rescore": ["--lm", str(d / "word3.arpa"), "--lm-weight", "0.5", "--nbest", "8"],
        "density_ratio": ["--lm", str(d / "tok3.arpa"), "--source-lm", str(d / "tok3.arpa"),
                          "--lm-weight", "0.6", "--source-weight", "0.1"],
        "lodr": ["--lm", str(d / "word3.arpa"), "--source-lm", str(d / "tok2.arpa"), "--source-weight", "0.1"],
        "ilme": ["--lm", str(d / "tok3.arpa"), "--ilm", str(tmp_path / "prior.json"), "--ilm-weight", "0.1"],
        "tlg": ["--graph", str(trained_tlg[1])],
    }
    assert set(runs) == set(METHODS)  # every registered method, from the command line
    scores = {}
    for method, extra in runs.items():
        out = tmp_path / f"{method}.jsonl"
        assert main(["decode", "-q", "-m", str(model), "-i", str(manifest), "-o", str(out), "--method", method,
                     *extra]) == 0, capsys.readouterr().err
        scores[method] = wer(capsys, manifest, out)
    # Every LM here was trained on the test sentences, so each LM method must beat greedy decoding and the
    # LM-free beam search. (Beam search alone is not always better than greedy by WER: it ranks prefixes by
    # the summed probability of their alignments, not by the best path; on this tiny model it is worse.)
    for method in runs:
        if method not in ("greedy", "beam"):
            assert scores[method] < min(scores["greedy"], scores["beam"]), (method, scores)


def test_method_errors_are_one_line(setup, tmp_path, capsys):
    folder, model, d = setup
    manifest = folder / "m.jsonl"
    cases = [
        (["--method", "density_ratio", "--lm", str(d / "tok3.arpa")], "needs --source-lm"),
        (["--method", "lodr", "--lm", str(d / "tok3.arpa"), "--source-lm", str(d / "tok3.arpa")], "low-order"),
        (["--method", "ilme", "--lm", str(d / "tok3.arpa")], "asrkit lm prior"),
        (["--method", "tlg"], "needs --graph"),
        (["--method", "tlg", "--graph", "g", "--beam", "16"], "--search-beam"),
        (["--method", "tlg", "--graph", "g", "--insertion-bonus", "1"], "--word-bonus"),
        (["--method", "tlg", "--graph", "g", "--search-beam", "0"], "--search-beam must be positive"),
        (["--method", "shallow_fusion"], "needs --lm"),
        # NaN / infinite weights would make every score NaN: refused, not decoded into empty text.
        (["--method", "shallow_fusion", "--lm", str(d / "tok3.arpa"), "--lm-weight", "nan"],
         "--lm-weight must be a finite number, not nan"),
        (["--method", "beam", "--insertion-bonus", "inf"], "--insertion-bonus must be a finite number, not inf"),
        (["--method", "beam", "--hotwords", str(d / "hot.txt"), "--hotword-weight", "nan"],
         "--hotword-weight must be a finite number"),
    ]
    (d / "hot.txt").write_text("cat\n")
    for extra, msg in cases:
        rc = main(["decode", "-q", "-m", str(model), "-i", str(manifest), "-o", str(tmp_path / "x.jsonl"), *extra])
        err = capsys.readouterr().err.strip()
        assert rc == 2 and msg in err and len(err.splitlines()) == 1, (extra, err)


def test_tune_writes_a_config_that_decode_reads(setup, tmp_path, capsys):
    folder, model, d = setup
    manifest = folder / "m.jsonl"
    out = tmp_path / "tune"
    argv = ["tune", "-m", str(model), "--dev", str(manifest), "--method", "shallow_fusion", "--lm",
            str(d / "tok3.arpa"), "--grid", "lm_weight=0,0.5", "word_bonus=0,1", "-o", str(out)]
    assert main(argv) == 0
    rows = [json.loads(x) for x in (out / "tune.jsonl").read_text().splitlines()]
    assert len(rows) == 4 and (out / "tune.png").stat().st_size > 0
    best = json.loads((out / "best.json").read_text())
    assert best["method"] == "shallow_fusion" and best["format"] == 2 and "word_bonus" in best
    assert min(rows, key=lambda r: r["score"])["lm_weight"] == best["lm_weight"]
    # Resume: a rerun evaluates nothing new.
    assert main(argv) == 0
    assert len((out / "tune.jsonl").read_text().splitlines()) == 4
    hyp = tmp_path / "hyp.jsonl"
    assert main(["decode", "-q", "-m", str(model), "--config", str(out / "best.json"), "-i", str(manifest),
                 "-o", str(hyp)]) == 0
    assert abs(wer(capsys, manifest, hyp) - min(r["score"] for r in rows)) < 1e-6


def test_torchrun_decode_splits_and_merges_in_input_order(setup, tmp_path):
    folder, model, _ = setup
    manifest = folder / "m.jsonl"
    torchrun = Path(sys.executable).parent / "torchrun"
    out = tmp_path / "hyp.jsonl"
    res = subprocess.run(
        [str(torchrun), "--nproc_per_node", "2", "--master_addr", "127.0.0.1", "--master_port", str(free_port()),
         "-m", "asrkit.cli.main", "decode", "-q", "-m", str(model), "-i", str(manifest), "-o", str(out)],
        capture_output=True, text=True, timeout=300,
    )
    assert res.returncode == 0, res.stderr[-2000:]
    single = tmp_path / "single.jsonl"
    assert main(["decode", "-q", "-m", str(model), "-i", str(manifest), "-o", str(single)]) == 0
    assert out.read_text() == single.read_text()
    assert (tmp_path / "hyp.jsonl.rank1").exists()


def test_decode_tlg_end_to_end_with_the_default_search_beam(trained_tlg, tmp_path, capsys):
    """`asrkit decode --method tlg` on the trained model, no --search-beam: the documented 16, the same words as
    TLGDecoder at beam 16 on the same emissions; an old best.json (beam 8 = its margin, per-word insertion
    bonus) decodes as --search-beam 8 --word-bonus."""
    from asrkit.inference import Recognizer
    from decoders.tlg import TLGDecoder

    model, graph = trained_tlg
    manifest = model.parent.parent / "m.jsonl"
    rows = [json.loads(x) for x in manifest.read_text().splitlines()]
    out = tmp_path / "tlg.jsonl"
    argv = ["decode", "-q", "-m", str(model), "-i", str(manifest), "--method", "tlg", "--graph", str(graph),
            "--lm-weight", "0.8"]
    assert main([*argv, "-o", str(out)]) == 0, capsys.readouterr().err
    got = {r["id"]: r["text"] for r in map(json.loads, out.read_text().splitlines())}
    rec = Recognizer(model)
    waves = [rec.load(manifest.parent / r["audio"]) for r in rows]
    lp, lens = rec.emissions(waves)
    direct = TLGDecoder.load(graph, rec.head.tokenizer).decode_batch(lp, lens, beam=16.0, lm_weight=0.8)
    assert [got[r["id"]] for r in rows] == [" ".join(w) for w in direct]
    tlg_wer = wer(capsys, manifest, out)
    greedy = tmp_path / "greedy.jsonl"
    assert main(["decode", "-q", "-m", str(model), "-i", str(manifest), "-o", str(greedy)]) == 0
    assert tlg_wer <= wer(capsys, manifest, greedy)
    # An old best.json of `asrkit tune --method tlg`: "beam" was the margin, "insertion_bonus" per word.
    old = tmp_path / "old_best.json"
    old.write_text(json.dumps({"method": "tlg", "beam": 8, "insertion_bonus": 0.5, "lm_weight": 0.8,
                               "graph": str(graph), "max_active": 7000}))
    assert main(["decode", "-q", "-m", str(model), "--config", str(old), "-i", str(manifest),
                 "-o", str(tmp_path / "old.jsonl")]) == 0
    assert main([*argv, "--search-beam", "8", "--word-bonus", "0.5", "-o", str(tmp_path / "new.jsonl")]) == 0
    assert (tmp_path / "old.jsonl").read_text() == (tmp_path / "new.jsonl").read_text()
