"""One entry point for decoding: any speech LLM folder -> :class:`~asrkit.models.speech_llm.model.SpeechLLM`."""

from __future__ import annotations

import json
from pathlib import Path

import torch

from asrkit.errors import UserError
from asrkit.models.speech_llm.config import MODEL_TYPE
from asrkit.models.speech_llm.model import SpeechLLM


def is_speech_llm(path: str | Path) -> bool:
    """True for an asrkit speech LLM folder or a MooER release (root or task sub-folder)."""
    from asrkit.models.speech_llm.mooer_release import is_mooer_release

    path = Path(path)
    if is_mooer_release(path):
        return True
    try:
        return json.loads((path / "config.json").read_text()).get("model_type") == MODEL_TYPE
    except (OSError, ValueError, AttributeError):
        return False


def load_speech_llm(path: str | Path, llm: str | Path | None = None, task: str = "asr",
                    dtype: str | torch.dtype | None = None, device: str | torch.device = "cpu",
                    merge_lora: bool = True) -> SpeechLLM:
    """Load a speech LLM for decoding.

    ``path``: an asrkit speech LLM folder (``config.json`` with model_type "speech_llm"), a bundled model
    name (``asrkit models``), or a MooER release folder (root or one of ``asr/``, ``ast/``,
    ``asr_ast_mtl/``). ``llm``: the Qwen2-Instruct folder of a MooER release (asrkit folders carry their
    own ``llm/``). ``task`` picks the MooER sub-folder (asr -> asr/, ast -> ast/ else asr_ast_mtl/,
    asr_ast -> asr_ast_mtl/); an asrkit folder serves every task in its config's ``prompts``.
    ``dtype``: the LLM's weights (default float32; "bf16" for large LLMs); the encoder and adapter stay float32.
    """
    from asrkit.models.bundled import resolve_model_dir
    from asrkit.models.speech_llm.mooer_release import is_mooer_release, load_mooer_release

    folder = resolve_model_dir(str(path))
    if is_mooer_release(folder):
        return load_mooer_release(folder, llm, task=task, dtype=dtype, merge_lora=merge_lora, device=device)
    if not is_speech_llm(folder):
        raise UserError(f"{folder}: not a speech LLM folder (config.json model_type must be {MODEL_TYPE!r}, "
                        f"or a MooER release with paraformer_encoder/)")
    if llm is not None:
        raise UserError(f"{folder}: --llm is only for MooER release folders; this folder has its own llm/")
    model = SpeechLLM.from_pretrained(folder, merge_lora=merge_lora, dtype=dtype, device=device)
    model.prompt_ids(task)  # refuse an unsupported task now, with the model's task list
    return model
