"""Content-based alignment of RV1909 (Spanish) to WEB (English) verses.

RV1909 claims KJV versification but follows Hebrew/Vulgate divisions in some chapters (Jonah 1:17 is
RV 2:1, RV Job 39:30 holds WEB Job 39:27-40:5, ...), so joining on verse id pairs wrong verses. We:
  1. learn a Dice-coefficient es<->en word lexicon from the same-id pairs (mostly right, so the
     statistics are good enough);
  2. flag chapters whose id-joined pairs look wrong (verse sets differ, a neighbour verse matches
     better than the same-id verse, odd length ratio, very low lexical similarity);
  3. re-align each flagged chapter (plus a margin of neighbouring verses, because shifts cross
     chapter boundaries) with a monotone DP allowing 1-1, 1-n, n-1 and skips.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import sparse

_TOKEN_RE = re.compile(r"[^\W\d_]+")


def tokenize(text: str) -> list[str]:
    return _TOKEN_RE.findall(text.lower())


@dataclass
class Lexicon:
    """Translation candidates per word (both directions), as sets of the other language's words."""

    es2en: dict[str, frozenset[str]]
    en2es: dict[str, frozenset[str]]


def learn_dice_lexicon(pairs: Sequence[tuple[str, str]], min_count: int = 2, min_dice: float = 0.12,
                       top_k: int = 6) -> Lexicon:
    """Learn es->en and en->es word translations from (es, en) sentence pairs by the Dice coefficient
    2*c(s,e)/(c(s)+c(e)) over sentence co-occurrence counts."""
    es_sets = [set(tokenize(s)) for s, _ in pairs]
    en_sets = [set(tokenize(e)) for _, e in pairs]

    def vocab(sets: list[set[str]]) -> dict[str, int]:
        df: dict[str, int] = {}
        for st in sets:
            for w in st:
                df[w] = df.get(w, 0) + 1
        words = sorted(w for w, c in df.items() if c >= min_count)
        return {w: i for i, w in enumerate(words)}

    v_es, v_en = vocab(es_sets), vocab(en_sets)

    def matrix(sets: list[set[str]], voc: dict[str, int]) -> sparse.csr_matrix:
        rows, cols = [], []
        for r, st in enumerate(sets):
            for w in st:
                c = voc.get(w)
                if c is not None:
                    rows.append(r)
                    cols.append(c)
        data = np.ones(len(rows), dtype=np.float32)
        return sparse.csr_matrix((data, (rows, cols)), shape=(len(sets), len(voc)))

    x_es, x_en = matrix(es_sets, v_es), matrix(en_sets, v_en)
    df_es = np.asarray(x_es.sum(0)).ravel()
    df_en = np.asarray(x_en.sum(0)).ravel()
    co = (x_es.T @ x_en).tocoo()
    keep = co.data >= min_count
    r, c, n = co.row[keep], co.col[keep], co.data[keep]
    dice = 2.0 * n / (df_es[r] + df_en[c])
    keep = dice >= min_dice
    r, c, dice = r[keep], c[keep], dice[keep]
    inv_es = sorted(v_es, key=v_es.__getitem__)
    inv_en = sorted(v_en, key=v_en.__getitem__)

    def top(src: np.ndarray, dst: np.ndarray, inv_src: list[str], inv_dst: list[str]) -> dict[str, frozenset[str]]:
        order = np.lexsort((-dice, src))  # by source word, best Dice first
        out: dict[str, list[str]] = {}
        for k in order:
            lst = out.setdefault(inv_src[src[k]], [])
            if len(lst) < top_k:
                lst.append(inv_dst[dst[k]])
        return {w: frozenset(v) for w, v in out.items()}

    return Lexicon(es2en=top(r, c, inv_es, inv_en), en2es=top(c, r, inv_en, inv_es))


class Scorer:
    """Lexical similarity of a Spanish and an English text (token sets), in [0, 1]."""

    def __init__(self, lex: Lexicon, len_ratio: float) -> None:
        self.lex = lex
        self.log_r0 = math.log(len_ratio)  # typical es/en character-length ratio

    def similarity(self, es: set[str], en: set[str]) -> float:
        if not es or not en:
            return 0.0
        # identical strings (names such as "Absalom", "David") count as translations of each other
        e2 = self.lex.es2en
        cov_es = sum(1 for w in es if w in en or not e2.get(w, frozenset()).isdisjoint(en)) / len(es)
        n2 = self.lex.en2es
        cov_en = sum(1 for w in en if w in es or not n2.get(w, frozenset()).isdisjoint(es)) / len(en)
        return 0.5 * (cov_es + cov_en)

    def length_penalty(self, len_es: int, len_en: int) -> float:
        dev = abs(math.log((len_es + 1) / (len_en + 1)) - self.log_r0)
        return max(0.0, dev - 0.35)


@dataclass
class Verse:
    vid: str
    text: str
    tokens: set[str]

    @classmethod
    def make(cls, vid: str, text: str) -> Verse:
        return cls(vid, text, set(tokenize(text)))


