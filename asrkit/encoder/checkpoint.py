"""Load real Paraformer encoder weights: FunASR ``model.pt`` or MooER ``paraformer-encoder.pth``.

FunASR stores the encoder under ``encoder.`` (possibly nested in ``state_dict`` or ``model``);
MooER stores a bare SANMEncoder state dict. Loading is strict: a key set that does not match the
configured encoder is refused with the missing and unexpected keys listed, because a lenient
load (MooER's own ``strict=False``) silently leaves a random encoder.
"""

from __future__ import annotations

from pathlib import Path

import torch

from asrkit.encoder.sanm import SANMEncoder
from asrkit.errors import UserError

# Non-encoder parts of a full Paraformer checkpoint, ignored when only the encoder is wanted.
_OTHER_PREFIXES = ("decoder.", "predictor.", "ctc.", "criterion_att.", "embed.")


def _unwrap(obj: object, path: Path) -> dict[str, torch.Tensor]:
    if isinstance(obj, dict):
        for key in ("state_dict", "model"):
            if key in obj and isinstance(obj[key], dict):
                return _unwrap(obj[key], path)
        if all(isinstance(v, torch.Tensor) for v in obj.values()):
            return obj
    raise UserError(f"{path}: not a state dict of tensors")


def encoder_state_dict(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Extract the SANM encoder's own keys from a FunASR (prefixed) or MooER (bare) state dict."""
    if any(k.startswith("encoder.") for k in state):
        return {k[len("encoder."):]: v for k, v in state.items() if k.startswith("encoder.")}
    return {k: v for k, v in state.items() if not k.startswith(_OTHER_PREFIXES)}


def _summarise(keys: list[str], limit: int = 6) -> str:
    shown = ", ".join(keys[:limit])
    return shown + (f", ... (+{len(keys) - limit} more)" if len(keys) > limit else "")


def load_encoder_weights(encoder: SANMEncoder, path: str | Path) -> None:
    """Load a FunASR/MooER checkpoint into ``encoder``; refuse on any key or shape mismatch."""
    path = Path(path)
    if not path.exists():
        raise UserError(f"{path}: no such checkpoint")
    try:
        raw = torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception as err:
        raise UserError(f"{path}: cannot read checkpoint ({str(err).splitlines()[0][:120]})") from None
    state = encoder_state_dict(_unwrap(raw, path))
    own = encoder.state_dict()
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    if missing or unexpected:
        raise UserError(
            f"{path}: encoder keys do not match the configured SANM encoder "
            f"(num_blocks={encoder.config.num_blocks}, output_size={encoder.config.output_size}); "
            f"missing [{_summarise(missing)}]; unexpected [{_summarise(unexpected)}]"
        )
    bad = [f"{k} {tuple(state[k].shape)} != {tuple(v.shape)}" for k, v in own.items() if state[k].shape != v.shape]
    if bad:
        raise UserError(f"{path}: shape mismatch: {_summarise(bad, 3)}")
    encoder.load_state_dict({k: v.float() for k, v in state.items()}, strict=True)
