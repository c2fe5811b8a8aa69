"""Peer benchmark: hotwords (context biasing) in asrkit's CTC search vs pyctcdecode's hotwords.

pyctcdecode is what most people use to decode any CTC model's logits with an LM, and it has hotwords: each
beam's partial text is matched against a regular expression of the hotwords, which makes its time grow with
the list (pyctcdecode issue #109: about 10x with 100 hotwords). asrkit's hotwords are a context-graph scorer
inside the compiled search (docs/hotwords.md). Both decode the same saved log-probabilities of the demo CTC
model (``egs/bible/local/save_emissions.py``) with the lists of the recipe's hotword benchmark
(``egs/bible/local/bench_hotwords.py --out DIR`` writes ``biased_names.txt``, ``hotwords_{100,1000}.txt`` and
``hotwords_{100,1000}_aliases.txt``: the rare names of the test references plus distractor names), beam 8, no
LM, one thread. Rows per list size (0, 100, 1000 phrases):

- **pyctcdecode**: ``decode(logits, beam_width=8, hotwords=phrases, hotword_weight=W)`` with its default pruning
  (``token_min_logp`` -5, ``beam_prune_logp`` -10); W is tuned on a dev set with its 100-phrase list (the
  lowest WER over ``--pyctc-weights``; ``--dev-*``), or ``--pyctc-weights`` is one value;
- **asrkit**: the same phrases, context-graph weight and hotword beam as tuned in egs/bible/RESULTS.md (3 / 2);
- **asrkit, full**: the list with the model's own spellings as aliases, ``--hotword-fuzzy``, ``--hotword-check``
  and ``--hotword-reject`` (the recipe's tuned setting; needs ``--known-words``).

Columns: WER, name recall, B-WER, U-WER, false names (:mod:`asrkit.metrics.biased_words`), CPU seconds of the
decode calls (``time.process_time``, one thread; the fastest of ``--repeats`` passes, pyctcdecode's 1000-phrase
row one pass), each row's time over its decoder's own 0-phrase row, and pyctcdecode's time over asrkit's at
the same size. ``--max-utts`` takes that many test utterances, evenly spaced (pyctcdecode with 1000 phrases
takes ~0.8 s per utterance here).

    OMP_NUM_THREADS=1 .venv/bin/python bench/peer_hotwords.py --max-utts 400 \\
        --dev-emissions egs/bible/exp/hotwords/dev_all.npz --dev-lists egs/bible/exp/hw_reject_dev2 \\
        --dev egs/bible/data/manifests/{dev_en,fortunes_dev_en,heldout_dev_en,fortunes_names_dev_en}.jsonl
"""

from __future__ import annotations

import argparse
import gc
import json
import logging
import os
import platform
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from peer_ctc_lm import pyctcdecode_labels  # noqa: E402

from asrkit.data.jsonl import read_jsonl  # noqa: E402
from asrkit.inference.emissions_decoder import EmissionsDecoder  # noqa: E402
from asrkit.inference.hotwords import phrase_words, read_hotwords  # noqa: E402
from asrkit.metrics.biased_words import biased_word_scores  # noqa: E402
from asrkit.text import normalize_text  # noqa: E402
from decoders.vocabulary import Vocabulary  # noqa: E402

EGS = ROOT / "egs" / "bible"
DEFAULT_LISTS = EGS / "exp" / "hotwords_reject_test"
DEFAULT_EMISSIONS = EGS / "exp" / "hotwords" / "test.npz"
DEFAULT_TEST = [EGS / "data" / "manifests" / "test_en.jsonl", EGS / "data" / "manifests" / "fortunes_test_en.jsonl"]
DEFAULT_TOKENS = ROOT / "asrkit" / "pretrained" / "bible-en-ctc-small" / "tokenizer.model"
DEFAULT_KNOWN = EGS / "exp" / "lm" / "source_word3.arpa"
DEFAULT_OUT = ROOT / "bench" / "results" / "peer_hotwords.md"
BEAM = 8
# asrkit's setting, as tuned on the hotword dev sets (egs/bible/RESULTS.md, "Hotwords"): without fusion.
OURS = dict(hotword_weight=3.0, hotword_beam=2)
OURS_FULL = dict(OURS, hotword_fuzzy=0.34, hotword_check=4.0, hotword_reject=1.0)


