"""Training under torchrun with two CPU processes (DDP over gloo) produces a model folder."""

import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import free_port


def test_torchrun_two_processes(trained, tmp_path):
    folder, trainer = trained
    cfg = trainer.cfg.to_dict()
    cfg["optim"]["epochs"] = 2
    conf = tmp_path / "conf.json"
    conf.write_text(json.dumps(cfg))
    torchrun = Path(sys.executable).parent / "torchrun"
    res = subprocess.run(
        [str(torchrun), "--nproc_per_node", "2", "--master_addr", "127.0.0.1", "--master_port", str(free_port()),
         "-m", "asrkit.cli.main", "train", "--config", str(conf), "--train", str(folder / "m.jsonl"),
         "-o", str(tmp_path / "exp"), "--nj", "1"],
        capture_output=True, text=True, timeout=300,
    )
    assert res.returncode == 0, res.stderr[-2000:]
    assert (tmp_path / "exp" / "model" / "model.safetensors").exists()
    log = (tmp_path / "exp" / "train.log").read_text()
    assert "world 2" in log and "end of epoch 2" in log
