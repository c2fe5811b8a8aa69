"""`asrkit tune`: find decoding weights on a dev set (never by hand on test) and write them for `asrkit decode`.

    asrkit tune -m MODEL --dev dev.jsonl --method shallow_fusion --lm lm.arpa \\
        --grid lm_weight=0:1:0.1 word_bonus=0,1,2 -o exp/tune_sf
    asrkit decode -m MODEL --config exp/tune_sf/best.json -i test.jsonl -o hyp.jsonl

Any numeric decoding setting can be a grid field (lm_weight, source_weight, ilm_weight, insertion_bonus per
unit, word_bonus per word, blank_penalty, search_beam, ...). Writes OUT/tune.jsonl (one line per grid point,
appended as it goes: rerun to resume), OUT/best.json (a decoding config) and OUT/tune.png (the metric
against the first grid field).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

from asrkit.cli.argtypes import add_output, add_quiet, positive_int
from asrkit.cli.decode import add_decoding_args, decoding_settings
from asrkit.data.inputs import InputError, iter_inputs
from asrkit.data.results import check_output_path
from asrkit.errors import UserError
from asrkit.inference.decode_config import DecodeConfig, decoding_config
from asrkit.inference.recognizer import Recognizer
from asrkit.inference.tuning import grid_points, parse_grid, plot, search, tune_row_problem
from asrkit.metrics import corpus_bleu, error_rate
from asrkit.models.bundled import find_model_dir
from asrkit.models.speech_llm.prompt import split_multitask
from asrkit.utils.progress import progress


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("tune", help="search decoding weights on a dev set", description=__doc__,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", "-m", default=None, help="model folder or bundled name")
    p.add_argument("--dev", required=True, nargs="+", help="dev manifest(s) (.jsonl with id, audio, text)")
    p.add_argument("--grid", nargs="+", required=True, metavar="NAME=VALUES",
                   help="e.g. lm_weight=0:1:0.1 (start:stop:step) or insertion_bonus=0,1,2")
    p.add_argument("--metric", default="wer", choices=("wer", "cer", "bleu"),
                   help="what to minimise (bleu: maximise) [wer]")
    p.add_argument("--ref-field", default=None, help="reference field of the manifest [text; translation for bleu]")
    add_output(p, "output folder: tune.jsonl, best.json, tune.png", hidden=("--out",))
    add_decoding_args(p)
    p.add_argument("--batch-size", type=positive_int, default=8, help="utterances per decoding batch [8]")
    p.add_argument("--threads", type=positive_int, default=1, help="torch CPU threads [1]")
    add_quiet(p, "no progress bar or per-point lines (the best point is still printed)")
    p.set_defaults(func=run)


def _dev_set(paths: list[str], field: str) -> tuple[list, list[str]]:
    """Utterances and references of the dev manifests, validated by asrkit/data/inputs.py (one line per problem)."""
    utts, refs = [], []
    for it in iter_inputs(paths):
        if isinstance(it, InputError):
            raise UserError(str(it))
        ref = it.fields.get(field)
        if not isinstance(ref, str):
            raise UserError(f"{it.audio}: dev utterance {it.id!r} has no {field!r} reference (a string)")
        utts.append(it)
        refs.append(ref)
    if not utts:
        raise UserError("--dev holds no utterances")
    return utts, refs


def run(args: argparse.Namespace) -> int:
    torch.set_num_threads(args.threads)
    grid = parse_grid(args.grid)
    names = list(grid)
    field = args.ref_field or ("translation" if args.metric == "bleu" else "text")
    settings = decoding_settings(args)
    base = decoding_config(args.config, settings, find_model_dir(args.model))  # also the model's decoding.json
    out = Path(args.output)
    # The output folder is checked before the model loads; tune.jsonl is always resumed (never replaced).
    if out.exists() and not out.is_dir():
        raise UserError(f"{out}: --output is a file; give a folder")
    check_output_path(out / "tune.jsonl", True, [*args.dev, args.config], flag="--output's tune.jsonl",
                      valid=tune_row_problem)
    rec = Recognizer(args.model, base)  # base.llm: --llm, recorded in best.json
    utts, refs = _dev_set(args.dev, field)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise UserError(f"{out}: cannot create --output folder ({err.strerror or err})") from None

    waves = [rec.load(u.audio) for u in utts]
    starts = range(0, len(waves), args.batch_size)
    head = rec.head
    cached = None
    if head.cache_acoustics:  # the acoustic pass (CTC emissions), once for all grid points
        with torch.inference_mode():
            cached = [head.acoustics(waves[i : i + args.batch_size])
                      for i in progress(starts, desc="acoustics", unit="batch", disable=args.quiet)]

    @torch.inference_mode()
    def evaluate(cfg: DecodeConfig) -> float:
        hyps: list[str] = []
        decode = rec.decoder(cfg)
        for k, i in enumerate(starts):
            hyps += decode(cached[k] if cached is not None else head.acoustics(waves[i : i + args.batch_size]))
        if cfg.task == "asr_ast":  # "transcript\ntranslation": score the part the metric is about
            hyps = [split_multitask(h)[1] or "" if args.metric == "bleu" else split_multitask(h)[0] for h in hyps]
        if args.metric == "bleu":
            return corpus_bleu(refs, hyps).value
        return error_rate(refs, hyps, args.metric).value

    def shown(i: int, n: int, row: dict) -> None:
        if args.quiet:
            return
        point = " ".join(f"{k}={row[k]}" for k in names)
        print(f"asrkit tune: [{i + 1}/{n}] {point}: {args.metric.upper()} {row['score']:.2f}", file=sys.stderr)

    points = grid_points(base, grid)
    best, rows = search(points, names, evaluate, out / "tune.jsonl", args.metric == "bleu", shown)
    best.save(out / "best.json")
    png = plot(rows, names, args.metric, out / "tune.png")
    score = next(r["score"] for r in rows if all(r[n] == getattr(best, n) for n in names))
    point = " ".join(f"{n}={getattr(best, n)}" for n in names)
    print(f"asrkit tune: best {point}: {args.metric.upper()} {score:.2f} on {len(utts)} dev utts -> "
          f"{out / 'best.json'}" + (f", plot {png}" if png else ""), file=sys.stderr)
    return 0
