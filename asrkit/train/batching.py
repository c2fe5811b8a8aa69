"""The one length-bucketed batching of every asrkit trainer (CTC utterances, LM sentences, speech-LLM examples).

Items of similar length share a batch, so padding stays low; a batch holds at most ``max_units`` padded
units, counted as ``len(batch) * max(cost)``. Two orders:

- ``window=None``: one sort of all items by length, ties in random order (the Transformer LM's sentences);
- ``window=W``: the items are shuffled, then sorted by length inside consecutive windows of ``W`` items,
  so batch composition also changes from epoch to epoch (acoustic and speech-LLM training).

Either way the batch order is shuffled at the end. Everything is drawn from ``random.Random(seed)`` in a
fixed sequence: the same inputs and seed give the same batches (the trainers' determinism rests on it).
"""

from __future__ import annotations

import random
from collections.abc import Sequence


def bucket_batches(cost: Sequence[int], max_units: int, seed: int, *, window: int | None = None,
                   sort_key: Sequence[float] | None = None) -> list[list[int]]:
    """Indices into ``cost`` grouped into batches with ``len(batch) * max(cost[i]) <= max_units`` (a single
    item over the limit is a batch of its own). ``sort_key`` (default ``cost``) orders items inside a window,
    for trainers whose batches are counted in other units than they are sorted by."""
    rng = random.Random(seed)
    key = cost if sort_key is None else sort_key
    if window is None:
        chunks = [sorted(range(len(cost)), key=lambda i: (key[i], rng.random()))]
    else:
        order = list(range(len(cost)))
        rng.shuffle(order)
        chunks = [sorted(order[s : s + window], key=lambda i: key[i]) for s in range(0, len(order), window)]
    batches: list[list[int]] = []
    for chunk in chunks:
        cur: list[int] = []
        longest = 0
        for i in chunk:
            n = cost[i]
            if cur and max(longest, n) * (len(cur) + 1) > max_units:
                batches.append(cur)
                cur, longest = [], 0
            cur.append(i)
            longest = max(longest, n)
        if cur:
            batches.append(cur)
    rng.shuffle(batches)
    return batches
