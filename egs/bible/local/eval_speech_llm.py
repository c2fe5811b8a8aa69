#!/usr/bin/env python3
"""Decode a manifest with a speech LLM (Hugging Face generate, MooER's defaults) and score it.

Writes OUT/{name}/hyp.jsonl and OUT/{name}/score.json per decoding setting: WER (asr, against ``text``)
or BLEU (ast, sacreBLEU 13a, cased, against the English ``translation``), and the real-time factor.
``asr_ast`` (the multitask answer ``transcript\ntranslation``) is split as MooER does
(:func:`~asrkit.models.speech_llm.prompt.split_multitask`) and scored both ways: the transcript's WER
against ``text`` and the translation's BLEU against ``translation`` (an answer that does not split into
two lines counts as a transcript with an empty translation).

    python local/eval_speech_llm.py --model exp/speech_llm/train/model --manifest data/manifests/test_en.jsonl \\
        --task asr --beams 1 4 --max-utts 200 --out exp/speech_llm/train/decode/test_en
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from asrkit.frontend import load_audio
from asrkit.metrics import corpus_bleu, wer
from asrkit.models.speech_llm import load_speech_llm
from asrkit.models.speech_llm.prompt import split_multitask


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--llm", default=None, help="Qwen2 folder (MooER releases only)")
    ap.add_argument("--manifest", required=True)
    ap.add_argument("--task", default="asr", choices=("asr", "ast", "asr_ast"))
    ap.add_argument("--beams", type=int, nargs="+", default=[1, 4])
    ap.add_argument("--max-utts", type=int, default=None, help="first N utterances only")
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--out", required=True)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    model = load_speech_llm(args.model, llm=args.llm, task=args.task).to(args.device)
    man = Path(args.manifest)
    utts = [json.loads(x) for x in man.read_text().splitlines() if x.strip()][: args.max_utts]
    waves = [load_audio(man.parent / u["audio"]) for u in utts]
    seconds = sum(len(w) for w in waves) / 16000
    order = sorted(range(len(utts)), key=lambda i: len(waves[i]))  # similar lengths share a batch
    field = "translation" if args.task == "ast" else "text"
    refs = [u[field] for u in utts]
    for beams in args.beams:
        name = "greedy" if beams == 1 else f"beam{beams}"
        hyps = [""] * len(utts)
        t0 = time.time()
        for s in range(0, len(order), args.batch):
            idx = order[s : s + args.batch]
            for i, text in zip(idx, model.generate([waves[i] for i in idx], args.task, num_beams=beams)):
                hyps[i] = text
        elapsed = time.time() - t0
        out = Path(args.out) / name
        out.mkdir(parents=True, exist_ok=True)
        with (out / "hyp.jsonl").open("w") as f:
            for u, h in zip(utts, hyps):
                f.write(json.dumps({"id": u["id"], "text": h}, ensure_ascii=False) + "\n")
        score = {"manifest": str(man), "task": args.task, "num_beams": beams, "n_utts": len(utts),
                 "audio_s": round(seconds, 1), "decode_s": round(elapsed, 1), "rtf": round(elapsed / seconds, 4),
                 "threads": args.threads, "device": args.device}
        if args.task == "asr_ast":
            parts = [split_multitask(h) for h in hyps]
            w = wer([u["text"] for u in utts], [t for t, _ in parts])
            b = corpus_bleu([u["translation"] for u in utts], [tr or "" for _, tr in parts])
            score.update(metric="bleu", value=round(b.value, 2), line=b.line, wer=round(w.value, 2),
                         n_split=sum(tr is not None for _, tr in parts))
        elif args.task == "ast":
            b = corpus_bleu(refs, hyps)
            score.update(metric="bleu", value=round(b.value, 2), line=b.line)
        else:
            w = wer(refs, hyps)
            score.update(metric="wer", value=round(w.value, 2), substitutions=w.substitutions,
                         deletions=w.deletions, insertions=w.insertions, ref_len=w.ref_len)
        (out / "score.json").write_text(json.dumps(score, indent=2) + "\n")
        print(json.dumps(score))


if __name__ == "__main__":
    main()
