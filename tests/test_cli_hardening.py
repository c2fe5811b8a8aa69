"""Issue 13: every input path of the CLI as a hostile but realistic user drives it. Each bad input gets one line
naming it (exit 1 and the rest decoded, or exit 2 before any work), never a traceback, never code execution."""

import json
import os
import pickle
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from asrkit.cli.main import main
from asrkit.errors import UserError

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "asrkit" / "samples"
CTC = ROOT / "asrkit" / "pretrained" / "bible-en-ctc-small"
FLAC = SAMPLES / "en-Mark.2.6.flac"


def _errors(err: str) -> list[str]:
    return [x for x in err.splitlines() if ": error: " in x]


def _rows(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text().splitlines()]


def _decode(args, capsys) -> tuple[int, str]:
    capsys.readouterr()
    rc = main(["decode", "-q", *map(str, args)])
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return rc, err


# ---- manifests, wav.scp, folders, files -------------------------------------------------------------------------
def test_bad_audio_fields_are_errors_of_their_own_lines(tmp_path, capsys):
    m = tmp_path / "m.jsonl"
    lines = [{"id": "a", "audio": 123}, {"id": "b", "audio": None}, {"id": "c", "audio": ""},
             {"id": "d", "audio": "x\u0000y.wav"}, {"id": "ok", "audio": str(FLAC)}]
    m.write_text("".join(json.dumps(x) + "\n" for x in lines))
    rc, err = _decode(["-i", m, "-o", tmp_path / "h.jsonl"], capsys)
    assert rc == 1
    assert [r["id"] for r in _rows(tmp_path / "h.jsonl")] == ["ok"]
    errors = _errors(err)
    assert len(errors) == 4
    for n in range(1, 5):
        assert sum(f"{m}:{n}: bad manifest line" in e for e in errors) == 1


def test_a_byte_order_mark_keeps_the_first_utterance(tmp_path, capsys):
    m = tmp_path / "m.jsonl"
    m.write_bytes(b"\xef\xbb\xbf" + json.dumps({"id": "first", "audio": str(FLAC)}).encode() + b"\n")
    rc, _ = _decode(["-i", m, "-o", tmp_path / "h.jsonl"], capsys)
    assert rc == 0 and [r["id"] for r in _rows(tmp_path / "h.jsonl")] == ["first"]


def test_non_utf8_bytes_are_an_error_not_a_changed_id(tmp_path, capsys):
    m = tmp_path / "m.jsonl"
    m.write_bytes(b'{"id": "caf\xe9", "audio": "' + str(FLAC).encode() + b'"}\n')
    scp = tmp_path / "wav.scp"
    scp.write_bytes(b"caf\xe9 " + str(FLAC).encode() + b"\n")
    rc, err = _decode(["-i", m, scp, "-o", tmp_path / "h.jsonl"], capsys)
    assert rc == 1 and not _rows(tmp_path / "h.jsonl")
    assert [e.split("error: ")[1] for e in _errors(err)] == [f"{m}:1: not UTF-8 text (save the file as UTF-8)",
                                                             f"{scp}:1: not UTF-8 text (save the file as UTF-8)"]


@pytest.mark.parametrize("name", ["m.jsonl", "wav.scp"])
def test_an_empty_list_is_an_error_and_exit_1(tmp_path, capsys, name):
    (tmp_path / name).write_text("\n  \n")
    rc, err = _decode(["-i", tmp_path / name, "-o", tmp_path / "h.jsonl"], capsys)
    assert rc == 1 and len(_errors(err)) == 1 and f"{tmp_path / name}: empty" in err


def test_folder_ids_are_unique(tmp_path, capsys):
    data, sr = sf.read(FLAC)
    (tmp_path / "in" / "sub").mkdir(parents=True)
    for name in ("good1.flac", "good1.wav", "sub/x.flac", "sub_x.flac", "other.wav"):
        sf.write(tmp_path / "in" / name, data, sr)
    rc, err = _decode(["-i", tmp_path / "in", "-o", tmp_path / "h.jsonl"], capsys)
    assert rc == 0 and not _errors(err)
    assert sorted(r["id"] for r in _rows(tmp_path / "h.jsonl")) == [
        "good1.flac", "good1.wav", "other", "sub/x.flac", "sub_x.flac"]


