"""The hotword spellings nearest in letters to output words, for many words at once.

Both hotword post-steps look up garbled output words among the spellings of a hotword list: the fuzzy
correction (:mod:`asrkit.inference.hotword_fuzzy`, the nearest one) and the CTC check
(:mod:`asrkit.inference.hotword_check`, the 20 nearest). One word at a time (``rapidfuzz.process.extract``)
that is thousands of comparisons per word, and on a first pass over a set of utterances almost every garbled
word is new. ``rapidfuzz.process.cdist`` compares many words with every spelling in one call, with several
words per SIMD register for short strings (5x fewer CPU seconds than one call per word in the hotword
benchmark, egs/bible/RESULTS.md), so the steps look up the words of a whole batch of outputs together and
remember the answers. Words are grouped by length and compared only with the spellings whose length allows a
distance within the cutoff.

The answer for each word is exactly ``process.extract``'s: the spellings whose normalised Levenshtein
distance (edits / the longer length) is at most ``max_distance``, nearest first, ties in list order
(tests/test_nearest_spellings.py compares the two).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from rapidfuzz import process
from rapidfuzz.distance import Levenshtein

_CELLS = 2_000_000  # distances computed per cdist call (16 MB of float64): a long list or batch goes in chunks


def nearest_spellings(words: Sequence[str], spellings: Sequence[str], max_distance: float,
                      limit: int) -> list[list[int]]:
    """For each of ``words``, the indices of at most ``limit`` of ``spellings`` within ``max_distance``
    (normalised Levenshtein distance), nearest first and ties in list order."""
    if not words or not spellings or limit < 1:
        return [[] for _ in words]
    out: list[list[int]] = [[] for _ in words]
    spelling_lens = np.array([len(s) for s in spellings], dtype=np.float64)
    by_len: dict[int, list[int]] = {}
    for i, w in enumerate(words):
        by_len.setdefault(len(w), []).append(i)
    for n, group in by_len.items():
        # Levenshtein distance is at least the difference in length, so a spelling whose length alone puts
        # it past the cutoff (|n - m| / max(n, m), the same double division, monotone in the distance) is
        # never an answer: only the others are compared (at 0.34, 2 in 5 of the comparisons for the char model's
        # test outputs against 1000 names and their aliases, egs/bible).
        longer = np.maximum(spelling_lens, n)
        gap = np.divide(np.abs(spelling_lens - n), longer, out=np.zeros_like(longer), where=longer > 0)
        near_len = np.flatnonzero(gap <= max_distance)
        if not near_len.size:
            continue
        candidates = [spellings[k] for k in near_len]
        chunk = max(1, _CELLS // len(candidates))
        for start in range(0, len(group), chunk):
            rows = group[start: start + chunk]
            # float64: the same double division and cutoff test as process.extract (float32 would round 3/5
            # above 0.6); one worker, so the caller's thread setting holds and results never depend on timing.
            dist = process.cdist([words[i] for i in rows], candidates, scorer=Levenshtein.normalized_distance,
                                 score_cutoff=max_distance, dtype=np.float64, workers=1)
            # Most words are near no spelling: only rows with a hit are looked at. argmin and the stable sort
            # both put the first of equal distances first: list order (near_len is increasing).
            hit = dist <= max_distance
            found = np.flatnonzero(hit.any(axis=1))
            if limit == 1:
                best = near_len[dist[found].argmin(axis=1)].tolist()
                for r, k in zip(found.tolist(), best):
                    out[rows[r]] = [k]
                continue
            for r in found.tolist():
                near = np.flatnonzero(hit[r])
                near = near[np.argsort(dist[r, near], kind="stable")][:limit]
                out[rows[r]] = near_len[near].tolist()
    return out
