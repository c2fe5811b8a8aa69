"""Hotwords end to end: what `asrkit decode --hotwords` costs a user who transcribes audio, next to the same
decode without hotwords, in one run.

``bench_hotwords.py`` times the search alone on saved emissions (the strict comparison: the search is all
that hotwords change). A user's decode also reads features and runs the encoder; this runs the whole
:class:`asrkit.inference.Recognizer` path (fbank, encoder, CTC head, search, the hotword post-steps) on the
test audio for each setting: batches of ``--batch-size`` (the CLI's default, 8), the settings taking turns
batch by batch so that a slower or faster stretch of the machine falls on all of them alike. Reported per
setting: WER and biased-word metrics, CPU seconds of the acoustic part (features + encoder) and of the
decoding part (search + post-steps), their sum, and both ratios against the setting without hotwords.
Audio is read before timing (the same files for every setting). One thread.

The hotword lists are those ``bench_hotwords.py`` wrote (``--lists``: biased_names.txt and
hotwords_N[_aliases[_sf]].txt); the settings are the tuned ones of egs/bible/RESULTS.md (issue 14).

    python local/bench_hotwords_e2e.py --model ../../asrkit/pretrained/bible-en-ctc-small \
        --test data/manifests/test_en.jsonl data/manifests/fortunes_test_en.jsonl \
        --lists exp/hotwords_reject_test --lm exp/lm/source_token4.arpa \
        --known-words exp/lm/source_word3.arpa --out exp/hotwords_e2e
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import torch
from bench_hotwords import audio_rows, biased_names

from asrkit.inference import DecodeConfig, Recognizer
from asrkit.inference.hotwords import phrase_words, read_hotwords
from asrkit.metrics.biased_words import biased_word_scores
from asrkit.text import normalize_text


def settings(args: argparse.Namespace) -> list[dict]:
    """Each row's phrases, fusion and DecodeConfig fields: plain beam (or shallow fusion) and the tuned full hotword
    setting (aliases, fuzzy correction, the check, and without fusion the reject step) for each list size."""
    lists = Path(args.lists)
    out = []
    for fusion in (False, True) if args.lm else (False,):
        base = dict(method="beam", beam=args.beam)
        hot = dict(hotword_weight=args.hotword_weight, hotword_beam=args.hotword_beam, hotword_fuzzy=0.34,
                   hotword_check=args.hotword_check, hotword_reject=args.hotword_reject, known_words=args.known_words)
        if fusion:
            base = dict(method="shallow_fusion", beam=args.beam, lm=args.lm, lm_weight=1.2, insertion_bonus=5.0)
            hot.update(hotword_weight=2.0, hotword_reject=0.0)  # dev: the reject step did not help with fusion
        for size in [int(s) for s in args.sizes.split(",")]:
            fields = dict(base)
            if size:
                path = lists / (f"hotwords_{size}_aliases{'_sf' if fusion else ''}.txt" if args.aliases
                                else f"hotwords_{size}.txt")
                fields.update(hot, hotwords=str(path))
            out.append({"phrases": size, "fusion": fusion, "fields": fields})
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True)
    ap.add_argument("--test", nargs="+", required=True)
    ap.add_argument("--lists", required=True, help="folder of bench_hotwords.py's lists")
    ap.add_argument("--known-words", required=True, help="the LM text/ARPA the tuned settings used")
    ap.add_argument("--lm", default=None, help="shallow-fusion token LM (rows with fusion when given)")
    ap.add_argument("--sizes", default="0,100,1000")
    ap.add_argument("--beam", type=int, default=8)
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--max-utts", type=int, default=0, help="0: all")
    ap.add_argument("--out", default="exp/hotwords_e2e")
    # The rows without fusion: the demo model's tuned values by default (the fusion rows keep theirs).
    ap.add_argument("--hotword-weight", type=float, default=3.0)
    ap.add_argument("--hotword-beam", type=int, default=2)
    ap.add_argument("--hotword-check", type=float, default=4.0)
    ap.add_argument("--hotword-reject", type=float, default=1.0)
    ap.add_argument("--no-aliases", dest="aliases", action="store_false", help="the plain lists hotwords_N.txt")
    args = ap.parse_args()
    torch.set_num_threads(1)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    lists = Path(args.lists)
    biased = biased_names(lists)

    test = audio_rows(args.test)
    test = test[: args.max_utts] if args.max_utts else test
    refs = [normalize_text(r["text"]) for r in test]

    rec = Recognizer(args.model, method="beam", beam=args.beam)
    waves = [rec.load(r["audio"]) for r in test]
    audio_s = sum(len(w) for w in waves) / 16000
    rows_ = settings(args)
    for row in rows_:
        row["decoder"] = rec.decoder(DecodeConfig(**row["fields"]).check())
        row["decoder"](rec.head.acoustics(waves[:2]))  # LM load, graph build and first calls outside the timing
        row.update(acoustic_s=0.0, decode_s=0.0, hyps=[])
    n_batches = (len(waves) + args.batch_size - 1) // args.batch_size
    with torch.inference_mode():
        for k, i in enumerate(range(0, len(waves), args.batch_size)):
            batch = waves[i: i + args.batch_size]
            for row in rows_:  # the settings take turns, batch by batch
                t0 = time.process_time()
                acoustics = rec.head.acoustics(batch)
                t1 = time.process_time()
                row["hyps"] += row["decoder"](acoustics)
                t2 = time.process_time()
                row["acoustic_s"] += t1 - t0
                row["decode_s"] += t2 - t1
            if (k + 1) % 20 == 0 or k + 1 == n_batches:
                print(f"batch {k + 1}/{n_batches}", file=sys.stderr, flush=True)

    results = []
    plain = {r["fusion"]: r for r in rows_ if not r["phrases"]}
    for row in rows_:
        list_words = phrase_words(read_hotwords(row["fields"]["hotwords"])) if row["phrases"] else set()
        m = biased_word_scores(refs, row["hyps"], biased, list_words)
        base = plain.get(row["fusion"])
        total = row["acoustic_s"] + row["decode_s"]
        result = {"phrases": row["phrases"], "fusion": row["fusion"],
                  "acoustic_s": round(row["acoustic_s"], 2), "decode_s": round(row["decode_s"], 2),
                  "total_s": round(total, 2),
                  "decode_ratio": round(row["decode_s"] / base["decode_s"], 3) if base else None,
                  "total_ratio": round(total / (base["acoustic_s"] + base["decode_s"]), 3) if base else None,
                  # The acoustic part is the same work in every row (its time differs by the machine's noise):
                  # the hotwords' share of the plain decode's time is what they add to decoding.
                  "added_share": round((row["decode_s"] - base["decode_s"]) / (base["acoustic_s"] + base["decode_s"]),
                                       4) if base else None,
                  **{k: round(v, 2) if isinstance(v, float) else v for k, v in m.items()}}
        results.append(result)
        name = f"{row['phrases']}_{'sf' if row['fusion'] else 'beam'}.txt"
        (out / "hyps").mkdir(exist_ok=True)
        (out / "hyps" / name).write_text("".join(f"{r['id']}\t{h}\n" for r, h in zip(test, row["hyps"])),
                                         encoding="utf-8")
    machine = f"{platform.machine()}, {os.cpu_count()} cores, 1 thread, torch {torch.__version__}"
    (out / "results.json").write_text(json.dumps({"machine": machine, "utterances": len(test),
                                                  "audio_s": round(audio_s, 1), "rows": results}, indent=1) + "\n",
                                      encoding="utf-8")
    print(f"{len(test)} utterances, {audio_s:.0f} s of audio; {machine}")
    print("| phrases | shallow fusion | WER % | name recall % | B-WER % | false names | acoustic CPU s "
          "| decoding CPU s | total CPU s | decoding vs 0 phrases | total vs 0 phrases "
          "| added decoding time / 0-phrase total |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in results:
        print(f"| {r['phrases']} | {'yes' if r['fusion'] else 'no'} | {r['wer']:.2f} | {r['recall']:.1f} "
              f"| {r['b_wer']:.1f} | {r['false_names']} | {r['acoustic_s']:.1f} | {r['decode_s']:.2f} "
              f"| {r['total_s']:.1f} | {r['decode_ratio']:.2f}x | {r['total_ratio']:.3f}x "
              f"| {100 * r['added_share']:+.1f} % |")


if __name__ == "__main__":
    main()