# DP parameters. A group scores similarity - BASE - length penalty (+ bonus when ids agree), a skipped
# verse costs SKIP: a pair is kept unless it is worse than dropping both verses.
BASE = 0.30
SKIP = 0.12
SAME_ID_BONUS = 0.08
MERGE_COST = 0.06  # per extra verse in a group: two similar verses (Luke 17:35-36) should not be merged
MAX_1N = 10  # one Spanish verse may hold up to 10 English ones (RV Job 39:30 = WEB 39:27-40:5)
MAX_N1 = 3
BAND = 14


def dp_align(es: Sequence[Verse], en: Sequence[Verse], scorer: Scorer) -> list[tuple[list[int], list[int]]]:
    """Monotone alignment of two verse sequences.

    Returns groups (es indices, en indices) covering both sequences in order; a group with an empty
    side is a skipped verse. Moves: 1-1, 1-n (n <= MAX_1N), n-1 (n <= MAX_N1), 1-0, 0-1.
    A diagonal band keeps it O(len * BAND * moves).
    """
    n_es, n_en = len(es), len(en)
    neg = -1e18
    best = np.full((n_es + 1, n_en + 1), neg)
    back: dict[tuple[int, int], tuple[int, int]] = {}
    best[0, 0] = 0.0
    slope = n_en / max(n_es, 1)

    def in_band(i: int, j: int) -> bool:
        return abs(j - i * slope) <= BAND + 1

    for i in range(n_es + 1):
        for j in range(n_en + 1):
            cur = best[i, j]
            if cur <= neg / 2 or not in_band(i, j):
                continue
            moves: list[tuple[int, int, float]] = []
            if i < n_es:
                moves.append((1, 0, -SKIP))
            if j < n_en:
                moves.append((0, 1, -SKIP))
            if i < n_es and j < n_en:
                e = es[i]
                # 1-n: one Spanish verse, growing English group
                en_tok: set[str] = set()
                en_len = 0
                for b in range(1, min(MAX_1N, n_en - j) + 1):
                    en_tok |= en[j + b - 1].tokens
                    en_len += len(en[j + b - 1].text)
                    sc = scorer.similarity(e.tokens, en_tok) - BASE - scorer.length_penalty(len(e.text), en_len)
                    if b == 1 and e.vid == en[j].vid:
                        sc += SAME_ID_BONUS
                    sc -= MERGE_COST * (b - 1)
                    moves.append((1, b, sc))
                # n-1: several Spanish verses for one English verse
                es_tok = set(e.tokens)
                es_len = len(e.text)
                for a in range(2, min(MAX_N1, n_es - i) + 1):
                    es_tok |= es[i + a - 1].tokens
                    es_len += len(es[i + a - 1].text)
                    sc = scorer.similarity(es_tok, en[j].tokens) - BASE - scorer.length_penalty(
                        es_len, len(en[j].text)) - MERGE_COST * (a - 1)
                    moves.append((a, 1, sc))
            for a, b, sc in moves:
                ni, nj = i + a, j + b
                if cur + sc > best[ni, nj]:
                    best[ni, nj] = cur + sc
                    back[(ni, nj)] = (i, j)
    groups: list[tuple[list[int], list[int]]] = []
    i, j = n_es, n_en
    while (i, j) != (0, 0):
        pi, pj = back[(i, j)]
        groups.append((list(range(pi, i)), list(range(pj, j))))
        i, j = pi, pj
    groups.reverse()
    return groups


def range_id(first: str, last: str) -> str:
    """``Job.39.27`` + ``Job.40.5`` -> ``Job.39.27-40.5``; same chapter: ``Gen.1.1`` + ``Gen.1.3`` -> ``Gen.1.1-3``."""
    if first == last:
        return first
    book, c1, v1 = first.split(".")
    _, c2, v2 = last.split(".")
    return f"{book}.{c1}.{v1}-{v2}" if c1 == c2 else f"{book}.{c1}.{v1}-{c2}.{v2}"


def _chap(vid: str) -> tuple[str, int]:
    b, c, _ = vid.split(".")
    return b, int(c)


def _key(vid: str) -> tuple[int, int]:
    _, c, v = vid.split(".")
    return int(c), int(v)


@dataclass
class AlignResult:
    rows: list[tuple[str, str, str]]  # (id, spanish, english)
    realigned: list[tuple[str, str, str]]  # (id, es ids, en ids) of groups that differ from the id join
    flagged_chapters: list[str]
    n_regions: int
    n_es_used: int = 0  # verses that ended up in some row (the rest were skipped as unmatched)
    n_en_used: int = 0


