"""Subtitles from a transcript: SubRip (``.srt``) and WebVTT (``.vtt``).

A cue is at most ``max_chars`` characters (two lines of 42, the usual broadcast limit) and
``max_s`` seconds. With word timestamps a segment is cut into cues at word boundaries and each cue runs
from its first word's start to its last word's end; without them (the speech LLM) a cue is a segment.
Formats: SubRip cues are numbered from 1, ``HH:MM:SS,mmm --> HH:MM:SS,mmm``; WebVTT (W3C, "WebVTT: The Web
Video Text Tracks Format") starts with ``WEBVTT`` and uses ``HH:MM:SS.mmm``.
"""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass
from pathlib import Path

from asrkit.longform.timestamps import Word
from asrkit.longform.transcriber import Transcript

FORMATS = ("jsonl", "srt", "vtt")
LINE_CHARS = 42


@dataclass
class Cue:
    start: float
    end: float
    text: str


def _groups(words: list[Word], max_chars: int, max_s: float, target: float | None = None) -> list[list[Word]]:
    """Consecutive words in groups within the hard limits; with ``target``, a group also closes where that
    brings its length nearer ``target`` characters than taking the next word would."""
    groups = [[words[0]]]
    for w in words[1:]:
        group = groups[-1]
        now = len(" ".join(x.word for x in group))
        new = now + 1 + len(w.word)
        hard = new > max_chars or w.end - group[0].start > max_s
        soft = target is not None and new > target and new - target > target - now
        if hard or soft:
            groups.append([w])
        else:
            group.append(w)
    return groups


def cues(transcript: Transcript, max_chars: int = 2 * LINE_CHARS, max_s: float = 7.0) -> list[Cue]:
    out: list[Cue] = []
    for seg in transcript.segments:
        if not seg.text:
            continue
        if not seg.words:
            out.append(Cue(seg.start, seg.end, seg.text))
            continue
        groups = _groups(seg.words, max_chars, max_s)
        if len(groups) > 1:  # as many cues, of even length: no one-word cue left at the end
            even = _groups(seg.words, max_chars, max_s, len(" ".join(w.word for w in seg.words)) / len(groups))
            groups = even if len(even) == len(groups) else groups
        out += [Cue(g[0].start, g[-1].end, " ".join(w.word for w in g)) for g in groups]
    # Cues must not overlap and must last: a cue ends no later than the next one starts, and at least 1 ms.
    for a, b in zip(out, out[1:]):
        a.end = min(a.end, b.start)
    for c in out:
        c.end = max(c.end, c.start + 0.001)
    return out


def _clock(t: float, sep: str) -> str:
    ms = int(round(max(t, 0.0) * 1000))
    h, ms = divmod(ms, 3_600_000)
    m, ms = divmod(ms, 60_000)
    s, ms = divmod(ms, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}{sep}{ms:03d}"


def _lines(text: str) -> str:
    """Lines of at most 42 characters; a line break of the text (``asr_ast``: transcript, then translation) is kept.
    "-->" would end a WebVTT cue's timing line and a blank line would end the cue in both formats: neither
    survives."""
    out = []
    for part in text.replace("-->", "->").split("\n"):
        out += textwrap.wrap(re.sub(r"\s+", " ", part).strip(), LINE_CHARS)
    return "\n".join(out) or " "


def to_srt(cue_list: list[Cue]) -> str:
    return "".join(f"{i}\n{_clock(c.start, ',')} --> {_clock(c.end, ',')}\n{_lines(c.text)}\n\n"
                   for i, c in enumerate(cue_list, 1))


def to_vtt(cue_list: list[Cue]) -> str:
    return "WEBVTT\n\n" + "".join(f"{_clock(c.start, '.')} --> {_clock(c.end, '.')}\n{_lines(c.text)}\n\n"
                                  for c in cue_list)


def subtitle_path(output: Path, uid: str, fmt: str) -> Path:
    """``OUTPUT_DIR/<id>.<fmt>`` next to the JSONL output; characters a file name cannot hold become ``_``."""
    safe = re.sub(r"[^\w.\-]", "_", uid).lstrip(".") or "_"
    return output.parent / f"{safe}.{fmt}"


def write_subtitles(transcript: Transcript, uid: str, output: Path, fmt: str) -> Path:
    path = subtitle_path(output, uid, fmt)
    text = to_srt(cues(transcript)) if fmt == "srt" else to_vtt(cues(transcript))
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)  # a kill leaves the old file or the new one, never half a file
    return path
