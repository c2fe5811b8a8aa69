"""`asrkit score`: WER, CER or BLEU of a decode's hypotheses against references.

Prints one line (Kaldi style for WER/CER, sacreBLEU's line for BLEU), or with ``--json`` one JSON
object. Normalisation and file formats are described in docs/scoring.md.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from asrkit.cli.argtypes import add_flag
from asrkit.errors import UserError
from asrkit.metrics.biased_words import biased_word_scores
from asrkit.metrics.bleu import TOKENIZERS, BleuResult, corpus_bleu
from asrkit.metrics.references import Paired, load_hypotheses, load_references, pair
from asrkit.metrics.wer import ErrorRate, error_rate
from asrkit.text import normalize_text

PROG = "asrkit score"


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``score`` sub-command to the ``asrkit`` parser."""
    parser = subparsers.add_parser(
        "score",
        help="WER/CER/BLEU of hypotheses against references",
        description=__doc__.splitlines()[0].split(": ", 1)[1],
    )
    parser.add_argument("--ref", required=True, help="references: JSONL manifest or Kaldi text file")
    parser.add_argument("--hyp", required=True, help="hypotheses: JSONL with 'id' and 'text' per line")
    parser.add_argument("--metric", choices=("wer", "cer", "bleu"), default="wer", help="default: wer")
    add_flag(parser, ("--ref-field",), hidden=("--field",), default=None,
             help="reference field of a JSONL manifest (default: 'text', or 'translation' for bleu)")
    parser.add_argument("--hyp-field", default="text", help="hypothesis field (default: text)")
    parser.add_argument("--lang", default=None, help="language code, e.g. zh (mostly-Han text is detected)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of the line")
    parser.add_argument("--details", metavar="OUT.jsonl", help="write per-utterance ref/hyp/errors here")
    parser.add_argument("--biased-words", metavar="FILE",
                        help="a hotword list (one phrase per line, as --hotwords): also report the recall of its "
                             "words, B-WER and U-WER (WER only)")
    bleu = parser.add_argument_group("bleu options")
    bleu.add_argument("--lowercase", action="store_true", help="case-insensitive BLEU (default: cased)")
    bleu.add_argument(
        "--tokenize", choices=TOKENIZERS, default=None, help="sacreBLEU tokenizer (default: 13a)"
    )
    bleu.add_argument(
        "--normalize",
        action="store_true",
        help="apply asrkit's normalisation to both sides first (not comparable with standard BLEU)",
    )
    parser.set_defaults(func=run)


def _warn(message: str) -> None:
    print(f"{PROG}: warning: {message}", file=sys.stderr)


def _check_pairing(paired: Paired, ref: str, hyp: str) -> None:
    n = len(paired.ids)
    if len(paired.missing) == n:
        raise UserError(f"{hyp}: no hypothesis id matches a reference id in {ref}")
    if paired.missing:
        _warn(
            f"{len(paired.missing)} of {n} reference utterances have no hypothesis in {hyp}; "
            "scored as empty hypotheses (all deletions)"
        )
    if paired.failed:
        _warn(f"{len(paired.failed)} of {n} hypotheses in {hyp} are decoder errors; scored as empty")
    if paired.extra:
        _warn(f"{len(paired.extra)} hypotheses in {hyp} have no reference in {ref}; ignored")


def _status(paired: Paired) -> list[str]:
    missing, failed = set(paired.missing), set(paired.failed)
    return ["missing" if i in missing else "failed" if i in failed else "ok" for i in paired.ids]


def _error_rate_details(paired: Paired, result: ErrorRate) -> list[dict]:
    return [
        {
            "id": utt_id,
            "status": status,
            "ref": ref,
            "hyp": hyp,
            "ref_norm": utt.ref,
            "hyp_norm": utt.hyp,
            "ref_len": utt.ref_len,
            "errors": utt.errors,
            "sub": utt.substitutions,
            "del": utt.deletions,
            "ins": utt.insertions,
        }
        for utt_id, status, ref, hyp, utt in zip(
            paired.ids, _status(paired), paired.refs, paired.hyps, result.utterances
        )
    ]


def _bleu_details(paired: Paired, result: BleuResult) -> list[dict]:
    return [
        {"id": utt_id, "status": status, "ref": ref, "hyp": hyp, "sentence_bleu": round(score, 4)}
        for utt_id, status, ref, hyp, score in zip(
            paired.ids, _status(paired), paired.refs, paired.hyps, result.sentence_scores
        )
    ]


