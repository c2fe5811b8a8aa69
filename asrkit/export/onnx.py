"""Export a CTC model folder to ONNX: the same folder layout with ``model.onnx`` in place of the weights.

The network exported is features -> encoder -> CTC head -> log-softmax (see
:mod:`asrkit.models.onnx_ctc` for the inputs and outputs); batch and time are dynamic axes. The front end
(fbank, LFR, CMVN) stays outside the graph: it is a few lines of signal processing that every deployment
already has (kaldi-native-fbank, FunASR's and sherpa-onnx's front ends compute the same features from the
same ``am.mvn``), and outside the graph its output can be checked against the PyTorch front end.
"""

from __future__ import annotations

import json
import shutil
import warnings
from pathlib import Path

import numpy as np
import torch

from asrkit.errors import UserError
from asrkit.inference.decode_config import MODEL_DEFAULTS
from asrkit.models.onnx_ctc import INPUTS, ONNX_FILE, OUTPUTS, OnnxCTCModel
from asrkit.models.registry import resolve_model_dir
from asrkit.utils.config_io import read_json_object

OPSET = 17


class _Network(torch.nn.Module):
    """The part of a CTCModel that goes into the graph: (features, lengths) -> (log_probs, out_lengths)."""

    def __init__(self, model: torch.nn.Module):
        super().__init__()
        self.model = model

    def forward(self, features: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.model(features, lengths)


def parity(model: torch.nn.Module, exported: OnnxCTCModel, seed: int = 0) -> float:
    """Largest |log p_onnx - log p_torch| over the valid frames of a padded batch of random features, at a
    batch size and length other than those the graph was traced with (so dynamic axes are exercised)."""
    gen = torch.Generator().manual_seed(seed)
    lengths = torch.tensor([71, 40, 9])
    feats = torch.randn(3, 71, model.config.encoder.input_size, generator=gen)
    with torch.inference_mode():
        ref, ref_len = model(feats, lengths)
    got, got_len = exported(feats, lengths)
    if not torch.equal(ref_len, got_len):
        raise RuntimeError(f"ONNX output lengths {got_len.tolist()} differ from PyTorch's {ref_len.tolist()}")
    mask = torch.arange(ref.size(1))[None, :] < ref_len[:, None]
    return float((got - ref).abs()[mask].max())


def export_onnx(model: str | Path | None, out: str | Path, opset: int = OPSET) -> dict:
    """Write ``out``/{config.json, tokenizer.model, am.mvn, model.onnx} (and the model's decoding.json, if it has
    one) from a CTC model folder or bundled name.

    Returns what was written and the largest log-probability difference against PyTorch (checked here).
    """
    from asrkit.models import CTCModel, load_model

    src = resolve_model_dir(None if model is None else str(model))
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise UserError(f"{out}: --output is a file; give a folder")
    if out.exists() and out.resolve() == src.resolve():
        raise UserError(f"{out}: --output is the model's own folder; give a new folder")
    if (out / "model.safetensors").exists():
        raise UserError(f"{out}: holds a PyTorch model (model.safetensors); give a new or empty folder")
    kind = read_json_object(src / "config.json", "model config").get("model_type") \
        if (src / "config.json").is_file() else None
    if kind != "sanm_ctc":
        raise UserError(f"{src}: only CTC models (model_type sanm_ctc) export to ONNX, not {kind!r}")
    net = load_model(src)
    if not isinstance(net, CTCModel):
        raise UserError(f"{src}: holds no PyTorch weights (model.safetensors) to export")
    if net.config.frontend_type != "paraformer":
        raise UserError(f"{src}: ONNX export supports the paraformer (fbank) front end, not {net.config.frontend_type}")
    out.mkdir(parents=True, exist_ok=True)
    (out / "config.json").write_text(json.dumps(net.config.to_dict(), indent=2) + "\n", encoding="utf-8")
    shutil.copyfile(src / "tokenizer.model", out / "tokenizer.model")
    shutil.copyfile(src / "am.mvn", out / "am.mvn")
    if (src / MODEL_DEFAULTS).is_file():  # the decoding settings the model's card recommends go with it
        shutil.copyfile(src / MODEL_DEFAULTS, out / MODEL_DEFAULTS)
    wrapper = _Network(net).eval()  # eval(): dropout off (export would also leave a train-mode module training)
    feats = torch.randn(2, 50, net.config.encoder.input_size)
    lengths = torch.tensor([50, 31])
    dims = {"features": {0: "batch", 1: "time"}, "lengths": {0: "batch"},
            "log_probs": {0: "batch", 1: "time"}, "out_lengths": {0: "batch"}}
    with warnings.catch_warnings():
        # The TorchScript-based exporter (torch.export's needs onnxscript, not a dependency) warns that it is
        # deprecated; the traced graph is checked against PyTorch below instead.
        warnings.simplefilter("ignore")
        torch.onnx.export(wrapper, (feats, lengths), str(out / ONNX_FILE), input_names=list(INPUTS),
                          output_names=list(OUTPUTS), dynamic_axes=dims, opset_version=opset, dynamo=False)
    exported = OnnxCTCModel(out, threads=1)
    diff = parity(net, exported)
    if not np.isfinite(diff) or diff > 1e-3:
        raise RuntimeError(f"{out / ONNX_FILE}: exported graph differs from PyTorch by {diff:g} in log-probability")
    return {"folder": str(out), "onnx": str(out / ONNX_FILE), "opset": opset, "max_abs_diff": diff,
            "bytes": (out / ONNX_FILE).stat().st_size}