def align_bible(es_rows: Sequence[tuple[str, str]], en_rows: Sequence[tuple[str, str]],
                margin: int = 12) -> AlignResult:
    """Align Spanish verses to English verses (both in canonical order) by content."""
    es_by_id = {v: t for v, t in es_rows}
    en_by_id = {v: t for v, t in en_rows}
    same = [(es_by_id[v], en_by_id[v]) for v, _ in en_rows if v in es_by_id]
    lex = learn_dice_lexicon(same)
    ratio = float(np.median([len(s) / max(len(e), 1) for s, e in same]))
    scorer = Scorer(lex, ratio)

    # group verses by book
    books: dict[str, tuple[list[Verse], list[Verse]]] = {}
    for v, t in es_rows:
        books.setdefault(v.split(".")[0], ([], []))[0].append(Verse.make(v, t))
    for v, t in en_rows:
        books.setdefault(v.split(".")[0], ([], []))[1].append(Verse.make(v, t))

    rows: list[tuple[str, str, str]] = []
    realigned: list[tuple[str, str, str]] = []
    flagged_all: list[str] = []
    n_regions = 0
    n_es_used = n_en_used = 0
    for book, (es, en) in books.items():
        flagged = _flag_chapters(es, en, scorer)
        flagged_all += [f"{book}.{c}" for c in sorted(flagged)]
        # Regions: [first verse of flagged chapter - margin, last verse + margin], in verse-key order
        # on the English side (the DP needs a correct anchor at both ends), merged when they overlap.
        en_keys = [_key(v.vid) for v in en]
        spans: list[list[int]] = []
        for c in sorted(flagged):
            idx = [k for k, (cc, _) in enumerate(en_keys) if cc == c]
            es_idx = [k for k, v in enumerate(es) if _key(v.vid)[0] == c]
            if not idx:  # a chapter only Spanish has: anchor on the English verse near it
                lo = hi = max(0, min(len(en) - 1, es_idx[0] if es_idx else 0))
            else:
                lo, hi = idx[0], idx[-1]
            lo, hi = max(0, lo - margin), min(len(en) - 1, hi + margin)
            if spans and lo <= spans[-1][1] + 1:
                spans[-1][1] = max(spans[-1][1], hi)
            else:
                spans.append([lo, hi])
        in_region_en: set[str] = set()
        in_region_es: set[str] = set()
        region_groups: list[tuple[list[Verse], list[Verse]]] = []
        for lo, hi in spans:
            k_lo, k_hi = en_keys[lo], en_keys[hi]
            if lo == 0:
                k_lo = (0, 0)
            if hi == len(en) - 1:
                k_hi = (10**6, 0)
            es_seg = [v for v in es if k_lo <= _key(v.vid) <= k_hi]
            en_seg = en[lo:hi + 1]
            n_regions += 1
            for gi, gj in dp_align(es_seg, en_seg, scorer):
                region_groups.append(([es_seg[i] for i in gi], [en_seg[j] for j in gj]))
            in_region_en.update(v.vid for v in en_seg)
            in_region_es.update(v.vid for v in es_seg)
        # outside regions: plain id join
        es_map = {v.vid: v for v in es}
        groups: list[tuple[list[Verse], list[Verse]]] = [
            ([es_map[v.vid]], [v]) for v in en if v.vid not in in_region_en and v.vid in es_map
        ]
        groups += [g for g in region_groups if g[0] and g[1]]
        for g_es, g_en in region_groups:
            if not (g_es and g_en):
                continue
            if not (len(g_es) == 1 and len(g_en) == 1 and g_es[0].vid == g_en[0].vid):
                gid = range_id(g_en[0].vid, g_en[-1].vid)
                realigned.append((gid, " ".join(v.vid for v in g_es), " ".join(v.vid for v in g_en)))
        groups.sort(key=lambda g: _key(g[1][0].vid))
        for g_es, g_en in groups:
            n_es_used += len(g_es)
            n_en_used += len(g_en)
            gid = range_id(g_en[0].vid, g_en[-1].vid)
            rows.append((gid, " ".join(v.text for v in g_es), " ".join(v.text for v in g_en)))
    return AlignResult(rows, realigned, flagged_all, n_regions, n_es_used, n_en_used)


def _flag_chapters(es: list[Verse], en: list[Verse], scorer: Scorer) -> set[int]:
    """Chapters of one book whose id join looks wrong."""
    flagged: set[int] = set()
    es_ids = {v.vid for v in es}
    en_ids = {v.vid for v in en}
    for v in es:
        if v.vid not in en_ids:
            flagged.add(_key(v.vid)[0])
    for v in en:
        if v.vid not in es_ids:
            flagged.add(_key(v.vid)[0])
    es_map = {v.vid: v for v in es}
    for j, e in enumerate(en):
        s = es_map.get(e.vid)
        if s is None:
            continue
        chap = _key(e.vid)[0]
        if chap in flagged:
            continue
        sim = scorer.similarity(s.tokens, e.tokens)
        pen = scorer.length_penalty(len(s.text), len(e.text))
        neigh = max((scorer.similarity(s.tokens, en[k].tokens) for k in (j - 1, j + 1) if 0 <= k < len(en)),
                    default=0.0)
        # a neighbouring English verse explains the Spanish one better, or the pair is very unlike
        if neigh > sim + 0.05 or pen > 0.4 or sim < 0.3:
            flagged.add(chap)
    return flagged
