"""`asrkit speech-llm ...`: train a MooER-style speech LLM (one module per sub-command)."""

from __future__ import annotations

import argparse
import importlib

SPEECH_LLM_COMMANDS = ["pretrain", "train"]


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("speech-llm", help="speech LLM training: " + " | ".join(SPEECH_LLM_COMMANDS),
                       description=__doc__)
    commands = p.add_subparsers(dest="speech_llm_command", required=True)
    for name in SPEECH_LLM_COMMANDS:
        importlib.import_module(f"asrkit.cli.speech_llm_commands.{name}").register(commands)
