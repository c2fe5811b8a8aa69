"""Mandarin sets for the CER recipe (run_zh.sh stage 0): a larger training set, a dev set and the LM text.

Usage: prepare_zh.py --data data [--n-dev 250 --n-train 0 --seed 11]

Reads data/text/zh.tsv (fortunes-zh sentences, stage 0 of run.sh) and data/sets/test_zh.tsv (stage 1 of
run.sh, which this script never changes). Writes

  data/sets/dev_zh.tsv           n_dev sentences that are not in test_zh: the set fusion weights are tuned on
  data/sets/train_zh_large.tsv   n_train (0 = all) of the sentences in neither test_zh nor dev_zh
  data/lm/zh_lm.txt              every sentence in neither test_zh nor dev_zh: the n-gram LM text

so test_zh and dev_zh are held out of both the acoustic training text and the LM text (a sentence counts
as the same when its normalised text is, so a duplicate under another id cannot leak either). The
training sentences are part of the LM text, as a recipe's transcripts usually are.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[3]))
from common import read_tsv, write_tsv  # noqa: E402
from prepare_data import sample_rows, write_lines  # noqa: E402

from asrkit.text import normalize_text  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=Path("data"))
    ap.add_argument("--n-dev", type=int, default=250, help="dev_zh sentences (tuning set)")
    ap.add_argument("--n-train", type=int, default=0, help="train_zh_large sentences (0: all that are left)")
    ap.add_argument("--seed", type=int, default=11)
    args = ap.parse_args()
    test_path = args.data / "sets" / "test_zh.tsv"
    if not test_path.exists():
        sys.exit(f"{test_path}: missing; run ./run.sh --stage 0 --stop-stage 1 first")

    zh = [(i, t) for i, t in read_tsv(args.data / "text" / "zh.tsv")]
    test_norm = {normalize_text(r[2], "zh") for r in read_tsv(test_path)}
    pool = [(i, t) for i, t in zh if normalize_text(t, "zh") not in test_norm]
    dev = sample_rows(pool, args.n_dev, args.seed)
    dev_norm = {normalize_text(t, "zh") for _, t in dev}
    rest = [(i, t) for i, t in pool if normalize_text(t, "zh") not in dev_norm]
    train = rest if args.n_train <= 0 else sample_rows(rest, args.n_train, args.seed + 1)

    write_tsv(args.data / "sets" / "dev_zh.tsv", [(f"zh-{i}", "zh", t, "") for i, t in dev])
    write_tsv(args.data / "sets" / "train_zh_large.tsv", [(f"zh-{i}", "zh", t, "") for i, t in train])
    write_lines(args.data / "lm" / "zh_lm.txt", [t for _, t in rest])
    held = test_norm | dev_norm
    assert not any(normalize_text(t, "zh") in held for _, t in rest)
    print(f"zh: {len(zh)} sentences; test_zh {len(test_norm)}, dev_zh {len(dev)}, train_zh_large {len(train)}, "
          f"LM text {len(rest)} lines ({sum(len(normalize_text(t, 'zh')) for _, t in rest)} characters)")


if __name__ == "__main__":
    main()