def _write_details(path: str, rows: list[dict]) -> None:
    try:
        with Path(path).open("w", encoding="utf-8") as out:
            for row in rows:
                out.write(json.dumps(row, ensure_ascii=False) + "\n")
    except OSError as err:
        raise UserError(f"{path}: cannot write details: {err.strerror or err}") from None


def _score_bleu(args: argparse.Namespace, paired: Paired) -> tuple[str, dict, list[dict]]:
    bleu = corpus_bleu(
        paired.refs,
        paired.hyps,
        lowercase=args.lowercase,
        tokenize=args.tokenize or "13a",
        normalize=args.normalize,
        lang=args.lang,
        sentence_scores=bool(args.details),
    )
    summary = {
        "metric": "bleu",
        "value": bleu.value,
        "signature": bleu.signature,
        "precisions": bleu.precisions,
        "bp": bleu.bp,
        "sys_len": bleu.sys_len,
        "ref_len": bleu.ref_len,
    }
    return bleu.line, summary, _bleu_details(paired, bleu) if args.details else []


def _score_error_rate(args: argparse.Namespace, paired: Paired) -> tuple[str, dict, list[dict]]:
    try:
        rate = error_rate(paired.refs, paired.hyps, args.metric, args.lang)
    except ValueError as err:
        raise UserError(f"{args.ref}: {err}; {args.metric.upper()} is undefined") from None
    summary = {
        "metric": rate.metric,
        "value": rate.value,
        "errors": rate.errors,
        "substitutions": rate.substitutions,
        "deletions": rate.deletions,
        "insertions": rate.insertions,
        "ref_len": rate.ref_len,
    }
    return rate.format(), summary, _error_rate_details(paired, rate) if args.details else []


def _read_biased_words(path: str) -> set[str]:
    """Every word of the phrases of a hotword list (one UserError line for a bad file)."""
    # The hotword file format, imported here: plain scoring does not need it.
    from asrkit.inference.hotwords import phrase_words, read_hotwords

    return phrase_words(read_hotwords(path, flag="--biased-words"))


def _biased_words(path: str, words: set[str], paired: Paired) -> tuple[str, dict]:
    """The ``--biased-words`` line and JSON fields: every word of the list's phrases is a biased word
    (:mod:`asrkit.metrics.biased_words`; references and hypotheses normalised as for WER)."""
    s = biased_word_scores([normalize_text(r) for r in paired.refs], paired.hyps, words, words)
    hits = round(s["recall"] * s["biased_words"] / 100)
    line = (f"%BIASED recall {s['recall']:.2f} % [ {hits} / {s['biased_words']} ], B-WER {s['b_wer']:.2f} %, "
            f"U-WER {s['u_wer']:.2f} %, list words written for another word {s['false_names']}")
    fields = {k: round(v, 4) if isinstance(v, float) else v for k, v in s.items() if k != "wer"}
    fields["list_words_written_wrongly"] = fields.pop("false_names")
    return line, {"biased": {"file": path, **fields}}


def run(args: argparse.Namespace) -> int:
    """Score ``args.hyp`` against ``args.ref``; returns the exit status."""
    is_bleu = args.metric == "bleu"
    if not is_bleu and (args.lowercase or args.tokenize or args.normalize):
        raise UserError("--lowercase, --tokenize and --normalize apply only to --metric bleu")
    if args.biased_words and args.metric != "wer":
        raise UserError("--biased-words applies only to --metric wer (biased words are words)")
    biased = _read_biased_words(args.biased_words) if args.biased_words else None  # its errors before any work
    field = args.ref_field or ("translation" if is_bleu else "text")
    paired = pair(load_references(args.ref, field), load_hypotheses(args.hyp, args.hyp_field))
    _check_pairing(paired, args.ref, args.hyp)

    score = _score_bleu if is_bleu else _score_error_rate
    line, summary, rows = score(args, paired)
    if biased is not None:
        extra, fields = _biased_words(args.biased_words, biased, paired)
        line, summary = f"{line}\n{extra}", {**summary, **fields}
    if args.details:
        _write_details(args.details, rows)
    if args.json:
        counts = {
            "n_utts": len(paired.ids),
            "missing": len(paired.missing),
            "failed": len(paired.failed),
            "extra": len(paired.extra),
        }
        files = {"ref": args.ref, "hyp": args.hyp, "field": field}
        print(json.dumps({**summary, **counts, **files}, ensure_ascii=False))
    else:
        print(line)
    return 0
