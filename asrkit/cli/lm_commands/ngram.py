"""`asrkit lm ngram`: build a word- or token-level n-gram LM (modified Kneser-Ney, KenLM lmplz) as ARPA or binary."""

from __future__ import annotations

import argparse

from asrkit.cli.argtypes import add_output
from lm.ngram.build import build_ngram


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``ngram`` to the ``asrkit lm`` parser."""
    p = subparsers.add_parser("ngram", help="build an n-gram LM with KenLM", description=__doc__.split(": ", 1)[1])
    p.add_argument("--text", nargs="+", required=True, metavar="CORPUS", help="text files, a sentence a line (.gz ok)")
    p.add_argument("--order", type=int, default=3, help="n-gram order (default: 3)")
    p.add_argument("--unit", choices=("word", "token"), default="word",
                   help="word, or the acoustic model's sentencepiece tokens (default: word)")
    p.add_argument("--tokenizer", metavar="SPM.model", help="sentencepiece model (required for --unit token)")
    add_output(p, "LM file to write: .bin gives a KenLM binary, else ARPA", metavar="LM.arpa|LM.bin")
    p.add_argument("--prune", type=int, nargs="+", metavar="N",
                   help="lmplz --prune thresholds per order, e.g. 0 1 1 drops singleton 2- and 3-grams")
    p.add_argument("--memory", default="1G", help="lmplz sort memory -S (default: 1G)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    meta = build_ngram(args.text, args.order, args.unit, args.output, tokenizer=args.tokenizer, prune=args.prune,
                       memory=args.memory)
    print(f"wrote {args.output}: {meta['order']}-gram {meta['unit']} LM on {meta['lines']} lines, "
          f"{meta['words']} words, {meta['units']} units")
    return 0
