"""Load the official hertz-dev checkpoints: ``inference_apatosaurus_95000.pt`` (codec) and
``inference_volcano_3.pt`` (latent quantizer); build a seeded random codec when there is none.

The codec checkpoint is a WaveCodec state dict (``encoder.*``, ``compressor.*``, ``decoder.*``) whose
convolutions and GaussianZ linears are weight-normalised (Salimans & Kingma, 2016), w = g * v / ||v||
with the norm over every dimension except dim 0. Two spellings exist:

    <layer>.parametrizations.weight.original0 / original1    (torch.nn.utils.parametrizations.weight_norm)
    <layer>.weight_g / <layer>.weight_v                      (the older torch.nn.utils.weight_norm)

Both are folded into a plain ``<layer>.weight``; a plain weight is accepted as is. Loading is strict:
every encoder and ``compressor.proj_in`` key must be there with its shape, and any other key is
refused, except the decoder side (``decoder.*``, ``compressor.proj_out.*``), which this encoder does
not build. hertz-dev itself loads the codec with ``strict=False``, which silently keeps random
weights when a name does not match (github.com/Standard-Intelligence/hertz-dev); here that is a UserError.
"""

from __future__ import annotations

from pathlib import Path

import torch

from asrkit.encoder.hertz.codec_encoder import HertzCodecEncoder
from asrkit.encoder.hertz.config import HertzCodecConfig
from asrkit.errors import UserError

WN_SPELLINGS = (
    ("parametrizations.weight.original0", "parametrizations.weight.original1"),
    ("weight_g", "weight_v"),
)
# Parts of a full WaveCodec checkpoint that feed only the audio decoder.
DECODER_PREFIXES = ("decoder.", "compressor.proj_out.")


def fold_weight_norm(g: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """w = g * v / ||v||, the norm over all dims except 0 (g has shape (out, 1, ...) or (out,))."""
    norm = v.float().flatten(1).norm(dim=1).view(-1, *([1] * (v.dim() - 1)))
    return g.float().reshape(norm.shape) * v.float() / norm


def fold_state_dict(state: dict[str, torch.Tensor], path: Path | str = "checkpoint") -> dict[str, torch.Tensor]:
    """Replace every weight-norm pair (either spelling) by the folded ``weight``; other keys pass through."""
    out: dict[str, torch.Tensor] = {}
    used: set[str] = set()
    for g_suffix, v_suffix in WN_SPELLINGS:
        for key in state:
            if not key.endswith("." + g_suffix):
                continue
            base = key[: -len(g_suffix)]
            v_key = base + v_suffix
            if v_key not in state:
                raise UserError(f"{path}: {key} has no matching {v_key}")
            w_key = base + "weight"
            if w_key in out or w_key in state:
                raise UserError(f"{path}: {w_key} is given in more than one spelling")
            out[w_key] = fold_weight_norm(state[key], state[v_key])
            used.update((key, v_key))
    for key, tensor in state.items():
        if key in used:
            continue
        if key.endswith(tuple("." + s for pair in WN_SPELLINGS for s in pair)):
            raise UserError(f"{path}: {key} has no matching weight-norm partner")
        out[key] = tensor
    return out


def _summarise(keys: list[str], limit: int = 5) -> str:
    return ", ".join(keys[:limit]) + (f", ... (+{len(keys) - limit} more)" if len(keys) > limit else "")


def read_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """torch.load a checkpoint (tensors only) and unwrap a ``state_dict``/``model`` nesting."""
    path = Path(path)
    if not path.exists():
        raise UserError(f"{path}: no such checkpoint")
    try:
        obj = torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception as err:
        raise UserError(f"{path}: cannot read checkpoint ({str(err).splitlines()[0][:120]})") from None
    for key in ("state_dict", "model"):
        if isinstance(obj, dict) and isinstance(obj.get(key), dict):
            obj = obj[key]
    if not isinstance(obj, dict) or not obj or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise UserError(f"{path}: not a state dict of tensors")
    return obj


def check_and_load(module: torch.nn.Module, state: dict[str, torch.Tensor], path: Path | str, what: str) -> None:
    """Strict load with a one-line UserError for missing/unexpected keys or shape mismatches."""
    own = module.state_dict()
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    if missing or unexpected:
        raise UserError(f"{path}: keys do not match the {what} (missing [{_summarise(missing)}]; "
                        f"unexpected [{_summarise(unexpected)}])")
    bad = [f"{k} {tuple(state[k].shape)} != {tuple(v.shape)}" for k, v in own.items() if state[k].shape != v.shape]
    if bad:
        raise UserError(f"{path}: shape mismatch for the {what}: {_summarise(bad, 3)}")
    module.load_state_dict({k: v.float() for k, v in state.items()}, strict=True)


def load_codec_checkpoint(codec: HertzCodecEncoder, path: str | Path) -> HertzCodecEncoder:
    """Load ``inference_apatosaurus_95000.pt`` (or any WaveCodec state dict) into ``codec``; returns it."""
    state = fold_state_dict(read_state_dict(path), path)
    state = {k: v for k, v in state.items() if not k.startswith(DECODER_PREFIXES)}
    cfg = codec.config
    check_and_load(codec, state, path, f"hertz codec encoder (channels {cfg.channels}, strides {list(cfg.strides)})")
    return codec


def build_codec(config: HertzCodecConfig | None = None, seed: int = 0,
                checkpoint: str | Path | None = None) -> HertzCodecEncoder:
    """A codec encoder in eval mode: from ``checkpoint`` if given, else PyTorch's default init drawn with ``seed``.

    The default init is also what an untrained official codec holds: its ``reset_parameters`` writes
    into the tensor a weight-norm parametrization recomputes on every access, so it changes nothing.
    The global RNG is left as it was.
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        codec = HertzCodecEncoder(config)
    if checkpoint is not None:
        load_codec_checkpoint(codec, checkpoint)
    return codec.eval()