def load_set(emissions: Path, manifests: Sequence[Path], max_utts: int) -> tuple[list[str], list[np.ndarray]]:
    """References (normalised) and (T, V) log-probabilities of the manifests' utterances, ``max_utts`` of them
    evenly spaced (0: all)."""
    utts = [u for m in manifests for u in read_jsonl(m)]
    if max_utts and max_utts < len(utts):
        utts = [utts[i * len(utts) // max_utts] for i in range(max_utts)]
    data = np.load(emissions)
    missing = [u["id"] for u in utts if u["id"] not in data]
    if missing:
        raise SystemExit(f"{emissions}: no emissions for {len(missing)} utterances (first: {missing[0]})")
    lps = [torch.log_softmax(torch.from_numpy(data[u["id"]]).float(), dim=-1).numpy() for u in utts]
    return [normalize_text(u["text"]) for u in utts], lps


def read_list(lists: Path, size: int, aliases: bool = False) -> Path | None:
    """The benchmark's list of ``size`` phrases (None for 0)."""
    if not size:
        return None
    path = lists / f"hotwords_{size}{'_aliases' if aliases else ''}.txt"
    if not path.is_file():
        raise SystemExit(f"{path}: missing (run egs/bible/local/bench_hotwords.py with --out {lists})")
    return path


def phrases_of(path: Path | None) -> list[str]:
    """The phrases of a hotword list as it writes them (none for no list)."""
    return [h.display or h.phrase for h in read_hotwords(path)] if path else []


def pyctcdecode_decode(vocab_pieces: Sequence[str], blank: int) -> Callable[..., list[str]]:
    """``decode(lps, phrases, weight) -> texts`` with pyctcdecode (no LM, beam 8, its default pruning)."""
    logging.getLogger("pyctcdecode").setLevel(logging.ERROR)
    from pyctcdecode import build_ctcdecoder

    dec = build_ctcdecoder(pyctcdecode_labels(vocab_pieces, blank))

    def decode(lps: Sequence[np.ndarray], phrases: Sequence[str], weight: float) -> list[str]:
        hot = list(phrases) or None
        return [dec.decode(lp, beam_width=BEAM, hotwords=hot, hotword_weight=weight) for lp in lps]

    return decode


def timed(fn: Callable[[], list[str]], repeats: int) -> tuple[list[str], float]:
    """The texts and the fastest CPU seconds of ``repeats`` calls."""
    best, out = float("inf"), []
    for _ in range(max(1, repeats)):
        gc.collect()  # the other decoder's garbage is not this one's time
        start = time.process_time()
        out = fn()
        best = min(best, time.process_time() - start)
    return out, best


def tune_pyctcdecode(decode: Callable[..., list[str]], dev_refs: list[str], dev_lps: list[np.ndarray],
                     phrases: list[str], weights: Sequence[float]) -> tuple[float, list[dict]]:
    """The weight with the lowest dev WER (ties: the smaller weight), and every grid point's scores."""
    grid = []
    for w in weights:
        s = biased_word_scores(dev_refs, decode(dev_lps, phrases, w), set())
        grid.append({"weight": w, "wer": round(s["wer"], 2)})
        print(f"pyctcdecode dev: hotword_weight {w:g}: WER {s['wer']:.2f}", file=sys.stderr)
    best = min(grid, key=lambda g: (g["wer"], g["weight"]))
    return best["weight"], grid


def format_table(rows: list[dict]) -> str:
    own0 = {r["decoder"]: r["seconds"] for r in rows if r["phrases"] == 0}
    ours = {(r["phrases"]): r["seconds"] for r in rows if r["decoder"] == "asrkit"}
    lines = ["| decoder | phrases | hotword weight | WER % | name recall % | B-WER % | U-WER % | false names "
             "| CPU s | time vs own 0 phrases | pyctcdecode time / asrkit time |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        base = own0.get(r["decoder"]) or own0.get("asrkit")
        own = f"{r['seconds'] / base:.2f}x" if base else "-"
        vs = (f"{r['seconds'] / ours[r['phrases']]:.1f}x" if r["decoder"] == "pyctcdecode" and ours.get(r["phrases"])
              else "")
        lines.append(f"| {r['decoder']} | {r['phrases']} | {r['weight'] if r['phrases'] else '-'} | {r['wer']:.2f} "
                     f"| {r['recall']:.1f} | {r['b_wer']:.1f} | {r['u_wer']:.2f} | {r['false_names']} "
                     f"| {r['seconds']:.2f} | {own} | {vs} |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--emissions", type=Path, default=DEFAULT_EMISSIONS)
    ap.add_argument("--test", type=Path, nargs="+", default=DEFAULT_TEST)
    ap.add_argument("--lists", type=Path, default=DEFAULT_LISTS, help="a bench_hotwords.py --out folder")
    ap.add_argument("--tokens", type=Path, default=DEFAULT_TOKENS, help="the model's sentencepiece .model")
    ap.add_argument("--known-words", type=Path, default=DEFAULT_KNOWN, help="for the full rows (check, fuzzy)")
    ap.add_argument("--sizes", default="0,100,1000")
    ap.add_argument("--max-utts", type=int, default=400)
    ap.add_argument("--repeats", type=int, default=3, help="passes per asrkit row (the fastest is reported)")
    ap.add_argument("--pyctc-weights", default="2,5,10,20",
                    help="pyctcdecode hotword_weight grid (one value: no tuning)")
    ap.add_argument("--dev-emissions", type=Path, default=None)
    ap.add_argument("--dev", type=Path, nargs="*", default=[], help="dev manifests (pyctcdecode's weight)")
    ap.add_argument("--dev-lists", type=Path, default=None, help="the dev run's bench_hotwords.py --out folder")
    ap.add_argument("--max-dev-utts", type=int, default=200)
    ap.add_argument("--no-full", action="store_true", help="leave out the asrkit rows with aliases and checks")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    sizes = [int(s) for s in args.sizes.split(",")]
    weights = [float(w) for w in args.pyctc_weights.split(",")]
    vocab = Vocabulary.from_sentencepiece(str(args.tokens))
    refs, lps = load_set(args.emissions, args.test, args.max_utts)
    biased = {h.phrase for h in read_hotwords(args.lists / "biased_names.txt")}
    pyctc = pyctcdecode_decode(vocab.pieces(), vocab.blank_id)

    tuning: dict = {}
    weight = weights[0]
    if len(weights) > 1:
        if not (args.dev_emissions and args.dev and args.dev_lists):
            raise SystemExit("--pyctc-weights is a grid: give --dev-emissions, --dev and --dev-lists (or one weight)")
        dev_refs, dev_lps = load_set(args.dev_emissions, args.dev, args.max_dev_utts)
        weight, grid = tune_pyctcdecode(pyctc, dev_refs, dev_lps, phrases_of(read_list(args.dev_lists, 100)), weights)
        tuning = {"grid": grid, "chosen": weight, "dev_utts": len(dev_refs)}

    tensors = [torch.from_numpy(x) for x in lps]
    rows = []

    def add(decoder: str, size: int, w: float, hyps: list[str], seconds: float, path: Path | None) -> None:
        listed = phrase_words(read_hotwords(path)) if path else set()
        s = biased_word_scores(refs, hyps, biased, listed)
        rows.append({"decoder": decoder, "phrases": size, "weight": w, "seconds": round(seconds, 4),
                     **{k: round(v, 2) if isinstance(v, float) else v for k, v in s.items()}})
        print(json.dumps(rows[-1]), file=sys.stderr)

    for size in sizes:
        plain = read_list(args.lists, size)
        ours = [("asrkit", plain, OURS if plain else {})]
        if size and not args.no_full:
            ours.append(("asrkit, aliases + fuzzy + check + reject", read_list(args.lists, size, aliases=True),
                         dict(OURS_FULL, known_words=str(args.known_words))))
        for name, path, settings in ours:
            dec = EmissionsDecoder(vocab, method="beam", beam=BEAM, hotwords=str(path) if path else None, **settings)
            # One pass outside the timing: the graph's compiled twin, and the check's and fuzzy step's
            # remembered answers (the warm case, as for a server).
            dec.decode(tensors)
            hyps, secs = timed(lambda d=dec: d.decode(tensors), args.repeats)
            add(name, size, OURS["hotword_weight"], hyps, secs, path)
        phrases = phrases_of(plain)
        hyps, secs = timed(lambda p=phrases: pyctc(lps, p, weight), 1 if size >= 1000 else args.repeats)
        add("pyctcdecode", size, weight, hyps, secs, plain)

    table = format_table(rows)
    machine = (f"{platform.machine()} {platform.processor() or ''}, {os.cpu_count()} cores, 1 thread; "
               f"{len(refs)} test utterances, {sum(x.shape[0] for x in lps)} frames, beam {BEAM}, no LM")
    header = f"Hotwords: asrkit vs pyctcdecode ({machine}).\n"
    if tuning:
        grid = ", ".join(f"{g['weight']:g} ({g['wer']:.2f})" for g in tuning["grid"])
        header += (f"pyctcdecode hotword_weight {weight:g}, the lowest WER on {tuning['dev_utts']} dev utterances "
                   f"over {grid}.\n")
    print(header + "\n" + table)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(header + "\n" + table + "\n", encoding="utf-8")
        args.out.with_suffix(".json").write_text(json.dumps({"machine": machine, "tuning": tuning, "rows": rows},
                                                            indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
