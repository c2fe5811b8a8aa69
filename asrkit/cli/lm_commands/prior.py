"""`asrkit lm prior`: the label prior of a CTC model (its internal LM for ``--method ilme``).

p(u) is the CTC posterior of unit u averaged over all frames of the given audio, blank excluded and
renormalised (see decoders/ilme.py). Use the acoustic model's *training* audio (or a sample of it).
"""

from __future__ import annotations

import argparse
import sys

import torch

from asrkit.cli.argtypes import add_quiet, positive_int
from asrkit.data.inputs import InputError, iter_inputs
from asrkit.errors import UserError
from asrkit.inference.recognizer import Recognizer
from asrkit.utils.progress import progress
from decoders.ilme import estimate_ctc_label_prior


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("prior", help="CTC label prior (internal LM for ilme)", description=__doc__)
    p.add_argument("--model", "-m", default=None, help="CTC model folder or bundled name")
    p.add_argument("--input", "-i", nargs="+", required=True, help="audio: files, folders, wav.scp or .jsonl")
    p.add_argument("--output", "-o", required=True, help="prior JSON to write")
    p.add_argument("--max-utts", type=int, default=1000, help="use at most this many utterances (in input order)")
    p.add_argument("--batch-size", type=positive_int, default=8, help="utterances per batch [8]")
    p.add_argument("--threads", type=positive_int, default=1, help="torch CPU threads [1]")
    add_quiet(p, "no progress bar")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    torch.set_num_threads(args.threads)
    rec = Recognizer(args.model)
    try:
        rec.emissions([])  # a head without CTC posteriors (a speech LLM) refuses here, before any audio is read
    except UserError as err:
        raise UserError(f"{args.model}: `asrkit lm prior` needs a CTC model ({err})") from None
    items = []
    for it in iter_inputs(args.input):
        if isinstance(it, InputError):
            print(f"asrkit lm prior: error: {it}", file=sys.stderr)
            continue
        items.append(it)
        if len(items) >= args.max_utts:
            break
    if not items:
        raise UserError("no usable audio in --input")
    lps = []
    for i in progress(range(0, len(items), args.batch_size), desc="prior", unit="batch", disable=args.quiet):
        lp, lens = rec.emissions([rec.load(u.audio) for u in items[i : i + args.batch_size]])
        lps += [lp[b, : int(lens[b])] for b in range(lp.size(0))]
    pieces = rec.head.units
    prior = estimate_ctc_label_prior(lps, pieces, rec.head.tokenizer.blank_id)
    prior.save(args.output)
    top = torch.topk(prior.logprobs, 5)
    shown = ", ".join(f"{pieces[int(i)]} {float(v.exp()):.3f}" for v, i in zip(top.values, top.indices))
    print(f"asrkit lm prior: {len(lps)} utterances -> {args.output} (most likely: {shown})", file=sys.stderr)
    return 0
