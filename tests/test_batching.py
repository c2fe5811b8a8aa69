"""The one bucketed batching (asrkit/train/batching.py) gives exactly the batches of the three it replaced
(CTC utterances, LM sentences, speech-LLM examples), so every trainer's batch order, and with it the trained
models of egs/bible/RESULTS.md, stays the same. The former functions are kept here as references."""

import random

import pytest

from asrkit.frontend import lfr_length
from asrkit.train.batching import bucket_batches
from asrkit.train.dataset import Example
from asrkit.train.dataset import make_batches as ctc_batches
from asrkit.train.lm import make_batches as lm_batches


def old_ctc(frames: list[int], max_frames: int, seed: int, lfr_n: int) -> list[list[int]]:
    rng = random.Random(seed)
    order = list(range(len(frames)))
    rng.shuffle(order)
    window = max(1, len(order) // 100) * 50 or len(order)
    batches: list[list[int]] = []
    for start in range(0, len(order), window):
        chunk = sorted(order[start : start + window], key=lambda i: frames[i])
        cur: list[int] = []
        longest = 0
        for i in chunk:
            n = lfr_length(frames[i], lfr_n)
            if cur and max(longest, n) * (len(cur) + 1) > max_frames:
                batches.append(cur)
                cur, longest = [], 0
            cur.append(i)
            longest = max(longest, n)
        if cur:
            batches.append(cur)
    rng.shuffle(batches)
    return batches


def old_lm(lengths: list[int], max_tokens: int, seed: int) -> list[list[int]]:
    rng = random.Random(seed)
    order = sorted(range(len(lengths)), key=lambda i: (lengths[i], rng.random()))
    batches, cur, cur_max = [], [], 0
    for i in order:
        m = max(cur_max, lengths[i] + 1)
        if cur and m * (len(cur) + 1) > max_tokens:
            batches.append(cur)
            cur, m = [], lengths[i] + 1
        cur.append(i)
        cur_max = m
    if cur:
        batches.append(cur)
    rng.shuffle(batches)
    return batches


def old_speech_llm(lengths: list[int], max_tokens: int, seed: int) -> list[list[int]]:
    rng = random.Random(seed)
    order = list(range(len(lengths)))
    rng.shuffle(order)
    window = max(1, len(order) // 20) or 1
    batches: list[list[int]] = []
    for start in range(0, len(order), window):
        chunk = sorted(order[start : start + window], key=lambda i: lengths[i])
        cur: list[int] = []
        longest = 0
        for i in chunk:
            n = lengths[i]
            if cur and max(longest, n) * (len(cur) + 1) > max_tokens:
                batches.append(cur)
                cur, longest = [], 0
            cur.append(i)
            longest = max(longest, n)
        if cur:
            batches.append(cur)
    rng.shuffle(batches)
    return batches


@pytest.mark.parametrize("n,seed", [(0, 0), (1, 3), (37, 1), (450, 7), (2500, 11)])
def test_the_one_batching_reproduces_the_three_it_replaced(n, seed):
    g = random.Random(n * 31 + seed)
    frames = [g.randint(30, 3000) for _ in range(n)]
    exs = [Example(f"u{i}", 0, f, [1]) for i, f in enumerate(frames)]
    for lfr_n in (6, 1):
        assert ctc_batches(exs, 6000, seed, lfr_n) == old_ctc(frames, 6000, seed, lfr_n)
    lengths = [g.randint(1, 60) for _ in range(n)]
    assert lm_batches(lengths, 400, seed) == old_lm(lengths, 400, seed)
    window = max(1, n // 20) or 1
    assert bucket_batches(lengths, 500, seed, window=window) == old_speech_llm(lengths, 500, seed)


def test_batches_respect_the_budget_and_cover_every_item():
    g = random.Random(5)
    cost = [g.randint(1, 100) for _ in range(300)]
    for window in (None, 40):
        batches = bucket_batches(cost, 400, 2, window=window)
        assert sorted(i for b in batches for i in b) == list(range(300))
        assert all(len(b) == 1 or len(b) * max(cost[i] for i in b) <= 400 for b in batches)
    assert bucket_batches(cost, 400, 2) != bucket_batches(cost, 400, 3)  # the seed changes the order
