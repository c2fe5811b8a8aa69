"""Open any LM by path: an ARPA/KenLM binary file, an asrkit neural LM folder, or a local Hugging Face
causal LM folder."""

from __future__ import annotations

import json
from pathlib import Path

from asrkit.errors import UserError
from lm.interface import LanguageModel


def load_lm(path: str | Path, tokenizer: str | Path | None = None) -> LanguageModel:
    """``tokenizer``: the acoustic model's sentencepiece model, required to check token-level LMs."""
    path = Path(path)
    if not path.exists():
        raise UserError(f"{path}: no such language model")
    if path.is_file():
        from lm.ngram.kenlm_lm import KenLM

        return KenLM.load(path, tokenizer=tokenizer)
    cfg_path = path / "config.json"
    if not cfg_path.exists():
        raise UserError(f"{path}: not an LM folder (no config.json)")
    try:
        cfg = json.loads(cfg_path.read_text())
    except json.JSONDecodeError as err:
        raise UserError(f"{cfg_path}: invalid JSON ({err})") from None
    if cfg.get("model_type") == "transformer_lm":
        from lm.neural.transformer_lm import TransformerLM

        return TransformerLM.from_pretrained(path)
    if any(a.endswith("ForCausalLM") for a in cfg.get("architectures", [])):
        from lm.causal.hf_causal_lm import HFCausalLM

        return HFCausalLM.from_pretrained(path)
    raise UserError(f"{cfg_path}: unknown LM type (model_type {cfg.get('model_type')!r})")
