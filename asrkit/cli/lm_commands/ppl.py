"""`asrkit lm ppl`: log-probability, token and word perplexity and OOV rate of any LM on a text file."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from asrkit.errors import UserError
from lm.load import load_lm
from lm.perplexity import perplexity


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``ppl`` to the ``asrkit lm`` parser."""
    p = subparsers.add_parser("ppl", help="perplexity of an LM on text", description=__doc__.split(": ", 1)[1])
    p.add_argument("--lm", required=True, help="ARPA/KenLM binary file, or an LM folder")
    p.add_argument("--text", required=True, metavar="FILE", help="one sentence a line")
    p.add_argument("--tokenizer", metavar="SPM.model", help="acoustic model's sentencepiece model (token LMs)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    text = Path(args.text)
    if not text.is_file():
        raise UserError(f"{text}: no such text file")
    lm = load_lm(args.lm, tokenizer=args.tokenizer)
    try:
        with open(text, encoding="utf-8") as f:
            result = perplexity(lm, f)
    except UnicodeDecodeError as err:
        raise UserError(f"{text}: not UTF-8 text ({err.reason} at byte {err.start})") from None
    except ValueError as err:
        raise UserError(f"{text}: {err}") from None
    if args.json:
        print(json.dumps(result))
    else:
        print(f"{text}: {result['sentences']} sentences, {result['words']} words, {result['units']} units, "
              f"{result['oov']} OOV ({100 * result['oov_rate']:.2f}%)  logprob={result['logprob']:.2f}  "
              f"ppl_token={result['ppl_token']:.2f}  ppl_word={result['ppl_word']:.2f}")
    return 0
