"""Speech-LLM side training from the command line: `asrkit speech-llm pretrain` (a tiny Qwen2 on text) through
the one epoch loop, resuming, and the old `python -m` entry points of both speech-LLM trainers
(the speech-LLM trainer itself runs end to end in tests/test_speech_llm.py)."""

import json
import subprocess
import sys

from asrkit.cli.main import main
from asrkit.train.precision import describe_precision
from tests.conftest import SPEECH_LLM_CORPUS

CONFIG = {"model": {"vocab_size": 300, "hidden_size": 32, "num_hidden_layers": 1, "num_attention_heads": 2,
                    "num_key_value_heads": 1, "intermediate_size": 64, "max_position_embeddings": 128},
          "optim": {"epochs": 3, "lr": 3e-3, "block_size": 32, "batch_blocks": 4, "log_every": 5, "save_every": 4,
                    "warmup_steps": 4}}


def _setup(tmp_path):
    (tmp_path / "t.txt").write_text("\n".join(SPEECH_LLM_CORPUS * 40) + "\n")
    (tmp_path / "d.jsonl").write_text("".join(json.dumps({"id": i, "text": t}) + "\n"
                                              for i, t in enumerate(SPEECH_LLM_CORPUS)))
    (tmp_path / "cfg.json").write_text(json.dumps(CONFIG))
    return ["speech-llm", "pretrain", "--config", str(tmp_path / "cfg.json"), "--text", str(tmp_path / "t.txt"),
            "--dev", f"{tmp_path / 'd.jsonl'}:text", "-q"]


def test_llm_pretrain_learns_and_resumes(tmp_path, capsys):
    argv = _setup(tmp_path)
    assert main([*argv, "--exp", str(tmp_path / "exp"), "-o", str(tmp_path / "llm")]) == 0
    assert capsys.readouterr().out == ""  # -q: the log goes to EXP/train.log only
    history = json.loads((tmp_path / "llm" / "train_history.json").read_text())
    ppl = [h["dev_ppl"] for h in history]
    assert [h["epoch"] for h in history] == [1, 2, 3] and ppl[-1] < ppl[0] / 2, ppl
    assert (tmp_path / "llm" / "tokenizer.json").exists() and (tmp_path / "llm" / "model.safetensors").exists()
    log = (tmp_path / "exp" / "train.log").read_text()
    assert "loss/token" in log and "end of epoch 3" in log
    assert f"; precision: {describe_precision('cpu', CONFIG['optim'].get('amp', 'bf16'))}\n" in log
    # --resume after the last epoch trains nothing more and writes the same model again.
    weights = (tmp_path / "llm" / "model.safetensors").read_bytes()
    assert main([*argv, "--exp", str(tmp_path / "exp"), "-o", str(tmp_path / "llm2"), "--resume"]) == 0
    assert "resumed from" in (tmp_path / "exp" / "train.log").read_text()
    assert (tmp_path / "llm2" / "model.safetensors").read_bytes() == weights


def test_old_module_entry_point_runs_the_sub_command(tmp_path):
    """Recipes call `python -m asrkit.models.speech_llm.lm_pretrain`: the same command, errors on stderr."""
    res = subprocess.run([sys.executable, "-m", "asrkit.models.speech_llm.lm_pretrain", "--text",
                          str(tmp_path / "none.txt"), "--exp", str(tmp_path / "e"), "--output", str(tmp_path / "o")],
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 2 and res.stdout == ""
    assert res.stderr.strip() == f"asrkit speech-llm: error: {tmp_path / 'none.txt'}: no such text file"


def test_old_speech_llm_train_entry_point_runs_the_sub_command(tmp_path):
    res = subprocess.run([sys.executable, "-m", "asrkit.models.speech_llm.train", "--encoder-model", str(tmp_path),
                          "--llm", str(tmp_path), "--data", f"{tmp_path / 'none.jsonl'}:asr", "--exp",
                          str(tmp_path / "e")], capture_output=True, text=True, timeout=120)
    assert res.returncode == 2 and res.stdout == ""
    assert res.stderr.strip() == f"asrkit speech-llm: error: {tmp_path}: not a CTC model folder (missing config.json)"
