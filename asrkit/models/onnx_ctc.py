"""A CTC model folder whose network is ``model.onnx``, run with onnxruntime (made by ``asrkit export``).

The folder holds what a PyTorch model folder holds except the weights: ``config.json`` (front end and
vocabulary), ``tokenizer.model`` and ``am.mvn``, plus ``model.onnx`` with

    inputs   features  float32 (batch, time, 560)  normalised LFR features (front end + CMVN, see docs/export.md)
             lengths   int64   (batch,)             valid frames of each row
    outputs  log_probs float32 (batch, time, vocab) CTC log-probabilities (log-softmax over the units)
             out_lengths int64 (batch,)             valid frames of each output row

so everything downstream of the network (the front end, every decoding method, timestamps) is shared with
the PyTorch model. :class:`OnnxCTCModel` offers the calls decoding makes on a
:class:`~asrkit.models.ctc.CTCModel`: ``frontend(wave)``, ``model(feats, lengths)``, ``tokenizer``, ``config``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from asrkit.errors import UserError
from asrkit.frontend import Frontend, GlobalCMVN
from asrkit.tokenizer import Tokenizer

ONNX_FILE = "model.onnx"
INPUTS = ("features", "lengths")
OUTPUTS = ("log_probs", "out_lengths")


def is_onnx_folder(folder: str | Path) -> bool:
    """A model folder with ``model.onnx`` and no PyTorch weights."""
    folder = Path(folder)
    return (folder / ONNX_FILE).is_file() and not (folder / "model.safetensors").exists()


class OnnxCTCModel(torch.nn.Module):
    """An exported CTC model; a ``torch.nn.Module`` without parameters so it goes where a model goes."""

    def __init__(self, folder: str | Path, threads: int | None = None):
        super().__init__()
        from asrkit.models.ctc import CTCModelConfig

        folder = Path(folder)
        for name in ("config.json", ONNX_FILE, "tokenizer.model", "am.mvn"):
            if not (folder / name).is_file():
                raise UserError(f"{folder}: not an exported ONNX model folder (missing {name})")
        try:
            cfg = json.loads((folder / "config.json").read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as err:
            raise UserError(f"{folder / 'config.json'}: invalid JSON ({err})") from None
        if not isinstance(cfg, dict):
            raise UserError(f"{folder / 'config.json'}: a model config is a JSON object")
        self.config = CTCModelConfig.from_dict(cfg)
        if self.config.frontend_type != "paraformer":
            raise UserError(f"{folder}: ONNX models use the paraformer (fbank) front end, "
                            f"not {self.config.frontend_type}")
        self.tokenizer = Tokenizer(folder / "tokenizer.model")
        if self.tokenizer.vocab_size != self.config.vocab_size:
            raise UserError(f"{folder / 'tokenizer.model'}: tokenizer has {self.tokenizer.vocab_size} units but the "
                            f"model has {self.config.vocab_size}")
        self.frontend = Frontend(self.config.frontend, GlobalCMVN.from_file(folder / "am.mvn"))
        self.folder = folder
        try:
            import onnxruntime as ort
        except ImportError:
            raise UserError(f"{folder}: an ONNX model needs onnxruntime (pip install onnxruntime)") from None
        opts = ort.SessionOptions()
        # One intra-op thread per torch thread: `asrkit decode --threads N` sets both.
        opts.intra_op_num_threads = threads or torch.get_num_threads()
        opts.inter_op_num_threads = 1
        try:
            self.session = ort.InferenceSession(str(folder / ONNX_FILE), sess_options=opts,
                                                providers=["CPUExecutionProvider"])
        except Exception as err:  # onnxruntime raises its own exception types for bad files
            msg = str(err).splitlines()[0] if str(err) else type(err).__name__
            raise UserError(f"{folder / ONNX_FILE}: cannot load ({msg})") from None
        names = tuple(i.name for i in self.session.get_inputs())
        if names != INPUTS:
            raise UserError(f"{folder / ONNX_FILE}: inputs are {names}, expected {INPUTS} "
                            "(export it with `asrkit export`)")

    def forward(self, feats: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Normalised LFR features (B, T, 560) and lengths (B,) -> CTC log-probabilities (B, T, V), lengths."""
        log_probs, out_lengths = self.session.run(
            list(OUTPUTS), {"features": np.ascontiguousarray(feats.detach().cpu().numpy(), dtype=np.float32),
                            "lengths": lengths.detach().cpu().numpy().astype(np.int64)})
        return torch.from_numpy(log_probs), torch.from_numpy(out_lengths)
