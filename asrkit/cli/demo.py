"""`asrkit demo`: decode the bundled sample audio with the bundled demo model and print its WER.

A model whose units are mostly Han characters (a Mandarin model, e.g. ``--model fortunes-zh-ctc-small``)
decodes the bundled Mandarin samples instead and prints their CER. ``--task ast`` (a speech LLM, e.g.
``--model bible-en-speechllm-tiny``) translates the bundled Spanish samples into English and prints the
BLEU against their English reference text."""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import torch

from asrkit.data.jsonl import read_jsonl
from asrkit.frontend import SAMPLE_RATE
from asrkit.inference import Recognizer
from asrkit.metrics import cer, corpus_bleu, wer
from asrkit.models.registry import DEFAULT_MODEL
from asrkit.text import is_mostly_han

SAMPLES = Path(__file__).resolve().parent.parent / "samples"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="decode the bundled samples and score them", description=__doc__)
    p.add_argument("--model", "-m", default=None, help=f"model folder or bundled name (default {DEFAULT_MODEL})")
    p.add_argument("--task", default="asr", choices=("asr", "ast"),
                   help="asr: English samples, WER (a Mandarin model: Mandarin samples, CER); ast: Spanish samples -> "
                        "English, BLEU (speech LLMs)")
    p.add_argument("--output", "-o", default=None, help="also write the hypotheses to this JSONL file")
    p.set_defaults(func=run)


def writes_chinese(model) -> bool:
    """True for a model whose output units are mostly Han characters (a Mandarin character-unit model)."""
    tok = getattr(model, "tokenizer", None)
    return hasattr(tok, "pieces") and is_mostly_han(" ".join(tok.pieces()))


def run(args: argparse.Namespace) -> int:
    torch.set_num_threads(1)
    rec = Recognizer(args.model, task=args.task)
    zh = args.task == "asr" and writes_chinese(rec.model)
    manifest = SAMPLES / ("samples_es.jsonl" if args.task == "ast" else "samples_zh.jsonl" if zh else "samples.jsonl")
    utts = read_jsonl(manifest)
    field = "translation" if args.task == "ast" else "text"
    waves = [rec.load(SAMPLES / u["audio"]) for u in utts]
    t0 = time.perf_counter()
    hyps = rec.decode_waves(waves)
    elapsed = time.perf_counter() - t0
    audio_s = sum(len(w) for w in waves) / SAMPLE_RATE
    for u, h in zip(utts, hyps):
        print(f"{u['id']}\n  REF: {u[field]}\n  HYP: {h}")
    refs = [u[field] for u in utts]
    result = corpus_bleu(refs, hyps) if args.task == "ast" else cer(refs, hyps, "zh") if zh else wer(refs, hyps)
    print(result.line if args.task == "ast" else result.format())
    print(f"{len(utts)} utterances, {audio_s:.1f} s of audio decoded in {elapsed:.2f} s "
          f"(RTF {elapsed / audio_s:.4f}, {audio_s / elapsed:.0f}x real time, 1 thread)")
    if args.output:
        out = Path(args.output)
    else:
        out = Path(tempfile.gettempdir()) / "asrkit-demo-hyp.jsonl"
    out.write_text("".join(json.dumps({"id": u["id"], "text": h}, ensure_ascii=False) + "\n"
                           for u, h in zip(utts, hyps)), encoding="utf-8")
    print(f"hypotheses written to {out}", file=sys.stderr)
    return 0
