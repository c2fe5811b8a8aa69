"""`asrkit lm tlg`: a TLG decoding graph (CTC topology ∘ BPE lexicon ∘ word n-gram) for `asrkit decode --method tlg`.

Writes OUT/TLG.fst, OUT/words.txt, OUT/tokens.txt and OUT/graph.json. The graph is tied to the
tokenizer it is built with: decoding with a model whose tokenizer differs is refused.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from asrkit.cli.argtypes import add_output, add_quiet
from asrkit.errors import UserError


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``tlg`` to the ``asrkit lm`` parser."""
    p = subparsers.add_parser("tlg", help="TLG decoding graph from a word ARPA LM and the model's tokenizer",
                              description=__doc__.split(": ", 1)[1])
    p.add_argument("--lm", required=True, metavar="WORD.arpa", help="word-level ARPA LM (asrkit lm ngram --unit word)")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--tokenizer", metavar="SPM.model", help="the acoustic model's sentencepiece model")
    src.add_argument("--model", "-m", metavar="DIR|NAME",
                     help="acoustic model folder or bundled name (its tokenizer.model)")
    add_output(p, "graph folder to write", hidden=("--out",), metavar="GRAPH_DIR")
    p.add_argument("--topology", choices=("standard", "compact"), default="standard",
                   help="CTC topology: standard = exact CTC, V^2 arcs; compact = O(V) arcs, allows a repeated "
                        "token without blank (default: standard)")
    add_quiet(p, "no progress lines")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from decoders.tlg.build import build_tlg

    if args.model is not None:
        from asrkit.models import resolve_model_dir

        tokenizer = resolve_model_dir(args.model) / "tokenizer.model"
        if not tokenizer.is_file():
            raise UserError(f"{tokenizer.parent}: model folder has no tokenizer.model")
    else:
        tokenizer = Path(args.tokenizer)
    log = None if args.quiet else (lambda line: print(line, file=sys.stderr, flush=True))
    info = build_tlg(args.lm, tokenizer, args.output, topology=args.topology, log=log)
    size = info["sizes"]["TLG"]
    print(f"wrote {args.output}: TLG {size['states']} states, {size['arcs']} arcs "
          f"({info['tlg_bytes'] / 2**20:.1f} MiB), "
          f"{info['words_in_lexicon']} words, {info['build_seconds']:.1f} s")
    return 0
