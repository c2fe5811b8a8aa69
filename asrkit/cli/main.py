"""`asrkit` command line: one sub-command per module in this package.

Each sub-command module exposes ``register(subparsers)`` which adds its parser and sets
``func`` to a callable ``(args) -> int`` returning the process exit status.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from typing import NoReturn

from asrkit.errors import UserError

# Sub-command modules, in the order `asrkit --help` lists them.
COMMANDS = ["decode", "tune", "score", "models", "export", "train", "lm", "speech_llm", "hotwords", "demo", "serve"]


class OneLineParser(argparse.ArgumentParser):
    """A usage mistake (``--threads 0``, a missing flag) is one line naming the flag, like every other user
    error, instead of argparse's usage block; ``--help`` still shows the usage. Sub-command parsers inherit it."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="asrkit", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name in COMMANDS:
        importlib.import_module(f"asrkit.cli.{name}").register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except UserError as err:
        # A user mistake gets one line, never a traceback.
        print(f"asrkit {args.command}: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"asrkit {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
