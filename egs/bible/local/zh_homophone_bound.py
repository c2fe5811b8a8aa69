#!/usr/bin/env python3
"""How far can the Mandarin audio take a recognizer? CER with *perfect* syllable recognition.

espeak-ng reads each Han character with one fixed pronunciation (syllable + tone), so characters that share it
(是/事/市/式...) are the same sound: no acoustic model can tell them apart, only context can. This script
gives every test character's pronunciation (``espeak-ng -x`` per character) as if recognised perfectly and
chooses the characters by (a) the most frequent training character with that pronunciation and (b) the
recipe's character n-gram LM (beam search over the candidates of each position). The CER of (b) is roughly
the floor of a CTC model + that LM on this data: the model would have to be better at context than the LM.

Usage: zh_homophone_bound.py --train data/sets/train_zh_large.tsv --test data/manifests/test_zh.jsonl \\
           --lm exp/ctc_zh/lm/zh_char5.arpa
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections import Counter, defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))
from asrkit.metrics import cer  # noqa: E402
from asrkit.text import normalize_text  # noqa: E402


def pronunciations(chars: list[str]) -> dict[str, str]:
    """espeak-ng's phonemes of each character read alone (cmn-latn-pinyin voice, as the synthesis uses)."""
    out = subprocess.run(["espeak-ng", "-v", "cmn-latn-pinyin", "-q", "-x"], input="。".join(chars).encode(),
                         capture_output=True, check=True).stdout.decode()
    lines = [x.strip() for x in out.splitlines() if x.strip()]
    if len(lines) != len(chars):
        sys.exit(f"espeak-ng gave {len(lines)} pronunciations for {len(chars)} characters")
    return dict(zip(chars, lines))


def lm_choice(lm, positions: list[list[str]], beam: int) -> str:
    import kenlm

    start = kenlm.State()
    lm.BeginSentenceWrite(start)
    beams = [(0.0, "", start)]
    for cands in positions:
        grown = []
        for score, text, state in beams:
            for c in cands:
                nxt = kenlm.State()
                # a character never seen in training cannot be output: a deletion
                grown.append((score + lm.BaseScore(state, c, nxt), text + ("" if c == "<unk>" else c), nxt))
        beams = sorted(grown, key=lambda b: -b[0])[:beam]
    return max(beams, key=lambda b: b[0] + lm.BaseScore(b[2], "</s>", kenlm.State()))[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--train", required=True, help="training sentences (sets .tsv: utt, lang, text, ...)")
    ap.add_argument("--test", required=True, help="test manifest (.jsonl with text)")
    ap.add_argument("--lm", required=True, help="character n-gram (ARPA)")
    ap.add_argument("--beam", type=int, default=16)
    args = ap.parse_args()
    import kenlm

    train = [normalize_text(line.split("\t")[2], "zh") for line in open(args.train, encoding="utf-8")]
    test = [normalize_text(json.loads(x)["text"], "zh") for x in open(args.test, encoding="utf-8") if x.strip()]
    counts = Counter(c for t in train for c in t)
    pron = pronunciations(sorted(set(counts) | {c for t in test for c in t}))
    by_sound: dict[str, list[str]] = defaultdict(list)
    for c in counts:
        by_sound[pron[c]].append(c)
    positions = [[by_sound.get(pron[c]) or ["<unk>"] for c in t] for t in test]
    unigram = ["".join(max(cs, key=lambda c: counts.get(c, 0)) for cs in p).replace("<unk>", "") for p in positions]
    lm = kenlm.Model(args.lm)
    with_lm = [lm_choice(lm, p, args.beam) for p in positions]
    n = sum(len(p) for p in positions)
    print(f"{len(test)} test sentences, {n} characters; a character shares its pronunciation with "
          f"{sum(len(cs) for p in positions for cs in p) / n:.1f} training characters on average (itself included)")
    print(f"perfect syllables + most frequent character: {cer(test, unigram, 'zh').format()}")
    print(f"perfect syllables + {Path(args.lm).name} (beam {args.beam}): {cer(test, with_lm, 'zh').format()}")


if __name__ == "__main__":
    main()
