"""CTC recognizer: front end -> SANM encoder -> linear CTC head over BPE units.

Two front ends (``frontend`` in config.json):

- paraformer (default; the dict of fbank/LFR settings, no ``type`` key): fbank -> LFR 7/6 -> CMVN, 60 ms frames.
- hertz (``{"type": "hertz", "codec": {...}, "upsample": 2}``): raw audio -> frozen hertz-codec encoder ->
  mu latents (32 dims, 8 Hz) -> CMVN + upsampling projection -> SANM (see hertz_frontend.py).

Saved as a ``save_pretrained``-style folder::

    config.json          model type, front end, encoder and vocabulary settings
    model.safetensors    weights; keys ``encoder.*`` (FunASR names) and ``ctc.ctc_lo.*``; with the hertz
                         front end also ``codec.*`` (official hertz key names, weight norm folded) and
                         ``upsample.proj.*``
    tokenizer.model      sentencepiece BPE, id 0 = blank
    am.mvn               Kaldi nnet CMVN, as in Paraformer/MooER releases (of the 32-dim latents for hertz)
    README.md            model card (optional)
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import torch
from safetensors.torch import save_file
from torch import nn

from asrkit.encoder import SANMConfig, SANMEncoder
from asrkit.encoder.hertz import HertzCodecEncoder
from asrkit.errors import UserError
from asrkit.frontend import Frontend, FrontendConfig, GlobalCMVN
from asrkit.models.hertz_frontend import FRONTEND_TYPES, HertzFrontend, HertzFrontendConfig, LatentUpsampler
from asrkit.tokenizer import Tokenizer
from asrkit.utils.config_io import from_dict, json_kind, read_json_object
from asrkit.utils.safe_load import load_safetensors

MODEL_TYPE = "sanm_ctc"


def frontend_config_from_dict(d: dict | str, where: str = "config.json") -> FrontendConfig | HertzFrontendConfig:
    """``"paraformer"``/``"hertz"`` (defaults) or a dict; a dict without ``type`` is the Paraformer fbank/LFR one."""
    if isinstance(d, str):
        d = {"type": d}
    if not isinstance(d, dict):
        raise UserError(f"{where}: frontend must be an object or one of {FRONTEND_TYPES}")
    d = dict(d)
    kind = d.get("type", "paraformer")
    if kind == "hertz":
        return HertzFrontendConfig.from_dict(d, f"{where}: frontend")
    if kind != "paraformer":
        raise UserError(f"{where}: unknown frontend type {kind!r} (available: {', '.join(FRONTEND_TYPES)})")
    d.pop("type", None)
    return FrontendConfig.from_dict(d, f"{where}: frontend")


@dataclass
class CTCModelConfig:
    vocab_size: int
    encoder: SANMConfig = field(default_factory=SANMConfig)
    frontend: FrontendConfig | HertzFrontendConfig = field(default_factory=FrontendConfig)
    model_type: str = MODEL_TYPE

    @property
    def frontend_type(self) -> str:
        return "hertz" if isinstance(self.frontend, HertzFrontendConfig) else "paraformer"

    def to_dict(self) -> dict:
        return {
            "model_type": self.model_type,
            "vocab_size": self.vocab_size,
            "encoder": self.encoder.to_dict(),
            "frontend": self.frontend.to_dict(),
        }

    @classmethod
    def from_dict(cls, d: dict, where: str = "config.json") -> CTCModelConfig:
        """Unknown keys and wrong types are refused, naming ``where`` and the key (asrkit/utils/config_io.py)."""
        if not isinstance(d, dict):
            raise UserError(f"{where}: expected a JSON object, got {json_kind(d)}")
        if d.get("model_type") != MODEL_TYPE:
            raise UserError(f"{where}: model_type {d.get('model_type')!r} is not {MODEL_TYPE!r}")
        d = dict(d)
        frontend = frontend_config_from_dict(d.pop("frontend", {}), where)
        encoder = SANMConfig.from_dict(d.pop("encoder", {}), f"{where}: encoder")
        if "vocab_size" not in d:
            raise UserError(f"{where}: no vocab_size")
        config = from_dict(cls, d, where)
        config.encoder, config.frontend = encoder, frontend
        if config.vocab_size < 2:
            raise UserError(f"{where}: vocab_size must be at least 2, not {config.vocab_size}")
        return config


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
        self.codec: HertzCodecEncoder | None = None
        if isinstance(config.frontend, HertzFrontendConfig):
            hz = config.frontend
            # Frozen by design (its outputs can then be cached); a trainer may unfreeze codec.compressor.
            self.codec = HertzCodecEncoder(hz.codec).requires_grad_(False)
            self.upsample = LatentUpsampler(hz.codec.latent_dim, config.encoder.input_size, hz.upsample, cmvn)
            self.frontend: Frontend | HertzFrontend = HertzFrontend(hz, cmvn)
        else:
            self.frontend = Frontend(config.frontend, cmvn)
        self.encoder = SANMEncoder(config.encoder)
        self.ctc = CTCHead(config.encoder.output_size, config.vocab_size)
        self.tokenizer = tokenizer
        if tokenizer is not None and tokenizer.vocab_size != config.vocab_size:
            raise UserError(
                f"{tokenizer.path}: tokenizer has {tokenizer.vocab_size} units but the model has {config.vocab_size}"
            )

    def forward(self, feats: torch.Tensor, lengths: torch.Tensor,
                inputs: str = "frontend") -> tuple[torch.Tensor, torch.Tensor]:
        """Front-end output -> CTC log-probabilities (B, T', V) in float32, and T' per item.

        paraformer: normalised LFR features (B, T, 560), T in 60 ms frames; T' = T.
        hertz: ``inputs="frontend"``: audio frames from HertzFrontend (B, T, 2000), T in latents;
        ``inputs="hidden"``: cached codec encoder outputs (B, T, 256) (asrkit/train/latents.py);
        ``inputs="latents"``: mu (B, T, 32). T' = upsample * T.
        """
        if self.codec is not None:
            feats, lengths = self.hertz_embed(feats, lengths, inputs)
        enc, enc_lens = self.encoder(feats, lengths)
        return torch.log_softmax(self.ctc(enc).float(), dim=-1), enc_lens

    def hertz_embed(self, x: torch.Tensor, lengths: torch.Tensor, inputs: str = "frontend"
                    ) -> tuple[torch.Tensor, torch.Tensor]:
        """hertz front end inside the model: audio frames / codec hidden / mu -> upsampled encoder input."""
        if inputs == "frontend":
            x = self.codec.hidden(x.reshape(x.size(0), -1))
            inputs = "hidden"
        if inputs == "hidden":
            x = self.codec.compressor(x)[0]
        elif inputs != "latents":
            raise ValueError(f"inputs must be 'frontend', 'hidden' or 'latents', not {inputs!r}")
        return self.upsample(x, lengths)

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
        cfg_path = folder / "config.json"
        config = CTCModelConfig.from_dict(read_json_object(cfg_path, "model config"), str(cfg_path))
        model = cls(config, Tokenizer(folder / "tokenizer.model"), GlobalCMVN.from_file(folder / "am.mvn"))
        state = load_safetensors(folder / "model.safetensors")
        # CMVN buffers are not in the state dict: they come from am.mvn.
        try:
            result = model.load_state_dict({k: v.float() for k, v in state.items()}, strict=False)
        except RuntimeError as err:  # a tensor of another shape than config.json gives
            detail = next((x.strip() for x in str(err).splitlines() if "size mismatch" in x), str(err)[:160])
            raise UserError(f"{folder / 'model.safetensors'}: does not match config.json ({detail})") from None
        if result.missing_keys or result.unexpected_keys:
            raise UserError(
                f"{folder / 'model.safetensors'}: keys do not match config.json "
                f"(missing {result.missing_keys[:5]}, unexpected {result.unexpected_keys[:5]})"
            )
        return model.eval()
