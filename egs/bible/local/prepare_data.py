"""Stage 1: align RV1909 to WEB, make the book-based splits, the utterance selections and LM text.

Usage: prepare_data.py --data data [--n-train-en 7000 --n-train-es 4000 --n-fortunes 400 --n-zh 1200 ...]

Writes
  data/text/bible_es_en.tsv      verse_id, spanish, english (content-aligned, range ids for merged groups)
  data/text/realigned.tsv        groups that differ from a plain id join (id, es ids, en ids)
  data/sets/<set>.tsv            utt_id, lang, text, translation  (digits spelled out; input of stage 2)
  data/lm/train_text_en.txt, fortunes_lm_en.txt, all_text_en.txt
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from align import align_bible  # noqa: E402
from common import expand_digits, read_tsv, split_of, spoken_es, stable_hash, verse_key, write_tsv  # noqa: E402

SetRow = tuple[str, str, str, str]  # utt_id, lang, text, translation


def en_rows(rows: Sequence[tuple[str, ...]]) -> list[SetRow]:
    """Set rows of English verses (verse_id, WEB text): the spoken text with digits spelled out."""
    return [(f"en-{v}", "en", expand_digits(t, "en"), "") for v, t in rows]


def es_rows(rows: Sequence[tuple[str, ...]]) -> list[SetRow]:
    """Set rows of aligned verses (verse_id, RV1909, WEB): spoken Spanish, the English as the translation."""
    return [(f"es-{v}", "es", spoken_es(s), expand_digits(e, "en")) for v, s, e in rows]


def sample_rows(rows: Sequence[tuple[str, ...]], n: int, seed: int) -> list[tuple[str, ...]]:
    """Deterministic sample of n rows, returned in their original (canonical) order."""
    if n >= len(rows):
        return list(rows)
    idx = np.random.default_rng(seed).choice(len(rows), size=n, replace=False)
    return [rows[i] for i in sorted(idx)]


def select_by_split(rows: Sequence[tuple[str, ...]], split: str) -> list[tuple[str, ...]]:
    """Rows (first column a verse id) of one split; reserved books are never returned."""
    assert split != "reserved"
    return [r for r in rows if split_of(r[0]) == split]


def hash_split(ids: Sequence[str], n_test: int) -> tuple[list[str], list[str]]:
    """Split ids into (train, test) by a stable hash: the n_test ids with the smallest hash are test.
    Adding or removing one id never moves any other id across the split."""
    by_hash = sorted(ids, key=lambda i: (stable_hash("split:" + i), i))
    test = set(by_hash[:n_test])
    return [i for i in ids if i not in test], [i for i in ids if i in test]


def write_lines(path: Path, lines: Sequence[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    tmp.replace(path)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=Path("data"))
    ap.add_argument("--n-train-en", type=int, default=7000)
    ap.add_argument("--n-train-es", type=int, default=4000)
    ap.add_argument("--n-fortunes", type=int, default=400)
    ap.add_argument("--n-fortunes-dev", type=int, default=100,
                    help="target-domain dev set (weights for the cross-domain experiment are tuned on it)")
    ap.add_argument("--n-zh", type=int, default=1200)
    ap.add_argument("--n-zh-test", type=int, default=200)
    ap.add_argument("--max-train-words", type=int, default=70,
                    help="train verses longer than this (in words) are not synthesized (>25 s of audio)")
    ap.add_argument("--n-heldout-dev-en", type=int, default=400,
                    help="larger English dev set: training-book verses not synthesized for training and kept "
                         "out of every LM text (Titus alone has 46 verses, too few to tune fusion weights on)")
    ap.add_argument("--n-heldout-dev-es", type=int, default=300,
                    help="the same for Spanish -> English (held-out aligned training-book verses)")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    text_dir, sets_dir, lm_dir = args.data / "text", args.data / "sets", args.data / "lm"

    web = [tuple(r) for r in read_tsv(text_dir / "web.tsv")]
    rv = [tuple(r) for r in read_tsv(text_dir / "rv1909.tsv")]
    fortunes = [tuple(r) for r in read_tsv(text_dir / "fortunes_en.tsv")]
    zh = [tuple(r) for r in read_tsv(text_dir / "zh.tsv")]

    # --- alignment (cached: it only depends on the two text files)
    aligned_path = text_dir / "bible_es_en.tsv"
    if aligned_path.exists() and aligned_path.stat().st_mtime >= max(
            (text_dir / "web.tsv").stat().st_mtime, (text_dir / "rv1909.tsv").stat().st_mtime):
        print(f"alignment: reusing {aligned_path}")
    else:
        t0 = time.time()
        res = align_bible(rv, web)
        write_tsv(text_dir / "realigned.tsv", res.realigned)
        write_tsv(aligned_path, res.rows)
        n_multi = sum(1 for r in res.rows if "-" in r[0])
        print(f"alignment: {len(res.rows)} rows ({n_multi} with range ids), {len(res.flagged_chapters)} "
              f"flagged chapters in {res.n_regions} DP regions, {len(res.realigned)} groups re-aligned, "
              f"es verses used {res.n_es_used}/{len(rv)}, en {res.n_en_used}/{len(web)}; {time.time() - t0:.1f} s")
    aligned = [tuple(r) for r in read_tsv(aligned_path)]

    def short(rows: Sequence[tuple[str, ...]], col: int) -> list[tuple[str, ...]]:
        return [r for r in rows if len(r[col].split()) <= args.max_train_words]

    web_train = select_by_split(web, "train")
    al_train = select_by_split(aligned, "train")
    train_en_rows = sample_rows(short(web_train, 1), args.n_train_en, args.seed)
    train_es_rows = sample_rows(short(al_train, 1), args.n_train_es, args.seed + 1)
    # Held-out dev verses: training books, but neither synthesized for training (in either language) nor in
    # any LM text below, so weights tuned on them are not biased towards an LM that has seen them.
    used = {r[0] for r in train_en_rows} | {r[0] for r in train_es_rows}
    heldout_en = sample_rows([r for r in short(web_train, 1) if r[0] not in used], args.n_heldout_dev_en,
                             args.seed + 5)
    used |= {r[0] for r in heldout_en}
    heldout_es = sample_rows([r for r in short(al_train, 1) if r[0] not in used], args.n_heldout_dev_es,
                             args.seed + 6)
    heldout_ids = {r[0] for r in heldout_en} | {r[0] for r in heldout_es}
    sets: dict[str, list[SetRow]] = {
        "train_en": en_rows(train_en_rows),
        "dev_en": en_rows(select_by_split(web, "dev")),
        "test_en": en_rows(select_by_split(web, "test")),
        "train_es": es_rows(train_es_rows),
        "heldout_dev_en": en_rows(heldout_en),
        "heldout_dev_es": es_rows(heldout_es),
        "dev_es": es_rows(select_by_split(aligned, "dev")),
        "test_es": es_rows(select_by_split(aligned, "test")),
    }
    fort_test = sample_rows(fortunes, args.n_fortunes, args.seed + 2)
    fort_test_ids = {r[0] for r in fort_test}
    sets["fortunes_test_en"] = en_rows(fort_test)
    # The target-domain dev set comes from the remaining fortunes; it is kept out of every LM text too.
    fort_dev = sample_rows([r for r in fortunes if r[0] not in fort_test_ids], args.n_fortunes_dev, args.seed + 4)
    fort_test_ids |= {r[0] for r in fort_dev}
    sets["fortunes_dev_en"] = en_rows(fort_dev)
    zh_sel = sample_rows(zh, args.n_zh, args.seed + 3)
    zh_text = dict(zh_sel)
    zh_train, zh_test = hash_split([i for i, _ in zh_sel], args.n_zh_test)
    sets["train_zh"] = [(f"zh-{i}", "zh", zh_text[i], "") for i in zh_train]
    sets["test_zh"] = [(f"zh-{i}", "zh", zh_text[i], "") for i in zh_test]

    for name, rows in sets.items():
        write_tsv(sets_dir / f"{name}.tsv", rows)
        print(f"set {name}: {len(rows)} utterances, {sum(len(r[2].split()) for r in rows)} words")

    # --- LM text: only train-book verses and the fortunes that are neither test nor dev audio
    train_lines = [expand_digits(t, "en") for v, t in web_train if v not in heldout_ids]
    fort_lm = [expand_digits(t, "en") for i, t in fortunes if i not in fort_test_ids]
    write_lines(lm_dir / "train_text_en.txt", train_lines)
    write_lines(lm_dir / "fortunes_lm_en.txt", fort_lm)
    write_lines(lm_dir / "all_text_en.txt", train_lines + fort_lm)
    print(f"lm: train_text_en {len(train_lines)} lines, fortunes_lm_en {len(fort_lm)}, "
          f"all_text_en {len(train_lines) + len(fort_lm)}")

    # Sanity checks that guard the split rule whatever the options were.
    for name, rows in sets.items():
        for utt, lang, _, _ in rows:
            if lang == "zh" or "fortune-" in utt:
                continue
            split = split_of(utt.split("-", 1)[1])
            assert split == ("train" if name.startswith("heldout_") else name.split("_")[0]), (name, utt)
    assert sorted(web_train, key=lambda r: verse_key(r[0])) == web_train


if __name__ == "__main__":
    main()
