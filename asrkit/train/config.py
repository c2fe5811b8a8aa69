"""Training configuration: one JSON file holding the model shape and the optimisation settings."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from asrkit.encoder import SANMConfig
from asrkit.errors import UserError


@dataclass
class OptimConfig:
    epochs: int = 10
    lr: float = 1e-3
    warmup_steps: int = 400
    final_lr_ratio: float = 0.05  # cosine decay ends at lr * final_lr_ratio
    weight_decay: float = 0.01
    max_frames: int = 4000  # padded LFR frames per batch (60 ms each)
    grad_clip: float = 5.0
    max_duration: float = 20.0  # training utterances longer than this are skipped
    specaug: bool = True
    amp: str = "bf16"  # "bf16" autocast (CPU and GPU) or "none"
    seed: int = 0
    save_every: int = 100  # steps between resumable checkpoints
    average_last: int = 3  # final model = mean of the last N epochs' weights
    log_every: int = 20


@dataclass
class TrainConfig:
    vocab_size: int = 500
    encoder: SANMConfig = field(default_factory=SANMConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)

    @classmethod
    def load(cls, path: str | Path) -> TrainConfig:
        path = Path(path)
        if not path.exists():
            raise UserError(f"{path}: no such config file")
        try:
            d = json.loads(path.read_text())
            return cls(
                vocab_size=int(d.get("vocab_size", 500)),
                encoder=SANMConfig.from_dict(d.get("encoder", {})),
                optim=OptimConfig(**d.get("optim", {})),
            )
        except (json.JSONDecodeError, TypeError) as err:
            raise UserError(f"{path}: invalid training config ({err})") from None

    def to_dict(self) -> dict:
        return {"vocab_size": self.vocab_size, "encoder": self.encoder.to_dict(), "optim": asdict(self.optim)}
