"""Hotword (context biasing) benchmark on our own data: rare proper names of the test sets.

Biased words: proper names (written capitalised in the source text, never in lower case, not at the start of
a sentence) of the test references (Mark + Jude, fortunes) that occur at most ``--max-train-count`` times in
the acoustic model's training transcripts. Distractors: the other proper names of the training books' text
(and of the test text when those run out), so each list of N phrases holds every biased name plus N - |B|
distractors. Reported (WeNet/icefall style): overall WER, biased-word recall, B-WER (errors on biased
reference words, plus insertions of biased words, over the biased reference words) and U-WER (the other
words), and search time (CPU seconds of the decode calls, emissions precomputed, one thread; the fastest of
``--repeats`` runs; "time vs 0 phrases" is the median over the runs of the run's time over that of a run of the
same search without hotwords just before it), for 0, 100
and 1000 phrases, with and without shallow fusion, and with ``--alias-model`` also with the model's own
spellings of each phrase as aliases (``asrkit hotwords aliases``: espeak-ng reads the phrase, the model decodes
it; readings made only of ``--known-words`` words are dropped). ``--hotword-weights``/``--hotword-beams`` (and the
``--fusion-`` pair for the shallow-fusion rows) are grids: every combination is a row, so the same script
tunes them on a dev split (a dev list of names made the same way from dev manifests) and reports the test
split with the tuned values.

    python egs/bible/local/save_emissions.py -m asrkit/pretrained/bible-en-ctc-small \
        -i data/manifests/test_en.jsonl data/manifests/fortunes_test_en.jsonl -o exp/hotwords/test.npz
    python egs/bible/local/bench_hotwords.py --emissions exp/hotwords/test.npz \
        --test data/manifests/test_en.jsonl data/manifests/fortunes_test_en.jsonl \
        --train data/manifests/train_en.jsonl --tokens exp/hotwords/tokens.txt --lm exp/lm/source_token4.arpa
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np
import torch
from common import stable_hash

from asrkit.inference.emissions_decoder import EmissionsDecoder
from asrkit.inference.espeak_tts import speak
from asrkit.inference.hotword_aliases import choose_aliases, format_hotwords, model_readings, read_known_words
from asrkit.inference.hotwords import read_hotwords
from asrkit.inference.recognizer import Recognizer
from asrkit.metrics.biased_words import biased_word_scores
from asrkit.text import normalize_text
from decoders.vocabulary import Vocabulary

_WORD = re.compile(r"[A-Za-z][A-Za-z'’-]*")


def rows(paths: list[str]) -> list[dict]:
    out = []
    for p in paths:
        out += [json.loads(line) for line in Path(p).read_text(encoding="utf-8").splitlines() if line.strip()]
    return out


def biased_names(lists: Path) -> set[str]:
    """The biased words of a benchmark run's folder (``biased_names.txt``, written by :func:`main`)."""
    return set((lists / "biased_names.txt").read_text(encoding="utf-8").split())


def audio_rows(paths: list[str]) -> list[dict]:
    """:func:`rows` with each row's ``audio`` made a path from here (manifests name it relative to themselves)."""
    out = []
    for p in paths:
        for r in rows([p]):
            r["audio"] = str(Path(p).parent / r["audio"])
            out.append(r)
    return out


def proper_names(texts: list[str], also_lower: list[str] = ()) -> Counter:
    """Normalised words written capitalised inside a sentence of ``texts`` and never in lower case in ``texts``
    or ``also_lower``; at least 3 letters, no apostrophe (so "I'll" and "Mark's" are not names)."""
    caps, lower = Counter(), set()
    for t in also_lower:
        lower.update(normalize_text(w) for w in _WORD.findall(t) if w[0].islower())
    for t in texts:
        for sent in re.split(r"[.!?;:“”\"]\s*", t):
            words = _WORD.findall(sent)
            for k, w in enumerate(words):
                if w[0].islower():
                    lower.add(normalize_text(w))
                elif k > 0 and w.lower() not in ("i", "god", "lord"):
                    caps[normalize_text(w)] += 1
    return Counter({w: c for w, c in caps.items() if w not in lower and len(w) >= 3 and w.isalpha()})


