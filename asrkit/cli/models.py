"""`asrkit models`: list the bundled models."""

from __future__ import annotations

import argparse
import json

from asrkit.models.registry import DEFAULT_MODEL, bundled_models


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("models", help="list bundled models", description=__doc__)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    models = bundled_models()
    if not models:
        print("no bundled models installed")
        return 0
    for name, path in models.items():
        cfg = json.loads((path / "config.json").read_text())
        enc = cfg.get("encoder", {})
        mark = " (default)" if name == DEFAULT_MODEL else ""
        if cfg.get("model_type") == "speech_llm":
            print(f"{name}{mark}\tspeech_llm\t{_speech_llm_summary(cfg, path)}\t{path}")
            continue
        print(
            f"{name}{mark}\t{cfg.get('model_type')}\t{enc.get('num_blocks')}x{enc.get('output_size')} SANM, "
            f"vocab {cfg.get('vocab_size')}\t{path}"
        )
    return 0


def _speech_llm_summary(cfg: dict, path) -> str:
    """``10x256 SANM + adapter + qwen2 4x256 LLM, tasks asr,ast``."""
    enc = cfg.get("encoder", {})
    try:
        llm = json.loads((path / "llm" / "config.json").read_text())
    except (OSError, ValueError):
        llm = {}
    tasks = ",".join(sorted(cfg.get("prompts", {})))
    return (f"{enc.get('num_blocks')}x{enc.get('output_size')} SANM + adapter + {llm.get('model_type')} "
            f"{llm.get('num_hidden_layers')}x{llm.get('hidden_size')} LLM, tasks {tasks}")
