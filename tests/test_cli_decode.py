"""`asrkit decode` end to end on a real (tiny, trained) model: outputs, bad inputs, resume."""

import json
import shutil
import subprocess
import sys

import numpy as np
import soundfile as sf

from asrkit.cli.main import main


def _lines(path):
    return [json.loads(x) for x in path.read_text().splitlines() if x.strip()]


def test_decode_manifest_folder_scp_and_file(trained, tmp_path, capsys):
    folder, _ = trained
    model = str(folder / "exp" / "model")
    wavs = sorted(folder.glob("*.wav"))
    scp = tmp_path / "wav.scp"
    scp.write_text("".join(f"utt{i} {p}\n" for i, p in enumerate(wavs[:2])))
    single = tmp_path / "single.wav"
    shutil.copy(wavs[0], single)
    out = tmp_path / "hyp.jsonl"
    rc = main(["decode", "-q", "-m", model, "-i", str(folder / "m.jsonl"), str(scp), str(single), "-o", str(out)])
    assert rc == 0
    hyps = _lines(out)
    assert len(hyps) == len(wavs) + 3
    assert {"utt0", "utt1", "single"} <= {h["id"] for h in hyps}
    # The tiny model was trained on these very sentences: it should mostly get them right.
    rc = main(["score", "--ref", str(folder / "m.jsonl"), "--hyp", str(out), "--metric", "wer", "--json"])
    assert rc == 0
    score = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert score["value"] < 50


def test_bad_inputs_are_reported_and_the_rest_decoded(trained, tmp_path, capsys):
    folder, _ = trained
    model = str(folder / "exp" / "model")
    good = sorted(folder.glob("*.wav"))[0]
    (tmp_path / "empty.wav").write_bytes(b"")
    (tmp_path / "text.wav").write_text("not audio " * 50)
    data = good.read_bytes()
    (tmp_path / "truncated.wav").write_bytes(data[:40])
    sf.write(tmp_path / "short.wav", np.zeros(100, dtype=np.float32), 16000)
    sf.write(tmp_path / "long.wav", np.zeros(16000 * 30, dtype=np.float32), 16000)
    manifest = tmp_path / "m.jsonl"
    manifest.write_text(json.dumps({"id": "ok", "audio": str(good)}) + "\n{broken json\n"
                        + json.dumps({"id": "noaudio"}) + "\n")
    out = tmp_path / "hyp.jsonl"
    inputs = [str(manifest), str(tmp_path / "missing.wav")] + [
        str(tmp_path / n) for n in ("empty.wav", "text.wav", "truncated.wav", "short.wav", "long.wav")]
    rc = main(["decode", "-q", "-m", model, "--max-duration", "20", "-i", *inputs, "-o", str(out)])
    err = capsys.readouterr().err
    assert rc == 1
    # An input over --max-duration is no error: the VAD cuts it into segments (30 s of silence: none).
    assert [h["id"] for h in _lines(out)] == ["ok", "long"]
    assert _lines(out)[1] == {"id": "long", "text": "", "segments": []}
    errors = [x for x in err.splitlines() if "error:" in x]
    assert len(errors) == 7
    for name in ("m.jsonl:2", "m.jsonl:3", "missing.wav", "empty.wav", "text.wav", "truncated.wav", "short.wav"):
        assert sum(name in e for e in errors) == 1, name
    assert "Traceback" not in err


def test_resume_skips_done_ids(trained, tmp_path, capsys):
    folder, _ = trained
    model = str(folder / "exp" / "model")
    out = tmp_path / "hyp.jsonl"
    out.write_text(json.dumps({"id": "u0-en-us", "text": "KEPT"}) + "\n" + '{"id": "u1-en-us", "te')
    rc = main(["decode", "-q", "-m", model, "-i", str(folder / "m.jsonl"), "-o", str(out), "--resume"])
    assert rc == 0
    hyps = _lines_tolerant(out)
    assert [h["text"] for h in hyps if h["id"] == "u0-en-us"] == ["KEPT"]
    assert sum(h["id"] == "u1-en-us" for h in hyps) == 1


def _lines_tolerant(path):
    out = []
    for x in path.read_text().splitlines():
        try:
            out.append(json.loads(x))
        except json.JSONDecodeError:
            pass
    return out


def test_user_errors_are_one_line(tmp_path):
    exe = shutil.which("asrkit") or f"{sys.executable} -m asrkit.cli.main"
    res = subprocess.run([*exe.split(), "decode", "-i", "x.wav", "-o", str(tmp_path / "h.jsonl"), "-m",
                          str(tmp_path / "nomodel")], capture_output=True, text=True)
    assert res.returncode == 2
    assert res.stderr.strip().count("\n") == 0 and "nomodel" in res.stderr


def test_beam_and_shallow_fusion_methods(trained, tmp_path, capsys):
    from lm.ngram.build import build_ngram
    from tests.conftest import SENTENCES

    folder, _ = trained
    model = folder / "exp" / "model"
    (tmp_path / "c.txt").write_text("\n".join(SENTENCES * 5) + "\n")
    build_ngram([tmp_path / "c.txt"], 3, "token", tmp_path / "lm.arpa", tokenizer=str(model / "tokenizer.model"),
                memory="64M")
    outs = {}
    for method, extra in [("greedy", []), ("beam", ["--beam", "4"]),
                          ("shallow_fusion", ["--lm", str(tmp_path / "lm.arpa"), "--lm-weight", "0.3"])]:
        out = tmp_path / f"{method}.jsonl"
        assert main(["decode", "-q", "-m", str(model), "-i", str(folder / "m.jsonl"), "-o", str(out),
                     "--method", method, *extra]) == 0
        capsys.readouterr()
        assert main(["score", "--ref", str(folder / "m.jsonl"), "--hyp", str(out), "--metric", "wer", "--json"]) == 0
        outs[method] = json.loads(capsys.readouterr().out.strip().splitlines()[-1])["value"]
    print(outs)
    # The LM was trained on exactly these sentences: fusing it must repair errors of the weak tiny model.
    assert outs["shallow_fusion"] < outs["greedy"]
    # A word-level LM joins the BPE search through word-boundary handling, and helps as well.
    build_ngram([tmp_path / "c.txt"], 2, "word", tmp_path / "w.arpa", memory="64M")
    out = tmp_path / "w.jsonl"
    assert main(["decode", "-q", "-m", str(model), "-i", str(folder / "m.jsonl"), "-o", str(out),
                 "--method", "shallow_fusion", "--lm", str(tmp_path / "w.arpa"), "--lm-weight", "0.3"]) == 0
    capsys.readouterr()
    assert main(["score", "--ref", str(folder / "m.jsonl"), "--hyp", str(out), "--metric", "wer", "--json"]) == 0
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["value"] < outs["greedy"]
