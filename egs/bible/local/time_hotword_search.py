"""Paired timing of the CTC search with and without a hotword list, on saved emissions.

Plain beam search and the same search with ``--hotwords`` take turns pass by pass over all utterances (CPU
time of the decode calls, one thread); the ratio of each pair is taken and the median reported, the first
pair left out (it holds the cold start: caches, the allocator's first large blocks). The machine's speed
drifts between minutes and processes by up to a tenth, so neighbouring passes compare better than two
minima taken at different times (egs/bible RESULTS, "Paired timing").

    python local/time_hotword_search.py --emissions exp/hotwords/test.npz \\
        --test data/manifests/test_en.jsonl data/manifests/fortunes_test_en.jsonl \\
        --tokens ../../asrkit/pretrained/bible-en-ctc-small/tokenizer.model \\
        --hotwords exp/hotwords_bpe_paired/hotwords_1000.txt --hotword-weight 3 --hotword-beam 2
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import numpy as np
import torch

from asrkit.inference.emissions_decoder import EmissionsDecoder
from decoders.vocabulary import Vocabulary


def paired_times(plain, biased, items: list, pairs: int) -> list[tuple[float, float]]:
    """CPU seconds of ``pairs`` (plain pass, biased pass) pairs over ``items``."""
    out = []
    for _ in range(pairs):
        start = time.process_time()
        plain.decode(items)
        middle = time.process_time()
        biased.decode(items)
        out.append((middle - start, time.process_time() - middle))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--emissions", required=True, help=".npz of (T, V) log-probabilities by utterance id")
    ap.add_argument("--test", nargs="+", required=True, help="manifests: the utterances, in order")
    ap.add_argument("--tokens", required=True, help="tokens.txt or the model's sentencepiece .model")
    ap.add_argument("--hotwords", required=True)
    ap.add_argument("--hotword-weight", type=float, required=True)
    ap.add_argument("--hotword-beam", type=int, required=True)
    ap.add_argument("--beam", type=int, default=8)
    ap.add_argument("--pairs", type=int, default=9, help="pairs of passes; the first is left out of the median")
    args = ap.parse_args()
    torch.set_num_threads(1)
    ids = [json.loads(line)["id"] for m in args.test for line in Path(m).read_text(encoding="utf-8").splitlines()
           if line.strip()]
    data = np.load(args.emissions)
    items = [torch.from_numpy(data[i]) for i in ids]
    vocab = (Vocabulary.from_sentencepiece(args.tokens) if args.tokens.endswith(".model")
             else Vocabulary.from_tokens_txt(args.tokens))
    plain = EmissionsDecoder(vocab, method="beam", beam=args.beam)
    biased = EmissionsDecoder(vocab, method="beam", beam=args.beam, hotwords=args.hotwords,
                              hotword_weight=args.hotword_weight, hotword_beam=args.hotword_beam)
    for dec in (plain, biased):
        dec.decode(items[:4])  # builds the graph's native twin outside the timing
    times = paired_times(plain, biased, items, max(2, args.pairs))
    kept = times[1:]
    print(f"{len(items)} utterances, {len(kept)} pairs (the first left out), one thread")
    print("| pass | plain beam s | with hotwords s | ratio |")
    print("|---|---|---|---|")
    for k, (a, b) in enumerate(times, 1):
        print(f"| {k} | {a:.3f} | {b:.3f} | {b / a:.3f}x |")
    median = statistics.median(b / a for a, b in kept)
    fastest = min(b for _, b in kept) / min(a for a, _ in kept)
    print(f"median ratio {median:.3f}x; fastest with / fastest without {fastest:.3f}x")


if __name__ == "__main__":
    main()
