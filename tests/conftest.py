import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
torch.set_num_threads(1)

from asrkit.encoder import SANMConfig  # noqa: E402
from asrkit.train.config import OptimConfig, TrainConfig  # noqa: E402
from asrkit.train.trainer import Trainer  # noqa: E402

os.environ.setdefault("HF_HUB_OFFLINE", "1")


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


SENTENCES = [
    "in the beginning god created the heavens and the earth",
    "the earth was formless and empty",
    "god said let there be light and there was light",
    "god saw the light and saw that it was good",
]


def synth(folder, voices=("en-us", "en-gb+m3")):
    if not shutil.which("espeak-ng") or not shutil.which("sox"):
        pytest.fail("espeak-ng and sox are required (run install.sh)")
    lines = []
    for i, text in enumerate(SENTENCES):
        for v in voices:
            uid = f"u{i}-{v.replace('+', '_')}"
            raw = folder / f"{uid}.raw.wav"
            subprocess.run(["espeak-ng", "-v", v, "-s", "160", "-w", str(raw), text], check=True)
            subprocess.run(["sox", "-G", str(raw), "-r", "16000", "-c", "1", "-b", "16", str(folder / f"{uid}.wav")],
                           check=True)
            raw.unlink()
            lines.append({"id": uid, "audio": f"{uid}.wav", "text": text})
    manifest = folder / "m.jsonl"
    manifest.write_text("".join(json.dumps(x) + "\n" for x in lines))
    return manifest


@pytest.fixture(scope="session")
def trained(tmp_path_factory):
    """A tiny CTC model trained for real on espeak-ng speech: (folder, Trainer)."""
    folder = tmp_path_factory.mktemp("ctc")
    manifest = synth(folder)
    cfg = TrainConfig(
        vocab_size=40,
        encoder=SANMConfig(output_size=48, attention_heads=2, linear_units=96, num_blocks=2, dropout_rate=0.0,
                           positional_dropout_rate=0.0, attention_dropout_rate=0.0),
        optim=OptimConfig(epochs=25, lr=3e-3, warmup_steps=10, max_frames=300, specaug=False, save_every=1000,
                          log_every=1000, average_last=1),
    )
    trainer = Trainer(cfg, str(manifest), str(manifest), str(folder / "exp"), nj=1)
    trainer.train()
    return folder, trainer


