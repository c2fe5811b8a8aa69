#!/usr/bin/env python3
"""Which missed hotwords could a better choice among the list still recover? A bound from the emissions.

For every occurrence of a biased name in the references, the reference text is force-aligned to the CTC
emissions (:func:`decoders.ctc_alignment.ctc_forced_align`) and, over the name's frames (its units' frames plus
the blanks up to the neighbouring units, as the hotword check takes a run's frames), every spelling of the
hotword list (phrases and aliases) is scored by CTC Viterbi. Each name the row's hypotheses miss falls in one
of three groups:

- **another phrase scores higher**: some other phrase of the list (a distractor) has a spelling that the
  emissions prefer to every spelling of the name *on the name's own frames*: no choice among the list's
  phrases, however it is made, writes the name there from these emissions;
- **a real word was written**: the name scores best among the list, but the hypothesis has a word of
  ``--known-words`` there (``today`` for Saturday): the hotword check never replaces real words (each would
  be a false name wherever the real word was said), so this is the price of that rule;
- **reachable**: the name scores best among the list and the hypothesis has an unknown word, a hotword of
  the list or nothing there: a better post-search choice (frames, candidates) could write it.

``bound`` = (names found + reachable) / occurrences: the recall that a perfect choice among the list at the
unknown words and written hotwords could reach, with the reference's frames (which a decoder does not have).
The reference alignment uses the sentencepiece spelling of each reference word.

Usage: hotword_miss_bound.py --emissions exp/hotwords/test.npz \\
           --test data/manifests/test_en.jsonl data/manifests/fortunes_test_en.jsonl \\
           --lists exp/hotwords_reject_test_quiet7 --row 1000_alias_beam_w3_hb2_c4_r1 --size 1000 \\
           --tokens ../../asrkit/pretrained/bible-en-ctc-small/tokenizer.model --known-words exp/lm/source_word3.arpa
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

import numpy as np
from bench_hotwords import biased_names, rows

from asrkit.inference.hotword_aliases import read_known_words
from asrkit.inference.hotwords import read_hotwords
from asrkit.metrics.biased_words import align_words
from asrkit.text import normalize_text
from decoders.ctc_alignment import ctc_forced_align, viterbi_scorer
from decoders.vocabulary import Vocabulary

GROUPS = ("found", "another phrase scores higher", "a real word was written", "reachable")


def list_spellings(path: Path, vocab: Vocabulary) -> tuple[list[str], list[list[int]]]:
    """Each spelling (phrase or alias) of a hotword file as (its phrase, its units); unspellable ones left out."""
    phrases, units = [], []
    for h in read_hotwords(path):
        for spelling in (h.phrase, *h.aliases):
            u = vocab.encode(spelling)
            if u and min(u) >= 0:
                phrases.append(h.phrase)
                units.append(u)
    return phrases, units


def occurrences(lp: np.ndarray, ref: str, vocab: Vocabulary, biased: set[str]):
    """(word index, first frame, end frame) of each biased word of ``ref`` on its forced alignment; [] when the
    frames cannot spell the reference."""
    words = ref.split()
    each = [vocab.encode(w) for w in words]
    units = [u for e in each for u in e]
    spans = ctc_forced_align(lp, units, vocab.blank_id) if units and min(units) >= 0 else None
    if spans is None:
        return []
    bounds = np.cumsum([0] + [len(e) for e in each])
    out = []
    for i, w in enumerate(words):
        u0, u1 = int(bounds[i]), int(bounds[i + 1])
        if w in biased and u1 > u0:
            start = spans[u0 - 1][1] if u0 > 0 else 0
            end = spans[u1][0] if u1 < len(spans) else lp.shape[0]
            out.append((i, start, end))
    return out


def miss_groups(utterances: Iterable[tuple[str, str, str, np.ndarray]], vocab: Vocabulary, biased: set[str],
                known: set[str], phrases: list[str], spellings: list[list[int]]) -> list[tuple[str, str, str, str]]:
    """(utterance id, name, the word written there or "None", group) of every biased-name occurrence whose
    reference aligns to the emissions; groups as in the module doc. ``utterances``: (id, normalised reference,
    normalised hypothesis, (T, V) log-probabilities); list spelling ``spellings[k]`` (units) writes ``phrases[k]``."""
    score = viterbi_scorer()
    listed = set(phrases)
    out = []
    for uid, ref, hyp, log_probs in utterances:
        words = ref.split()
        if biased.isdisjoint(words):
            continue
        lp = np.ascontiguousarray(log_probs, dtype=np.float32)
        # The hypothesis word aligned with each reference word (None: deleted).
        written = [b for a, b in align_words(words, hyp.split()) if a is not None]
        for i, start, end in occurrences(lp, ref, vocab, biased):
            name = words[i]
            scores = score(np.ascontiguousarray(lp[start:end]), spellings, vocab.blank_id)
            own = max((s for p, s in zip(phrases, scores) if p == name), default=-np.inf)
            other = max((s for p, s in zip(phrases, scores) if p != name), default=-np.inf)
            if written[i] == name:
                group = GROUPS[0]
            elif other > own:
                group = GROUPS[1]
            elif written[i] in known and written[i] not in listed:
                group = GROUPS[2]
            else:
                group = GROUPS[3]
            out.append((uid, name, str(written[i]), group))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--emissions", required=True, help="the .npz the row was decoded from (local/save_emissions.py)")
    ap.add_argument("--test", nargs="+", required=True)
    ap.add_argument("--lists", required=True, help="a bench_hotwords.py --out folder (lists, hyps/ from --dump-hyps)")
    ap.add_argument("--row", required=True, help="the row's name in LISTS/hyps/ (without .txt)")
    ap.add_argument("--size", type=int, default=1000, help="the list the row used (hotwords_SIZE_aliases.txt)")
    ap.add_argument("--tokens", required=True, help="tokens.txt or the model's sentencepiece .model")
    ap.add_argument("--known-words", required=True, help="the real words the hotword check never replaces")
    ap.add_argument("--show", action="store_true", help="print each miss")
    args = ap.parse_args()

    lists = Path(args.lists)
    vocab = (Vocabulary.from_sentencepiece(args.tokens) if args.tokens.endswith(".model")
             else Vocabulary.from_tokens_txt(args.tokens))
    phrases, spellings = list_spellings(lists / f"hotwords_{args.size}_aliases.txt", vocab)
    hyps = {}
    for line in (lists / "hyps" / f"{args.row}.txt").read_text(encoding="utf-8").splitlines():
        uid, _, text = line.partition("\t")
        hyps[uid] = normalize_text(text)
    data = np.load(args.emissions)
    utterances = ((r["id"], normalize_text(r["text"]), hyps.get(r["id"], ""), data[r["id"]]) for r in rows(args.test))
    found = miss_groups(utterances, vocab, biased_names(lists), read_known_words(args.known_words), phrases,
                        spellings)
    if not found:
        sys.exit("no biased name of the references could be aligned to the emissions")
    if args.show:
        for uid, name, written, group in found:
            if group != GROUPS[0]:
                print(f"{uid}\t{name}\twritten: {written}\t{group}")
    groups = Counter(g for *_, g in found)
    total = len(found)
    print(f"| {args.row} | occurrences | " + " | ".join(GROUPS) + " | recall % | bound % |")
    print("|---" * (len(GROUPS) + 4) + "|")
    print(f"| {args.size} phrases | {total} | " + " | ".join(str(groups[g]) for g in GROUPS)
          + f" | {100 * groups[GROUPS[0]] / total:.1f} | {100 * (groups[GROUPS[0]] + groups[GROUPS[3]]) / total:.1f} |")


if __name__ == "__main__":
    main()
