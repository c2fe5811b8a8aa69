"""Speech probabilities per VAD frame -> speech segments no longer than the model may see.

1. Hysteresis: speech starts on a frame with p >= ``threshold`` and ends once p stays below
   ``threshold - 0.15`` for ``min_silence_s`` (a short dip inside a sentence does not cut it).
2. Segments shorter than ``min_speech_s`` are dropped (clicks, breaths).
3. A segment longer than ``max_segment_s`` is cut at its least speech-like frame in the second half of
   the allowed length (the latest one on a tie), so pieces end where a pause most likely is and are never
   shorter than half the cap (no slivers).
4. Each segment is widened by ``pad_s`` on both sides (never past the middle of the gap to its
   neighbour, never beyond ``max_segment_s``), so word onsets and endings the VAD clipped are kept.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class SegmenterConfig:
    threshold: float = 0.5
    min_silence_s: float = 0.3
    min_speech_s: float = 0.25
    pad_s: float = 0.2
    max_segment_s: float = 30.0


def speech_segments(probs: np.ndarray, frame_s: float, duration_s: float,
                    cfg: SegmenterConfig | None = None) -> list[tuple[float, float]]:
    """(start, end) seconds of each speech segment, increasing and non-overlapping, inside [0, duration_s]."""
    cfg = cfg or SegmenterConfig()
    probs = np.asarray(probs, dtype=np.float32)
    off = cfg.threshold - 0.15
    min_sil = max(1, int(round(cfg.min_silence_s / frame_s)))
    spans: list[tuple[int, int]] = []
    start, quiet = None, 0
    for t, p in enumerate(probs):
        if start is None:
            if p >= cfg.threshold:
                start, quiet = t, 0
        elif p < off:
            quiet += 1
            if quiet >= min_sil:
                spans.append((start, t - quiet + 1))
                start = None
        else:
            quiet = 0
    if start is not None:
        spans.append((start, len(probs) - quiet))
    min_len = max(1, int(round(cfg.min_speech_s / frame_s)))
    max_len = max(2, int(cfg.max_segment_s / frame_s))
    pieces: list[tuple[int, int]] = []
    for a, b in spans:
        if b - a < min_len:
            continue
        while b - a > max_len:
            lo, hi = a + max_len // 2, a + max_len
            # The latest least speech-like frame: on a flat stretch, the longest piece allowed.
            cut = hi - 1 - int(np.argmin(probs[lo:hi][::-1]))
            pieces.append((a, cut))
            a = cut
        pieces.append((a, b))
    out: list[tuple[float, float]] = []
    for i, (a, b) in enumerate(pieces):
        s, e = a * frame_s, min(b * frame_s, duration_s)
        room = max(0.0, (cfg.max_segment_s - (e - s)) / 2)
        pad = min(cfg.pad_s, room)
        left = pieces[i - 1][1] * frame_s if i else 0.0
        right = pieces[i + 1][0] * frame_s if i + 1 < len(pieces) else duration_s
        s = max(s - pad, (left + s) / 2 if i else 0.0)
        e = min(e + pad, (e + right) / 2 if i + 1 < len(pieces) else duration_s)
        if e > s:
            out.append((round(s, 3), round(e, 3)))
    return out
