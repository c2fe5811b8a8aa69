"""`asrkit lm gfst`: Kaldi-style G.fst and words.txt from an ARPA LM (kaldilm arpa2fst, backoff symbol #0)."""

from __future__ import annotations

import argparse

from lm.ngram.gfst import build_gfst


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``gfst`` to the ``asrkit lm`` parser."""
    p = subparsers.add_parser("gfst", help="G.fst + words.txt from an ARPA LM", description=__doc__.split(": ", 1)[1])
    p.add_argument("--arpa", required=True, help="word-level ARPA file")
    p.add_argument("--output-dir", required=True, metavar="DIR", help="writes DIR/G.fst and DIR/words.txt")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    g_fst, words = build_gfst(args.arpa, args.output_dir)
    print(f"wrote {g_fst} and {words}")
    return 0
