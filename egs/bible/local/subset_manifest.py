"""Seeded random subset of a JSONL manifest, audio paths rewritten for the new folder.

Rows keep the corpus order unless ``--shuffle``: then they come in random order, so that the first
K lines (``head -n K``) are themselves a random subset spread over all books.

    python local/subset_manifest.py --manifest data/manifests/train_en.jsonl --n 4000 --max-duration 20 \
        --seed 0 --shuffle --out exp/hertz/data/train_en_4000.jsonl
"""

from __future__ import annotations

import argparse
import json
import os
import random
from pathlib import Path


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--manifest", required=True)
    p.add_argument("--n", type=int, required=True, help="utterances to keep (all if fewer)")
    p.add_argument("--max-duration", type=float, default=None, help="drop longer utterances first (seconds)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--shuffle", action="store_true", help="write the rows in random order")
    p.add_argument("--out", required=True)
    args = p.parse_args()
    src, out = Path(args.manifest), Path(args.out)
    rows = [json.loads(line) for line in src.read_text(encoding="utf-8").splitlines() if line.strip()]
    if args.max_duration is not None:
        rows = [r for r in rows if r["duration"] <= args.max_duration]
    keep = random.Random(args.seed).sample(range(len(rows)), min(args.n, len(rows)))
    if not args.shuffle:
        keep.sort()
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", encoding="utf-8") as f:
        for i in keep:
            r = dict(rows[i])
            audio = Path(r["audio"])
            if not audio.is_absolute():
                r["audio"] = os.path.relpath((src.parent / audio).resolve(), out.parent.resolve())
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    hours = sum(rows[i]["duration"] for i in keep) / 3600
    print(f"{out}: {len(keep)} of {len(rows)} utterances, {hours:.2f} h")


if __name__ == "__main__":
    main()