def model_readings_cached(args: argparse.Namespace, phrases: list[str], out: Path,
                          fusion: bool = False) -> dict[str, Counter]:
    """The alias model's readings of ``phrases`` (espeak-ng carriers x voices x speeds, the defaults of
    :func:`model_readings`), decoded with beam search or, with ``fusion``, with the fusion rows' shallow
    fusion (the readings a user gets from `asrkit hotwords aliases --config` with that decoding config);
    kept in OUT/readings.json (readings_sf.json)."""
    if not args.alias_model:
        return {}
    cache = out / ("readings_sf.json" if fusion else "readings.json")
    lm = dict(lm=args.lm, lm_weight=args.lm_weight, insertion_bonus=args.insertion_bonus) if fusion else {}
    # The readings depend on the model and its decoding, so the cache records them and is not reused when
    # they change (a file without "settings" is from before this check: it is trusted once and re-keyed).
    settings = dict(model=str(args.alias_model), method="shallow_fusion" if fusion else "beam", beam=args.beam,
                    **{k: str(v) for k, v in lm.items()})
    stored = json.loads(cache.read_text(encoding="utf-8")) if cache.exists() else {}
    legacy = "readings" not in stored
    if legacy:
        stored = {"settings": settings, "readings": stored}
    same = stored["settings"] == settings
    have = stored["readings"] if same else {}
    todo = [p for p in phrases if p not in have]
    if todo:
        rec = Recognizer(args.alias_model, method=settings["method"], beam=args.beam, **lm)
        got = model_readings(rec.decode_waves, todo, speak)
        have.update({p: dict(c) for p, c in got.items()})
    if todo or legacy or not same:
        cache.write_text(json.dumps({"settings": settings, "readings": have}, indent=0, sort_keys=True) + "\n",
                         encoding="utf-8")
    return {p: Counter(have[p]) for p in phrases}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--emissions", required=True)
    ap.add_argument("--test", nargs="+", required=True)
    ap.add_argument("--train", nargs="+", required=True)
    ap.add_argument("--tokens", required=True, help="tokens.txt or the model's sentencepiece .model")
    ap.add_argument("--lm", required=True, help="shallow-fusion LM (of the training text: knows no test name)")
    ap.add_argument("--lm-weight", type=float, default=1.2)
    ap.add_argument("--insertion-bonus", type=float, default=5.0)
    ap.add_argument("--hotword-weights", default="4.0", help="comma list (grid) for the rows without fusion")
    ap.add_argument("--hotword-beams", default="4", help="comma list (grid) for the rows without fusion")
    ap.add_argument("--fusion-hotword-weights", default=None, help="for the fusion rows [--hotword-weights]")
    ap.add_argument("--fusion-hotword-beams", default=None, help="for the fusion rows [--hotword-beams]")
    ap.add_argument("--repeats", type=int, default=1, help="time each row this many times, report the fastest")
    ap.add_argument("--sizes", default="0,100,1000")
    ap.add_argument("--max-train-count", type=int, default=1)
    ap.add_argument("--max-biased", type=int, default=100)
    ap.add_argument("--beam", type=int, default=8)
    ap.add_argument("--out", default="exp/hotwords")
    ap.add_argument("--max-utts", type=int, default=0)
    ap.add_argument("--alias-model", default=None,
                    help="also rows with aliases: this model (the one that made --emissions) reads each phrase")
    ap.add_argument("--known-words", default=None, help="aliases: text/ARPA of known words (the LM's text)")
    ap.add_argument("--max-aliases", type=int, default=2)
    ap.add_argument("--alias-min-known-distance", type=float, default=0.0,
                    help="aliases: drop readings nearer than this (normalised edit distance) to a known word")
    ap.add_argument("--alias-fusion", action="store_true",
                    help="fusion rows: aliases from readings decoded with the same shallow fusion (else beam)")
    ap.add_argument("--dump-hyps", action="store_true",
                    help="write each row's hypotheses (id<TAB>text) to OUT/hyps/, for per-utterance comparison")
    ap.add_argument("--hotword-fuzzy", type=float, default=0.0,
                    help="rows with hotwords: unknown words this close to a hotword become it (needs --known-words)")
    ap.add_argument("--hotword-checks", default="0",
                    help="rows with hotwords: comma list (grid) of --hotword-check costs (nats per unit; needs "
                         "--known-words); 0 = off")
    ap.add_argument("--hotword-rejects", default="0",
                    help="rows with hotwords: comma list (grid) of --hotword-reject costs (nats per unit; needs "
                         "--known-words); 0 = off")
    args = ap.parse_args()
    torch.set_num_threads(1)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    test, train = rows(args.test), rows(args.train)
    if args.max_utts:
        test = [test[i * len(test) // args.max_utts] for i in range(args.max_utts)]
    train_counts = Counter(w for r in train for w in normalize_text(r["text"]).split())
    refs = [normalize_text(r["text"]) for r in test]
    test_words = Counter(w for r in refs for w in r.split())
    everything = [r["text"] for r in test + train]
    names = proper_names([r["text"] for r in test], everything)
    biased = sorted(w for w in names if train_counts[w] <= args.max_train_count and w in test_words)
    # At most --max-biased of them (a stable pick), so the smallest list (100) is exactly the biased names.
    biased = sorted(sorted(biased, key=lambda w: stable_hash(w))[: args.max_biased])
    train_names = proper_names([r["text"] for r in train], everything)
    distract = sorted((w for w in train_names if w not in biased), key=lambda w: (-train_names[w], w))
    print(f"{len(biased)} biased names ({sum(test_words[w] for w in biased)} occurrences), "
          f"{len(distract)} distractor names", file=sys.stderr)
    (out / "biased_names.txt").write_text("\n".join(biased) + "\n", encoding="utf-8")

    data = np.load(args.emissions)
    lps = [torch.from_numpy(data[r["id"]]) for r in test]
    # A token-level LM is matched to the units through the sentencepiece model, so give it when there is one.
    vocab = (Vocabulary.from_sentencepiece(args.tokens) if args.tokens.endswith(".model")
             else Vocabulary.from_tokens_txt(args.tokens))
    results = []
    sizes = [int(s) for s in args.sizes.split(",")]
    listed = biased + distract[: max(0, max(sizes) - len(biased))]
    beam_readings = model_readings_cached(args, listed, out)
    readings = {False: beam_readings,
                True: model_readings_cached(args, listed, out, fusion=True) if args.alias_fusion else beam_readings}
    known = read_known_words(args.known_words) if args.alias_model and args.known_words else None
    plain_decoders: dict[bool, EmissionsDecoder] = {}  # the 0-phrase rows' decoders, for paired timing
    for size, alias in [(s, a) for s in sizes for a in ((False, True) if args.alias_model and s else (False,))]:
        plain_path, list_words = None, set()  # list_words: every word of its phrases (false names)
        if size:
            phrases = biased + distract[: max(0, size - len(biased))]
            list_words = {w for p in phrases[:size] for w in normalize_text(p).split()}
            plain_path = out / f"hotwords_{size}.txt"
            plain_path.write_text("\n".join(phrases[:size]) + "\n", encoding="utf-8")
        for fusion in (False, True):
            path = plain_path
            if alias:
                with_aliases = choose_aliases(read_hotwords(plain_path), readings[fusion], known,
                                              max_aliases=args.max_aliases,
                                              min_known_distance=args.alias_min_known_distance)
                path = out / f"hotwords_{size}_aliases{'_sf' if fusion and args.alias_fusion else ''}.txt"
                path.write_text(format_hotwords(with_aliases), encoding="utf-8")
            base = dict(method="shallow_fusion" if fusion else "beam", beam=args.beam)
            if fusion:
                base.update(lm=args.lm, lm_weight=args.lm_weight, insertion_bonus=args.insertion_bonus)
            weights = (args.fusion_hotword_weights if fusion and args.fusion_hotword_weights else args.hotword_weights)
            beams = (args.fusion_hotword_beams if fusion and args.fusion_hotword_beams else args.hotword_beams)
            checks = [float(c) for c in args.hotword_checks.split(",")]
            rejects = [float(c) for c in args.hotword_rejects.split(",")]
            grid = ([(float(w), int(h), c, r) for w in weights.split(",") for h in beams.split(",") for c in checks
                     for r in rejects] if size else [(0.0, 0, 0.0, 0.0)])
            for w, hb, check, reject in grid:
                fuzzy = dict(hotword_fuzzy=args.hotword_fuzzy, hotword_check=check, hotword_reject=reject,
                             known_words=args.known_words) if path else {}
                dec = EmissionsDecoder(vocab, **base, hotwords=str(path) if path else None, hotword_weight=w,
                                       hotword_beam=hb, **fuzzy)
                dec.decode(lps[:4])  # loads the LM and builds the graph's native twin outside the timing
                times, ratios = [], []
                for _ in range(max(1, args.repeats)):
                    # Each pass of a row with hotwords follows a pass of the same search without them (kept
                    # from the 0-phrase row): the machine's speed drifts by +-10 % between minutes and between
                    # processes, so the ratio of neighbouring passes is steadier than the ratio of two minima.
                    plain_dec = plain_decoders.get(fusion) if size else None
                    if plain_dec is not None:
                        start = time.process_time()
                        plain_dec.decode(lps)
                        plain_secs = time.process_time() - start
                    start = time.process_time()  # CPU time: less disturbed by other jobs than wall time
                    hyps = dec.decode(lps)
                    times.append(time.process_time() - start)
                    if plain_dec is not None:
                        ratios.append(times[-1] / plain_secs)
                        print(f"paired pass: {plain_secs:.3f} s without hotwords, {times[-1]:.3f} s with",
                              file=sys.stderr)
                if not size:
                    plain_decoders[fusion] = dec
                # The fastest run, and the first: the fuzzy step and the hotword check remember their answers
                # per garbled word, so the first pass over an utterance set is the cold case.
                secs, first = min(times), times[0]
                metrics = biased_word_scores(refs, hyps, set(biased), list_words)
                row = {"phrases": size, "aliases": alias, "fusion": fusion, "hotword_weight": w, "hotword_beam": hb,
                       "hotword_check": check, "hotword_reject": reject,
                       "seconds": round(secs, 2), "first_seconds": round(first, 2),
                       "paired_ratio": round(float(np.median(ratios)), 3) if ratios else None,
                       **{k: round(v, 2) if isinstance(v, float) else v for k, v in metrics.items()}}
                results.append(row)
                if args.dump_hyps:
                    name = (f"{size}_{'alias' if alias else 'plain'}_{'sf' if fusion else 'beam'}_w{w:g}_hb{hb}"
                            f"{f'_c{check:g}' if check else ''}{f'_r{reject:g}' if reject else ''}.txt")
                    (out / "hyps").mkdir(exist_ok=True)
                    (out / "hyps" / name).write_text(
                        "".join(f"{r['id']}\t{h}\n" for r, h in zip(test, hyps)), encoding="utf-8")
                print(json.dumps(row), file=sys.stderr)
    (out / "results.json").write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    plain = {r["fusion"]: r["seconds"] for r in results if not r["phrases"]}
    plain_first = {r["fusion"]: r["first_seconds"] for r in results if not r["phrases"]}
    print("| phrases | aliases | shallow fusion | hotword weight | hotword beam | hotword check | hotword reject "
          "| WER % | name recall % | B-WER % | U-WER % | false names | search s | time vs 0 phrases "
          "| first run vs 0 phrases |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in results:
        hot = r["phrases"] > 0
        ratio = f"{r['seconds'] / plain[r['fusion']]:.2f}x" if r["fusion"] in plain and plain[r["fusion"]] else "-"
        if r.get("paired_ratio"):
            ratio = f"{r['paired_ratio']:.2f}x"
        cold = (f"{r['first_seconds'] / plain_first[r['fusion']]:.2f}x"
                if r["fusion"] in plain_first and plain_first[r["fusion"]] else "-")
        print(f"| {r['phrases']} | {'yes' if r['aliases'] else 'no'} | {'yes' if r['fusion'] else 'no'} "
              f"| {r['hotword_weight'] if hot else '-'} "
              f"| {r['hotword_beam'] if hot else '-'} | {r['hotword_check'] if hot and r['hotword_check'] else '-'} "
              f"| {r['hotword_reject'] if hot and r['hotword_reject'] else '-'} "
              f"| {r['wer']:.2f} | {r['recall']:.1f} | {r['b_wer']:.1f} "
              f"| {r['u_wer']:.2f} | {r['false_names']} | {r['seconds']:.1f} | {ratio} | {cold} |")


if __name__ == "__main__":
    main()