def test_a_truncated_wav_is_reported(tmp_path, capsys):
    data, sr = sf.read(FLAC)
    sf.write(tmp_path / "whole.wav", data, sr, subtype="PCM_16")
    raw = (tmp_path / "whole.wav").read_bytes()
    (tmp_path / "cut.wav").write_bytes(raw[: len(raw) // 2])  # a copy cut off mid-data
    rc, err = _decode(["-i", tmp_path / "cut.wav", tmp_path / "whole.wav", "-o", tmp_path / "h.jsonl"], capsys)
    assert rc == 1 and [r["id"] for r in _rows(tmp_path / "h.jsonl")] == ["whole"]
    assert len(_errors(err)) == 1 and "cut.wav: truncated WAV file (the header declares 3.41 s" in err


def test_relative_audio_paths(tmp_path, capsys, monkeypatch):
    """JSONL: relative to the manifest's folder; wav.scp: relative to the working directory (README)."""
    (tmp_path / "data").mkdir()
    shutil.copy(FLAC, tmp_path / "data" / "a.flac")
    (tmp_path / "data" / "m.jsonl").write_text(json.dumps({"id": "j", "audio": "a.flac"}) + "\n")
    (tmp_path / "data" / "wav.scp").write_text("s data/a.flac\n")
    monkeypatch.chdir(tmp_path)
    rc, _ = _decode(["-i", "data/m.jsonl", "data/wav.scp", "-o", "h.jsonl"], capsys)
    assert rc == 0 and [r["id"] for r in _rows(tmp_path / "h.jsonl")] == ["j", "s"]


def test_leading_dash_file_names_after_double_dash(tmp_path, capsys, monkeypatch):
    shutil.copy(FLAC, tmp_path / "-take1.flac")
    monkeypatch.chdir(tmp_path)
    rc, _ = _decode(["-o", "h.jsonl", "--", "-take1.flac"], capsys)
    assert rc == 0 and [r["id"] for r in _rows(tmp_path / "h.jsonl")] == ["-take1"]


# ---- flags ---------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("flag", [["--threads", "0"], ["--batch-size", "0"], ["--batch-size", "-1"]])
def test_impossible_numbers_are_refused(tmp_path, capsys, flag):
    with pytest.raises(SystemExit) as exit_:
        main(["decode", "-q", "-i", str(FLAC), "-o", str(tmp_path / "h.jsonl"), *flag])
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and err.count("\n") == 1 and f"argument {flag[0]}: must be at least 1" in err
    assert not (tmp_path / "h.jsonl").exists()


@pytest.mark.parametrize("cfg, key", [({"lm_weight": "high"}, "lm_weight"), ({"beam": "8"}, "beam"),
                                      ({"method": "beam", "beem": 4}, "beem"), ([1, 2], "list")])
def test_decode_config_types_and_keys(tmp_path, capsys, cfg, key):
    (tmp_path / "c.json").write_text(json.dumps(cfg))
    rc, err = _decode(["-i", FLAC, "-o", tmp_path / "h.jsonl", "--config", tmp_path / "c.json"], capsys)
    assert rc == 2 and len(_errors(err)) == 1 and f"{tmp_path / 'c.json'}: " in err and key in err


# ---- model folders -------------------------------------------------------------------------------------------------
@pytest.fixture
def model_copy(tmp_path):
    folder = tmp_path / "model"
    shutil.copytree(CTC, folder)
    return folder


@pytest.mark.parametrize("damage", ["truncated_weights", "config_list", "config_type", "config_unknown_key"])
def test_a_damaged_model_folder_is_one_line(model_copy, tmp_path, capsys, damage):
    cfg = json.loads((model_copy / "config.json").read_text())
    if damage == "truncated_weights":
        w = model_copy / "model.safetensors"
        w.write_bytes(w.read_bytes()[: w.stat().st_size // 2])
        want = "model.safetensors: unreadable safetensors"
    elif damage == "config_list":
        (model_copy / "config.json").write_text("[1, 2]")
        want = "config.json: a model config is a JSON object, not a list"
    elif damage == "config_type":
        (model_copy / "config.json").write_text(json.dumps({**cfg, "vocab_size": "500"}))
        want = "config.json: 'vocab_size' must be an integer"
    else:  # a key the encoder does not have would silently build another model if it were dropped
        cfg["encoder"]["normalize_before"] = False
        (model_copy / "config.json").write_text(json.dumps(cfg))
        want = "config.json: encoder: unknown key 'normalize_before'"
    rc, err = _decode(["-m", model_copy, "-i", FLAC, "-o", tmp_path / "h.jsonl"], capsys)
    assert rc == 2 and len(_errors(err)) == 1 and want in err, err


def test_every_config_loader_refuses_unknown_keys():
    from asrkit.encoder import SANMConfig
    from asrkit.encoder.hertz import HertzCodecConfig
    from asrkit.models.ctc import CTCModelConfig
    from asrkit.models.speech_llm.config import SpeechLLMConfig

    for load, obj in [(SANMConfig.from_dict, {"normalize_before": False}),
                      (HertzCodecConfig.from_dict, {"normalize_before": False}),
                      (lambda d: CTCModelConfig.from_dict({"model_type": "sanm_ctc", "vocab_size": 9, **d}),
                       {"normalize_before": False}),
                      (lambda d: SpeechLLMConfig.from_dict({"model_type": "speech_llm", **d}),
                       {"normalize_before": False})]:
        with pytest.raises(UserError, match="unknown key 'normalize_before'"):
            load(obj)


# ---- LMs -------------------------------------------------------------------------------------------------------------
def test_a_corrupt_arpa_is_one_line(tmp_path, capfd):
    arpa = tmp_path / "bad.arpa"
    # no <unk> (KenLM's C++ warns about that on fd 2) and a unigram line without its tab
    arpa.write_text("\\data\\\nngram 1=3\nngram 2=1\n\n\\1-grams:\n-1.0\t<s>\n-1.0\t</s>\n-0.5 hello\n\n"
                    "\\2-grams:\n-0.3\t<s> hello\n\n\\end\\\n")
    rc = main(["decode", "-q", "-i", str(FLAC), "-o", str(tmp_path / "h.jsonl"), "--method", "shallow_fusion",
               "--lm", str(arpa)])
    err = capfd.readouterr().err
    assert rc == 2 and err.count("\n") == 1, err
    assert "cannot load n-gram LM: Expected tab after probability in the 1-gram at byte" in err
    assert "lm::" not in err and "threw" not in err


# ---- training: no code execution, bundled names -------------------------------------------------------------------
class _RunsCode:
    """Unpickling this calls os.system: a checkpoint that would run code when loaded with weights_only=False."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


@pytest.fixture(scope="module")
def train_setup(tmp_path_factory):
    """A training config of the bundled model's shape (1 epoch) and two bundled samples as its manifest."""
    d = tmp_path_factory.mktemp("train")
    cfg = json.loads((ROOT / "egs" / "bible" / "conf" / "ctc_small_stage2.json").read_text())
    cfg["optim"]["epochs"] = 1
    (d / "cfg.json").write_text(json.dumps(cfg))
    rows = [json.loads(x) for x in (SAMPLES / "samples.jsonl").read_text().splitlines()][:2]
    (d / "train.jsonl").write_text("".join(json.dumps({**r, "audio": str(SAMPLES / r["audio"])}) + "\n"
                                           for r in rows))
    return d


def _train(setup: Path, exp: Path, *extra) -> list[str]:
    return ["train", "--config", str(setup / "cfg.json"), "--train", str(setup / "train.jsonl"), "-o",
            str(exp), "--nj", "1", "--feats-dir", str(setup / "feats"), "--stop-after-epoch", "0", *map(str, extra)]


def test_train_init_and_resume_never_unpickle_code(train_setup, tmp_path, capsys):
    marker = tmp_path / "code-ran"
    evil = tmp_path / "evil.pt"
    with open(evil, "wb") as f:
        pickle.dump({"model": _RunsCode(marker)}, f)
    for name in ("tokenizer.model", "am.mvn"):  # what --init copies from next to the weights
        shutil.copy(CTC / name, tmp_path / name)
    capsys.readouterr()
    assert main(_train(train_setup, tmp_path / "exp1", "--init", evil)) == 2
    err = capsys.readouterr().err
    assert len(_errors(err)) == 1 and "evil.pt: refused" in err and "could run code" in err
    exp = tmp_path / "exp2"
    exp.mkdir()
    shutil.copy(evil, exp / "checkpoint.pt")
    assert main(_train(train_setup, exp, "--resume")) == 2
    err = capsys.readouterr().err
    assert len(_errors(err)) == 1 and "checkpoint.pt: refused" in err
    assert not marker.exists()


def test_train_init_takes_a_bundled_model_name(train_setup, tmp_path, capsys):
    assert main(_train(train_setup, tmp_path / "exp", "--init", "bible-en-ctc-small")) == 0
    log = (tmp_path / "exp" / "train.log").read_text()
    assert f"initialised from {CTC}" in log
    assert (tmp_path / "exp" / "tokenizer.model").read_bytes() == (CTC / "tokenizer.model").read_bytes()


def test_old_training_checkpoints_load_tensors_only(trained):
    """checkpoint.pt files written before (torch.save of state dicts, numbers, history, RNG) load with
    weights_only=True, so runs started earlier (the speech LLM's too: the same Bookkeeping) still resume."""
    from asrkit.utils.safe_load import load_torch

    folder, trainer = trained
    state = load_torch(folder / "exp" / "checkpoint.pt")
    assert {"model", "opt", "sched", "epoch", "batch_in_epoch", "step", "history", "rng"} <= set(state)


# ---- speech LLM ------------------------------------------------------------------------------------------------------
def test_speech_llm_short_clip_is_its_own_error_and_quiet_is_quiet(tmp_path, capfd):
    sf.write(tmp_path / "blip.wav", 0.1 * np.random.default_rng(0).standard_normal(1000).astype(np.float32), 16000)
    rc = main(["decode", "-q", "-m", "bible-en-speechllm-tiny", "-i", str(tmp_path / "blip.wav"), str(FLAC),
               "-o", str(tmp_path / "h.jsonl")])
    err = capfd.readouterr().err
    assert rc == 1 and [r["id"] for r in _rows(tmp_path / "h.jsonl")] == ["en-Mark.2.6"]
    assert _errors(err) == [f"asrkit decode: error: {tmp_path / 'blip.wav'}: audio too short for this speech LLM "
                            "(0.062 s gives no audio embedding)"]
    assert "Loading weights" not in err and "%|" not in err  # -q: no progress bar from transformers either
