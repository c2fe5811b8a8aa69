"""CTC recognizer: front end (fbank/LFR/CMVN) -> SANM encoder -> linear CTC head over BPE units.

Saved as a ``save_pretrained``-style folder::

    config.json          model type, front end, encoder and vocabulary settings
    model.safetensors    weights; keys ``encoder.*`` (FunASR names) and ``ctc.ctc_lo.*``
    tokenizer.model      sentencepiece BPE, id 0 = blank
    am.mvn               Kaldi nnet CMVN, as in Paraformer/MooER releases
    README.md            model card (optional)
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file
from torch import nn

from asrkit.encoder import SANMConfig, SANMEncoder
from asrkit.errors import UserError
from asrkit.frontend import Frontend, FrontendConfig, GlobalCMVN
from asrkit.tokenizer import Tokenizer

MODEL_TYPE = "sanm_ctc"


@dataclass
class CTCModelConfig:
    vocab_size: int
    encoder: SANMConfig = field(default_factory=SANMConfig)
    frontend: FrontendConfig = field(default_factory=FrontendConfig)
    model_type: str = MODEL_TYPE

    def to_dict(self) -> dict:
        return {
            "model_type": self.model_type,
            "vocab_size": self.vocab_size,
            "encoder": self.encoder.to_dict(),
            "frontend": self.frontend.to_dict(),
        }

    @classmethod
    def from_dict(cls, d: dict) -> CTCModelConfig:
        if d.get("model_type") != MODEL_TYPE:
            raise UserError(f"config.json: model_type {d.get('model_type')!r} is not {MODEL_TYPE!r}")
        return cls(
            vocab_size=int(d["vocab_size"]),
            encoder=SANMConfig.from_dict(d.get("encoder", {})),
            frontend=FrontendConfig.from_dict(d.get("frontend", {})),
        )


class CTCHead(nn.Module):
    """Named ``ctc.ctc_lo`` as in FunASR so a Paraformer checkpoint's CTC branch would fit."""

    def __init__(self, dim: int, vocab_size: int):
        super().__init__()
        self.ctc_lo = nn.Linear(dim, vocab_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.ctc_lo(x)


class CTCModel(nn.Module):
    def __init__(self, config: CTCModelConfig, tokenizer: Tokenizer | None = None, cmvn: GlobalCMVN | None = None):
        super().__init__()
        self.config = config
        self.encoder = SANMEncoder(config.encoder)
        self.ctc = CTCHead(config.encoder.output_size, config.vocab_size)
        self.tokenizer = tokenizer
        self.frontend = Frontend(config.frontend, cmvn)
        if tokenizer is not None and tokenizer.vocab_size != config.vocab_size:
            raise UserError(
                f"{tokenizer.path}: tokenizer has {tokenizer.vocab_size} units but the model has {config.vocab_size}"
            )

    def forward(self, feats: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Normalised LFR features (B, T, D) -> CTC log-probabilities (B, T, V) in float32, lengths."""
        enc, enc_lens = self.encoder(feats, lengths)
        return torch.log_softmax(self.ctc(enc).float(), dim=-1), enc_lens

    # ---- save_pretrained / from_pretrained -------------------------------------------------
    def save_pretrained(self, folder: str | Path, dtype: torch.dtype = torch.float32) -> None:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "config.json").write_text(json.dumps(self.config.to_dict(), indent=2) + "\n")
        state = {k: v.detach().to(dtype).contiguous() for k, v in self.state_dict().items()}
        save_file(state, str(folder / "model.safetensors"), metadata={"format": "pt"})
        if self.tokenizer is not None:
            (folder / "tokenizer.model").write_bytes(Path(self.tokenizer.path).read_bytes())
        if self.frontend.cmvn is not None:
            self.frontend.cmvn.save(folder / "am.mvn")

    @classmethod
    def from_pretrained(cls, folder: str | Path) -> CTCModel:
        folder = Path(folder)
        for name in ("config.json", "model.safetensors", "tokenizer.model", "am.mvn"):
            if not (folder / name).exists():
                raise UserError(f"{folder}: not a CTC model folder (missing {name})")
        try:
            cfg_dict = json.loads((folder / "config.json").read_text())
        except json.JSONDecodeError as err:
            raise UserError(f"{folder / 'config.json'}: invalid JSON ({err})") from None
        config = CTCModelConfig.from_dict(cfg_dict)
        model = cls(config, Tokenizer(folder / "tokenizer.model"), GlobalCMVN.from_file(folder / "am.mvn"))
        state = load_file(str(folder / "model.safetensors"))
        # CMVN buffers are not in the state dict: they come from am.mvn.
        result = model.load_state_dict({k: v.float() for k, v in state.items()}, strict=False)
        if result.missing_keys or result.unexpected_keys:
            raise UserError(
                f"{folder / 'model.safetensors'}: keys do not match config.json "
                f"(missing {result.missing_keys[:5]}, unexpected {result.unexpected_keys[:5]})"
            )
        return model.eval()
