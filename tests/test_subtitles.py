"""SRT and WebVTT files from a transcript: valid syntax, increasing non-overlapping cues, the words in order."""

import re

from asrkit.longform.subtitles import cues, subtitle_path, to_srt, to_vtt
from asrkit.longform.timestamps import Word
from asrkit.longform.transcriber import Segment, Transcript
from tests.conftest import parse_vtt, subtitle_seconds

SRT_TIME = r"(\d\d):(\d\d):(\d\d),(\d\d\d)"


def parse_srt(text):
    """A strict SubRip reader: numbered cues from 1, one timing line, text lines, a blank line after each."""
    assert text.endswith("\n\n")
    out = []
    for n, block in enumerate(text[:-2].split("\n\n"), 1):
        lines = block.split("\n")
        assert lines[0] == str(n)
        m = re.fullmatch(SRT_TIME + " --> " + SRT_TIME, lines[1])
        assert m, lines[1]
        assert len(lines) >= 3 and all(line.strip() for line in lines[2:])
        out.append((subtitle_seconds(m, 1), subtitle_seconds(m, 5), " ".join(lines[2:])))
    return out


def _transcript():
    words = [Word(f"w{i}", 3600 + i * 0.5, 3600 + i * 0.5 + 0.3) for i in range(40)]
    return Transcript("x", 4000.0, [
        Segment(3599.8, 3620.2, " ".join(w.word for w in words), words),
        Segment(3625.0, 3626.0, "no --> words here"),
        Segment(3630.0, 3631.0, ""),
    ])


def _check(cue_list):
    assert all(s < e for s, e, _ in cue_list)
    assert all(a[1] <= b[0] for a, b in zip(cue_list, cue_list[1:]))


def test_srt_is_valid():
    tr = _transcript()
    parsed = parse_srt(to_srt(cues(tr)))
    _check(parsed)
    assert " ".join(t for _, _, t in parsed[:-1]).split() == [f"w{i}" for i in range(40)]
    assert parsed[0][0] == 3600.0  # cues start at their first word (01:00:00,000), not at the segment
    assert all(e - s <= 7.0 for s, e, _ in parsed[:-1])
    assert parsed[-1] == (3625.0, 3626.0, "no -> words here")


def test_vtt_is_valid():
    parsed = parse_vtt(to_vtt(cues(_transcript())))
    _check(parsed)
    assert len(parsed) == len(parse_srt(to_srt(cues(_transcript()))))


def test_long_lines_are_wrapped():
    tr = Transcript("y", 10.0, [Segment(0.0, 5.0, "a" * 30 + " " + "b" * 30 + " " + "c" * 20)])
    block = to_srt(cues(tr)).split("\n")
    assert all(len(line) <= 42 for line in block)


def test_subtitle_names(tmp_path):
    out = tmp_path / "hyp.jsonl"
    assert subtitle_path(out, "talk-1", "srt") == tmp_path / "talk-1.srt"
    assert subtitle_path(out, "../a/b c", "vtt") == tmp_path / "_a_b_c.vtt"


def test_transcript_and_translation_lines_kept():
    tr = Transcript("z", 5.0, [Segment(0.0, 4.0, "he went home.\n\nse fue a casa.")])
    assert parse_srt(to_srt(cues(tr))) == [(0.0, 4.0, "he went home. se fue a casa.")]
    assert to_srt(cues(tr)).split("\n")[2:4] == ["he went home.", "se fue a casa."]


def test_cues_of_even_length():
    text = "lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor incididunt ut"  # 90 chars
    words = [Word(w, i * 0.3, i * 0.3 + 0.2) for i, w in enumerate(text.split())]
    tr = Transcript("e", 10.0, [Segment(0.0, 5.0, " ".join(w.word for w in words), words)])
    lengths = [len(c.text) for c in cues(tr)]
    assert len(lengths) == 2 and max(lengths) <= 84 and min(lengths) >= 30  # greedy would leave "ut" alone
