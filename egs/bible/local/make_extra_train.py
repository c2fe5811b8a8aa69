"""More training verses for the speech LLM: training-book verses not yet synthesized, nor held out.

The speech LLM overfits its 7,000 English + 4,000 Spanish training utterances (v6: dev loss flat over its last
three epochs while the train loss kept falling), and the Bible has ~24,000 more training-book verses. This
writes ``data/sets/train_en_extra.tsv`` and ``data/sets/train_es_extra.tsv`` for ``local/synth.py``: verses of
the training books (never dev, test or reserved books) that are in neither ``train_en``/``train_es`` nor the
held-out dev sets (``heldout_dev_en``/``heldout_dev_es``, kept out of every LM text and every training set),
at most ``--max-words`` words, sampled with a fixed seed. The CTC encoder (trained on ``train_en`` only) is not
retrained: the new audio only reaches the adapter and the LoRA.

    python local/make_extra_train.py --data data --n-en 8000 --n-es 4000
    python local/synth.py --data data --set train_en_extra --set train_es_extra --nj 2
    # every remaining verse, as a second pair of sets:
    python local/make_extra_train.py --data data --n-en 100000 --n-es 100000 --name extra2 \
        --exclude train_en_extra train_es_extra --overlap-languages
    # the WEB deuterocanon (Tobit, Sirach, Maccabees, ...; English only, RV1909 has none), read with mod2imp:
    python local/make_extra_train.py --data data --n-en 100000 --n-es 0 --name extra3 --deuterocanon
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import read_tsv, write_tsv  # noqa: E402
from prepare_data import en_rows, es_rows, sample_rows, select_by_split  # noqa: E402
from text_prep import extract_bible  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=Path("data"))
    ap.add_argument("--n-en", type=int, default=8000)
    ap.add_argument("--n-es", type=int, default=4000)
    ap.add_argument("--max-words", type=int, default=70, help="as run.sh's max_train_words")
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--name", default="extra", help="writes train_en_NAME.tsv and train_es_NAME.tsv")
    ap.add_argument("--exclude", nargs="*", default=[], help="more sets whose verses are not picked again")
    ap.add_argument("--overlap-languages", action="store_true",
                    help="the Spanish pick may hold verses of this run's English pick (default: disjoint)")
    ap.add_argument("--deuterocanon", action="store_true",
                    help="English verses of the WEB deuterocanon (engWEB2015eb via mod2imp) instead of web.tsv")
    args = ap.parse_args()
    sets = args.data / "sets"

    def verse_ids(name: str) -> set[str]:
        # utterance ids are "<lang>-<verse id>"
        return {r[0].split("-", 1)[1] for r in read_tsv(sets / f"{name}.tsv")}

    held = ("train_en", "train_es", "heldout_dev_en", "heldout_dev_es", *args.exclude)
    excluded = set().union(*(verse_ids(n) for n in held))
    web = (extract_bible("engWEB2015eb", deuterocanon=True) if args.deuterocanon
           else [tuple(r) for r in read_tsv(args.data / "text" / "web.tsv")])
    aligned = [tuple(r) for r in read_tsv(args.data / "text" / "bible_es_en.tsv")]
    en_pool = [r for r in select_by_split(web, "train") if r[0] not in excluded and len(r[1].split()) <= args.max_words]
    en = sample_rows(en_pool, args.n_en, args.seed)
    used = excluded if args.overlap_languages else excluded | {r[0] for r in en}
    es_pool = [r for r in select_by_split(aligned, "train")
               if r[0] not in used and len(r[1].split()) <= args.max_words]
    es = sample_rows(es_pool, args.n_es, args.seed + 1)
    write_tsv(sets / f"train_en_{args.name}.tsv", en_rows(en))
    write_tsv(sets / f"train_es_{args.name}.tsv", es_rows(es))
    print(f"train_en_{args.name}: {len(en)} of {len(en_pool)} verses; "
          f"train_es_{args.name}: {len(es)} of {len(es_pool)}")


if __name__ == "__main__":
    main()
