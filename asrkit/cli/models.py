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
        print(
            f"{name}{mark}\t{cfg.get('model_type')}\t{enc.get('num_blocks')}x{enc.get('output_size')} SANM, "
            f"vocab {cfg.get('vocab_size')}\t{path}"
        )
    return 0
