"""The recipe's checkpoint averaging of speech-LLM folders (egs/bible/local/average_speech_llm.py): trained
files averaged element-wise, everything else copied from the last folder, mismatches refused."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "egs" / "bible" / "local"))

from average_speech_llm import average  # noqa: E402


def _folder(root: Path, name: str, value: float, lora_shape=(4, 8)) -> Path:
    f = root / name
    (f / "lora").mkdir(parents=True)
    save_file({"proj.weight": torch.full((3, 2), value), "proj.bias": torch.full((3,), -value)},
              f / "adapter.safetensors")
    save_file({"lora_A": torch.full(lora_shape, 2 * value)}, f / "lora" / "adapter_model.safetensors")
    (f / "config.json").write_text(f'{{"name": "{name}"}}')
    return f


def test_average_of_two_folders(tmp_path):
    a, b = _folder(tmp_path, "a", 1.0), _folder(tmp_path, "b", 3.0)
    assert average([a, b], tmp_path / "avg") == ["adapter.safetensors", "lora/adapter_model.safetensors"]
    ad = load_file(tmp_path / "avg" / "adapter.safetensors")
    assert torch.equal(ad["proj.weight"], torch.full((3, 2), 2.0))
    assert torch.equal(ad["proj.bias"], torch.full((3,), -2.0))
    assert torch.equal(load_file(tmp_path / "avg" / "lora" / "adapter_model.safetensors")["lora_A"],
                       torch.full((4, 8), 4.0))
    assert (tmp_path / "avg" / "config.json").read_text() == '{"name": "b"}'  # the rest: the last folder's
    assert torch.equal(load_file(b / "adapter.safetensors")["proj.weight"], torch.full((3, 2), 3.0))  # inputs kept


def test_mismatches_are_refused_in_one_line(tmp_path):
    a, b = _folder(tmp_path, "a", 1.0), _folder(tmp_path, "b", 3.0, lora_shape=(4, 9))
    with pytest.raises(ValueError, match="not the same model"):
        average([a, b], tmp_path / "avg")
    assert not (tmp_path / "avg").exists()
    with pytest.raises(ValueError, match="at least two"):
        average([a], tmp_path / "avg")
    with pytest.raises(ValueError, match="exists"):
        average([a, a], b)
    script = Path(__file__).resolve().parents[1] / "egs" / "bible" / "local" / "average_speech_llm.py"
    run = subprocess.run([sys.executable, str(script), "-o", str(tmp_path / "x"), str(a), str(tmp_path / "nope")],
                         capture_output=True, text=True)
    assert run.returncode == 1 and len(run.stderr.strip().splitlines()) == 1 and "average_speech_llm:" in run.stderr
