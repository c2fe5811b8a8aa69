"""Hotwords on the speech-LLM head: the biased-word test of ``bench_hotwords.py`` on a subset of utterances
that contain biased names, decoded by a speech LLM (audio in, autoregressive beam search over the LLM's
tokens) with and without the same context-graph scorer, plain beam and with the adapter's CTC prefix score
(joint CTC/attention), optionally with shallow fusion of a word LM on top.

The biased names and phrase lists are the files ``bench_hotwords.py`` wrote for the same manifests
(``biased_names.txt``, ``hotwords_N.txt``); utterances are those whose reference holds a biased name, the
first ``--max-utts`` by a stable hash of their id. CPU, one thread.

    python local/bench_hotwords_llm.py --model ../../asrkit/pretrained/bible-en-speechllm-tiny \
        --test data/manifests/test_en.jsonl data/manifests/fortunes_test_en.jsonl --lists exp/hotwords \
        --max-utts 60 --hotword-weights 3 --lm exp/lm/source_word3.arpa --out exp/hotwords_llm
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch
from bench_hotwords import audio_rows, biased_names
from common import stable_hash

from asrkit.inference import DecodeConfig, Recognizer
from asrkit.inference.hotwords import phrase_words, read_hotwords
from asrkit.metrics.biased_words import biased_word_scores
from asrkit.text import normalize_text

METHODS = {  # name -> (DecodeConfig settings, needs --lm)
    "beam": ({"method": "beam"}, False),
    "beam+ctc": ({"method": "beam", "ctc_weight": 0.8}, False),
    "shallow_fusion+ctc": ({"method": "shallow_fusion", "lm_weight": 0.3, "eos_bias": -0.2, "ctc_weight": 0.8},
                           True),
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True)
    ap.add_argument("--test", nargs="+", required=True)
    ap.add_argument("--lists", required=True, help="folder with biased_names.txt and hotwords_N.txt")
    ap.add_argument("--sizes", default="0,100,1000")
    ap.add_argument("--methods", default="beam,beam+ctc,shallow_fusion+ctc")
    ap.add_argument("--lm", default=None, help="word LM for shallow_fusion+ctc")
    ap.add_argument("--hotword-weights", default="3")
    ap.add_argument("--beam", type=int, default=4)
    ap.add_argument("--prune-topk", type=int, default=None,
                    help="pre-beam: the LLM's most likely tokens per step that the scorers see [2 * beam]")
    ap.add_argument("--max-utts", type=int, default=60)
    ap.add_argument("--batch-size", type=int, default=4)
    ap.add_argument("--out", default="exp/hotwords_llm")
    args = ap.parse_args()
    torch.set_num_threads(1)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    lists = Path(args.lists)
    biased = biased_names(lists)

    test = audio_rows(args.test)
    test = [r for r in test if biased & set(normalize_text(r["text"]).split())]
    test = sorted(test, key=lambda r: stable_hash(r["id"]))[: args.max_utts]
    refs = [normalize_text(r["text"]) for r in test]
    n_biased = sum(w in biased for r in refs for w in r.split())
    seconds_audio = sum(r["duration"] for r in test)
    print(f"{len(test)} utterances ({seconds_audio:.0f} s of audio), {n_biased} biased words", file=sys.stderr)

    rec = Recognizer(args.model, method="beam", beam=args.beam)
    waves = [rec.load(r["audio"]) for r in test]
    results = []
    for name in args.methods.split(","):
        settings, needs_lm = METHODS[name]
        if needs_lm and not args.lm:
            continue
        for size in [int(s) for s in args.sizes.split(",")]:
            # Every word of the list's phrases: wrong output words of it are false names.
            list_words = phrase_words(read_hotwords(str(lists / f"hotwords_{size}.txt"))) if size else set()
            for w in [float(x) for x in args.hotword_weights.split(",")] if size else [0.0]:
                cfg = DecodeConfig(**{**settings, "beam": args.beam, "prune_topk": args.prune_topk,
                                       "lm": args.lm if needs_lm else None,
                                       "hotwords": str(lists / f"hotwords_{size}.txt") if size else None,
                                       "hotword_weight": w or 3.0})
                dec = rec.decoder(cfg.check())
                start = time.perf_counter()
                hyps = []
                with torch.inference_mode():
                    for i in range(0, len(waves), args.batch_size):
                        hyps += dec(rec.head.acoustics(waves[i: i + args.batch_size]))
                secs = time.perf_counter() - start
                hyps = [normalize_text(h) for h in hyps]
                m = biased_word_scores(refs, hyps, biased, list_words)
                row = {"method": name, "phrases": size, "hotword_weight": w, "seconds": round(secs, 1),
                       "rtf": round(secs / seconds_audio, 4),
                       **{k: round(v, 2) if isinstance(v, float) else v for k, v in m.items()}}
                results.append(row)
                print(json.dumps(row), file=sys.stderr, flush=True)
                (out / f"hyp_{name}_{size}_{w:g}.txt").write_text("\n".join(hyps) + "\n", encoding="utf-8")
    (out / "results.json").write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    print("| method | phrases | hotword weight | WER % | name recall % | B-WER % | U-WER % | RTF |")
    print("|---|---|---|---|---|---|---|---|")
    for r in results:
        print(f"| {r['method']} | {r['phrases']} | {r['hotword_weight'] if r['phrases'] else '-'} | {r['wer']:.2f} "
              f"| {r['recall']:.1f} | {r['b_wer']:.1f} | {r['u_wer']:.2f} | {r['rtf']:.4f} |")


if __name__ == "__main__":
    main()
