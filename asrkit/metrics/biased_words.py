"""Biased-word metrics of hotword (context-biasing) decoding: recall, B-WER and U-WER, and false names.

As WeNet and icefall report context biasing (Huang et al., 2023, "Contextualized End-to-End Speech Recognition
with Contextual Phrase Prediction Network"; WeNet's ``compute-wer`` with a biasing list): the reference and
hypothesis words are aligned by Levenshtein distance, then

- **recall**: biased reference words the hypothesis has right, over the biased reference words;
- **B-WER**: errors on biased reference words, plus inserted biased words, over the biased reference words;
- **U-WER**: the same for every other word (unbiased reference words and inserted other words);
- **false names**: hypothesis words of the hotword list (``listed``: every word of its phrases, distractors
  included) aligned with a different reference word (or inserted): names the bonus wrote where none was said.

References are taken as given (normalise them as the hypotheses are, :func:`asrkit.text.normalize_text`, which
this applies to each hypothesis).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

import numpy as np

from asrkit.text import normalize_text


def align_words(ref: Sequence[str], hyp: Sequence[str]) -> list[tuple[str | None, str | None]]:
    """Levenshtein alignment as (reference word or None, hypothesis word or None) pairs, in order; among equal
    costs the trace back prefers a match/substitution, then a deletion, then an insertion."""
    n, m = len(ref), len(hyp)
    d = np.zeros((n + 1, m + 1), dtype=np.int32)
    d[:, 0], d[0, :] = np.arange(n + 1), np.arange(m + 1)
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            d[i, j] = min(d[i - 1, j] + 1, d[i, j - 1] + 1, d[i - 1, j - 1] + (ref[i - 1] != hyp[j - 1]))
    out: list[tuple[str | None, str | None]] = []
    i, j = n, m
    while i or j:
        if i and j and d[i, j] == d[i - 1, j - 1] + (ref[i - 1] != hyp[j - 1]):
            out.append((ref[i - 1], hyp[j - 1]))
            i, j = i - 1, j - 1
        elif i and d[i, j] == d[i - 1, j] + 1:
            out.append((ref[i - 1], None))
            i -= 1
        else:
            out.append((None, hyp[j - 1]))
            j -= 1
    return out[::-1]


def biased_word_scores(refs: Sequence[str], hyps: Sequence[str], biased: Collection[str],
                       listed: Collection[str] = frozenset()) -> dict:
    """WER, recall, B-WER, U-WER (in %), the number of biased reference words and false names (module doc)."""
    errs = n = b_err = b_n = u_err = u_n = hit = false = 0
    for r, h in zip(refs, hyps):
        for a, b in align_words(r.split(), normalize_text(h).split()):
            false += b is not None and b in listed and a != b
            if a is None:  # insertion: a B error when the inserted word is biased
                errs += 1
                if b in biased:
                    b_err += 1
                else:
                    u_err += 1
                continue
            n += 1
            wrong = a != b
            errs += wrong
            if a in biased:
                b_n += 1
                b_err += wrong
                hit += not wrong
            else:
                u_n += 1
                u_err += wrong
    return {"wer": 100 * errs / max(n, 1), "recall": 100 * hit / max(b_n, 1), "b_wer": 100 * b_err / max(b_n, 1),
            "u_wer": 100 * u_err / max(u_n, 1), "biased_words": b_n, "false_names": false}
