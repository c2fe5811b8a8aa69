"""A dev set for the hotword benchmark whose names are like the test's: fortunes with rare proper names.

The hotword tuning set made from held-out Bible verses (``heldout_dev_en``) holds mostly Bible names, which
the demo model reads almost right (dev name recall ~85 % with aliases), while the test names are half
modern names from the fortunes (test recall ~68 %): weights and alias settings tuned there saturate. This
picks ``--n`` lines of the fortunes LM text (``data/lm/fortunes_lm_en.txt``: neither test nor dev audio;
only the fortunes *target* LMs were trained on it, and the hotword benchmark uses the Bible LM) that hold at
least one proper name (the benchmark's rule: capitalised inside a sentence, never lower case) seen at most
once in the training transcripts, at most ``--max-words`` words long, and writes ``data/sets/<set>.tsv`` for
``local/synth.py``. Utterance ids are a hash of the text; the pick is seeded.

    python local/make_names_dev.py --data data --set fortunes_names_dev_en --n 300
    python local/synth.py --data data --set fortunes_names_dev_en
"""

from __future__ import annotations

import argparse
import json
import random
from collections import Counter
from pathlib import Path

from bench_hotwords import proper_names
from common import stable_hash, write_tsv

from asrkit.text import normalize_text


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default="data")
    ap.add_argument("--set", default="fortunes_names_dev_en")
    ap.add_argument("--n", type=int, default=300)
    ap.add_argument("--max-words", type=int, default=30)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    data = Path(args.data)
    lines = [t for t in (data / "lm" / "fortunes_lm_en.txt").read_text(encoding="utf-8").splitlines() if t.strip()]
    train = [json.loads(r)["text"] for r in (data / "manifests" / "train_en.jsonl").read_text().splitlines() if r]
    train_counts = Counter(w for t in train for w in normalize_text(t).split())
    names = proper_names(lines, train)
    rare = {w for w in names if train_counts[w] <= 1}
    keep = [t for t in lines if len(t.split()) <= args.max_words and rare & set(normalize_text(t).split())]
    random.Random(args.seed).shuffle(keep)
    rows = [(f"en-fnames-{stable_hash(t) % 10**10:010d}", "en", t, "") for t in keep[: args.n]]
    write_tsv(data / "sets" / f"{args.set}.tsv", rows)
    print(f"{args.set}: {len(rows)} of {len(keep)} lines with a rare name")


if __name__ == "__main__":
    main()
