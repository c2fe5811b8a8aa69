"""The hotword spellings nearest in letters to output words, for many words at once.

Both hotword post-steps look up garbled output words among the spellings of a hotword list: the fuzzy
correction (:mod:`asrkit.inference.hotword_fuzzy`, the nearest one) and the CTC check
(:mod:`asrkit.inference.hotword_check`, the 20 nearest). One word at a time (``rapidfuzz.process.extract``)
that is thousands of comparisons per word, and on a first pass over a set of utterances almost every garbled
word is new. ``rapidfuzz.process.cdist`` compares many words with every spelling in one call, with several
words per SIMD register for short strings (5x fewer CPU seconds than one call per word in the hotword
benchmark, egs/bible/RESULTS.md), so the steps look up the words of a whole batch of outputs together and
remember the answers. (Comparing each word only with the spellings whose length allows a distance within the
cutoff did 2 in 5 of the comparisons, but one cdist call per length group cost more than it saved with the
batches of 8 of a decode of audio.)

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
    chunk = max(1, _CELLS // len(spellings))
    for start in range(0, len(words), chunk):
        # float64: the same double division and cutoff test as process.extract (float32 would round 3/5
        # above 0.6); one worker, so the caller's thread setting holds and results never depend on timing.
        dist = process.cdist(words[start: start + chunk], spellings, scorer=Levenshtein.normalized_distance,
                             score_cutoff=max_distance, dtype=np.float64, workers=1)
        # Most words are near no spelling: only rows with a hit are looked at. argmin and the stable sort both
        # put the first of equal distances first: list order.
        hit = dist <= max_distance
        found = np.flatnonzero(hit.any(axis=1))
        if limit == 1:
            for r, k in zip(found.tolist(), dist[found].argmin(axis=1).tolist()):
                out[start + r] = [k]
            continue
        for r in found.tolist():
            near = np.flatnonzero(hit[r])
            out[start + r] = near[np.argsort(dist[r, near], kind="stable")][:limit].tolist()
    return out
