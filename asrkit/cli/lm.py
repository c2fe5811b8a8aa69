"""`asrkit lm ...`: build, train, evaluate and convert language models (one module per sub-command)."""

from __future__ import annotations

import argparse
import importlib

LM_COMMANDS = ["ngram", "train", "ppl", "gfst", "prior", "tlg"]


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("lm", help="language models: ngram | train | ppl | gfst | prior | tlg", description=__doc__)
    lm_sub = p.add_subparsers(dest="lm_command", required=True)
    for name in LM_COMMANDS:
        try:
            module = importlib.import_module(f"asrkit.cli.lm_commands.{name}")
        except ModuleNotFoundError as err:
            if err.name != f"asrkit.cli.lm_commands.{name}":
                raise
            continue  # sub-command not installed in this build
        module.register(lm_sub)
