"""`asrkit decode`: transcribe files, folders, wav.scp lists or JSONL manifests into HYP.jsonl.

Results are appended and flushed as each batch finishes, so an interrupted job keeps its work;
``--resume`` skips ids already in the output. A bad input gets one error line and the job goes on;
the exit status is 1 when any input failed.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

from asrkit.data.inputs import InputError, Utterance, iter_inputs
from asrkit.errors import UserError
from asrkit.frontend import SAMPLE_RATE
from asrkit.inference.recognizer import METHODS, Recognizer
from asrkit.utils.progress import progress


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("decode", help="transcribe audio into a JSONL file", description=__doc__)
    p.add_argument("--input", "-i", nargs="+", required=True, help="audio files, folders, wav.scp or .jsonl")
    p.add_argument("--output", "-o", required=True, help="output JSONL (one {id, text} per line)")
    p.add_argument("--model", "-m", default=None, help="model folder or bundled name (see `asrkit models`)")
    p.add_argument("--method", default="greedy", choices=METHODS,
                   help="greedy; beam (CTC prefix beam search); shallow_fusion (beam + token-level --lm)")
    p.add_argument("--beam", type=int, default=8)
    p.add_argument("--lm", default=None, help="token-level LM for shallow_fusion: ARPA/KenLM binary or LM folder")
    p.add_argument("--lm-weight", type=float, default=0.5)
    p.add_argument("--insertion-bonus", type=float, default=0.0, help="added per emitted unit (beam methods)")
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads (1 is fastest on small models)")
    p.add_argument("--resume", action="store_true", help="skip ids already present in --output")
    p.add_argument("--min-duration", type=float, default=0.05)
    p.add_argument("--max-duration", type=float, default=60.0)
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def _done_ids(path: Path) -> set[str]:
    done = set()
    if path.exists():
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                obj = json.loads(line)
            except json.JSONDecodeError:
                continue  # a line cut by a crash; its utterance is decoded again
            if "text" in obj:
                done.add(str(obj["id"]))
    return done


def run(args: argparse.Namespace) -> int:
    torch.set_num_threads(args.threads)
    out_path = Path(args.output)
    if out_path.exists() and not args.resume:
        out_path.unlink()
    out_path.parent.mkdir(parents=True, exist_ok=True)
    done = _done_ids(out_path) if args.resume else set()
    rec = Recognizer(args.model, args.method, args.min_duration, args.max_duration, beam=args.beam, lm=args.lm,
                     lm_weight=args.lm_weight, insertion_bonus=args.insertion_bonus)

    items = list(iter_inputs(args.input))
    n_failed = 0
    n_written = 0
    audio_s = 0.0
    t0 = time.perf_counter()
    pending: list[tuple[Utterance, object]] = []
    seen: set[str] = set()

    def fail(msg: str) -> None:
        nonlocal n_failed
        n_failed += 1
        print(f"asrkit decode: error: {msg}", file=sys.stderr)

    with out_path.open("a", encoding="utf-8") as out:

        def flush() -> None:
            nonlocal n_written, audio_s
            if not pending:
                return
            texts = rec.decode_waves([w for _, w in pending])
            for (utt, wave), text in zip(pending, texts):
                out.write(json.dumps({"id": utt.id, "text": text}, ensure_ascii=False) + "\n")
                audio_s += len(wave) / SAMPLE_RATE
            out.flush()
            n_written += len(pending)
            pending.clear()

        for item in progress(items, desc="decode", unit="utt", disable=args.quiet):
            if isinstance(item, InputError):
                fail(str(item))
                continue
            if item.id in done:
                continue
            if item.id in seen:
                fail(f"{item.audio}: duplicate utterance id {item.id!r}; skipped")
                continue
            seen.add(item.id)
            try:
                pending.append((item, rec.load(item.audio)))
            except UserError as err:
                fail(str(err))
                continue
            if len(pending) >= args.batch_size:
                flush()
        flush()
    elapsed = time.perf_counter() - t0
    rtf = f", RTF {elapsed / audio_s:.4f}" if audio_s else ""
    skipped = f", {len(done)} already done" if done else ""
    print(
        f"asrkit decode: {n_written} decoded, {n_failed} failed{skipped}{rtf} -> {out_path}",
        file=sys.stderr,
    )
    if n_written == 0 and n_failed > 0 and not done:
        return 1
    return 1 if n_failed else 0
