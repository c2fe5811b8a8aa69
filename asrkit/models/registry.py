"""Load any model folder by its config's ``model_type`` (bundled names are resolved by
:mod:`asrkit.models.bundled`, re-exported here)."""

from __future__ import annotations

from asrkit.errors import UserError
from asrkit.models.bundled import DEFAULT_MODEL, PRETRAINED_DIR, bundled_models, resolve_model_dir  # noqa: F401
from asrkit.utils.config_io import read_json_object


def load_model(name_or_dir: str | None = None):
    """Load a model folder or bundled model by its config's ``model_type``."""
    folder = resolve_model_dir(name_or_dir)
    cfg_path = folder / "config.json"
    if not cfg_path.exists():
        raise UserError(f"{folder}: no config.json (not a model folder)")
    cfg = read_json_object(cfg_path, "model config")
    model_type = cfg.get("model_type")
    from asrkit.models.hf_ctc import is_hf_ctc_folder

    if is_hf_ctc_folder(cfg):  # a Hugging Face CTC folder (wav2vec2, HuBERT, ...): docs/other_models.md
        from asrkit.models.hf_ctc import HFCTCModel

        return HFCTCModel(folder)
    if model_type == "sanm_ctc":
        from asrkit.models.ctc import CTCModel
        from asrkit.models.onnx_ctc import OnnxCTCModel, is_onnx_folder

        if is_onnx_folder(folder):  # made by `asrkit export --format onnx`
            return OnnxCTCModel(folder)

        return CTCModel.from_pretrained(folder)
    if model_type == "speech_llm":
        from asrkit.models.speech_llm import SpeechLLM

        return SpeechLLM.from_pretrained(folder)
    raise UserError(f"{cfg_path}: unknown model_type {model_type!r}")
