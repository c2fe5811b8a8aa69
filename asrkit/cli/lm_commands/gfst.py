"""`asrkit lm gfst`: Kaldi-style G.fst and words.txt from an ARPA LM (kaldilm arpa2fst, backoff symbol #0)."""

from __future__ import annotations

import argparse

from asrkit.cli.argtypes import add_flag, add_output
from lm.ngram.gfst import build_gfst


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``gfst`` to the ``asrkit lm`` parser."""
    p = subparsers.add_parser("gfst", help="G.fst + words.txt from an ARPA LM", description=__doc__.split(": ", 1)[1])
    add_flag(p, ("--lm",), hidden=("--arpa",), required=True, metavar="WORD.arpa", help="word-level ARPA file")
    add_output(p, "writes DIR/G.fst and DIR/words.txt", hidden=("--output-dir",), metavar="DIR")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    g_fst, words = build_gfst(args.lm, args.output)
    print(f"wrote {g_fst} and {words}")
    return 0
