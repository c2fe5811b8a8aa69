"""Training configuration: one JSON file holding the model shape and the optimisation settings."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

from asrkit.encoder import SANMConfig
from asrkit.encoder.hertz import HertzCodecConfig
from asrkit.errors import UserError
from asrkit.frontend import FrontendConfig
from asrkit.tokenizer.spm import UNIT_TYPES
from asrkit.utils.config_io import from_dict, load_config


@dataclass
class OptimConfig:
    epochs: int = 10
    lr: float = 1e-3
    warmup_steps: int = 400
    final_lr_ratio: float = 0.05  # cosine decay ends at lr * final_lr_ratio
    weight_decay: float = 0.01
    max_frames: int = 4000  # padded input frames per batch: LFR frames (60 ms) or, for hertz, latents (125 ms)
    grad_clip: float = 5.0
    max_duration: float = 20.0  # training utterances longer than this are skipped
    specaug: bool = True
    amp: str = "bf16"  # "bf16" autocast where the device has native bf16 (else float32), or "none"
    seed: int = 0
    save_every: int = 100  # steps between resumable checkpoints
    average_last: int = 3  # final model = mean of the last N epochs' weights
    log_every: int = 20


@dataclass
class HertzTrainConfig:
    """The hertz front end for training (``"frontend": "hertz"``). The codec encoder is frozen, so its
    outputs are computed once into a cache (asrkit/train/latents.py)."""

    codec: HertzCodecConfig = field(default_factory=HertzCodecConfig)
    codec_checkpoint: str | None = None  # official inference_apatosaurus_95000.pt; None: random init with codec_seed
    codec_seed: int = 0
    upsample: int = 2  # encoder frames per latent
    train_proj_in: bool = False  # also train GaussianZ proj_in (h -> mu) with the CTC loss
    specaug_channels: int = 16  # widest SpecAugment channel mask on the 256-dim cached codec output

    def to_dict(self) -> dict:
        return {**asdict(self), "codec": self.codec.to_dict()}

    @classmethod
    def from_dict(cls, d: dict, where: str = "hertz training config") -> HertzTrainConfig:
        return from_dict(cls, d, where)


@dataclass
class TrainConfig:
    vocab_size: int = 500  # BPE units; for "char" units an upper bound (every character of the text is a unit)
    units: str = "bpe"  # "bpe" (sentencepiece BPE) or "char" (one unit per character: Chinese)
    encoder: SANMConfig = field(default_factory=SANMConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    frontend: str = "paraformer"  # or "hertz" (then ``hertz`` holds its settings)
    # paraformer: 10 ms fbank frames per encoder frame (LFR n; 7 are stacked either way). 6 (60 ms) as
    # Paraformer; 3 (30 ms) for character units, which need more frames than BPE units: CTC needs a frame
    # per letter and a blank between doubled letters.
    lfr_n: int = FrontendConfig.lfr_n
    hertz: HertzTrainConfig = field(default_factory=HertzTrainConfig)

    @classmethod
    def load(cls, path: str | Path) -> TrainConfig:
        """Unknown keys and wrong types are refused, naming the file and the key (asrkit/utils/config_io.py)."""
        path = Path(path)
        cfg = load_config(cls, path, "training config")
        if cfg.units not in UNIT_TYPES:
            raise UserError(f"{path}: units must be one of {', '.join(UNIT_TYPES)}, not {cfg.units!r}")
        if cfg.frontend not in ("paraformer", "hertz"):
            raise UserError(f"{path}: frontend must be 'paraformer' or 'hertz', not {cfg.frontend!r}")
        if not 1 <= cfg.lfr_n <= FrontendConfig.lfr_m:
            raise UserError(f"{path}: lfr_n must be 1..{FrontendConfig.lfr_m} (frames stacked per encoder frame), "
                            f"not {cfg.lfr_n}")
        return cfg

    def to_dict(self) -> dict:
        d = {"vocab_size": self.vocab_size, "encoder": self.encoder.to_dict(), "optim": asdict(self.optim)}
        if self.units != "bpe":
            d["units"] = self.units
        if self.lfr_n != FrontendConfig.lfr_n:
            d["lfr_n"] = self.lfr_n
        if self.frontend != "paraformer":
            d.update(frontend=self.frontend, hertz=self.hertz.to_dict())
        return d
