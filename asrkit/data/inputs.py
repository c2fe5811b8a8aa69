"""Resolve `asrkit decode --input` arguments into utterances: the one place that validates what a user feeds.

An input is an audio file (wav/flac/...), a folder (searched recursively for audio files), a Kaldi
``wav.scp`` (``utt_id path`` per line), a JSONL manifest (``id`` and ``audio`` per line) or a Lhotse CutSet
``.jsonl.gz`` (optional extra, :mod:`asrkit.data.lhotse_inputs`; a cut may be a part of a file). Relative audio
paths: in a JSONL manifest they are relative to the manifest's folder (so a data folder can move); in a
``wav.scp`` they are relative to the current working directory (Kaldi's convention). Text files may start
with a UTF-8 byte order mark; a line that is not UTF-8 is an error naming ``FILE:LINE``, never a silently
changed id. Problems with one entry are yielded as ``InputError`` so the caller can report them and go on
with the rest; an input that yields no utterance at all (an empty manifest, a folder without audio) yields
one ``InputError`` too.

Ids: a manifest or ``wav.scp`` gives them; a single file's id is its name without the suffix; a folder's
files get their path below the folder without the suffix, ``/`` replaced by ``_`` (``sub/x.flac`` ->
``sub_x``), except where two files of the folder would get the same id (``a.wav`` and ``a.flac``,
``sub/x.flac`` and ``sub_x.flac``): those keep their full relative path with the suffix (``a.wav``,
``sub/x.flac``), which is unique.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from asrkit.data.jsonl import LineProblem, jsonl_objects, text_lines

AUDIO_SUFFIXES = {".wav", ".flac", ".ogg", ".mp3", ".opus", ".aiff", ".aif", ".au", ".sph"}


@dataclass
class Utterance:
    id: str
    audio: Path
    text: str | None = None
    fields: dict = field(default_factory=dict)  # the whole manifest line (references for `asrkit tune`)
    # A part of the file (a Lhotse cut of a longer recording): seconds in, length, channel (None: average all).
    start: float = 0.0
    duration: float | None = None
    channel: int | None = None


@dataclass
class InputError:
    source: str
    message: str

    def __str__(self) -> str:
        return f"{self.source}: {self.message}"


# What each problem of the shared line reader (asrkit/data/jsonl.py) says in a decode run (docs/errors.md).
_SAYS = {"not_utf8": "not UTF-8 text (save the file as UTF-8)", "invalid_json": "bad manifest line (invalid JSON)",
         "not_object": "bad manifest line (expected a JSON object with 'id' and 'audio')"}


def _problem(p: LineProblem, empty: str) -> InputError:
    if p.kind in ("missing", "directory", "unreadable"):
        return InputError(p.where, f"cannot read ({p.detail})")
    return InputError(p.where, empty if p.kind == "empty" else _SAYS[p.kind])


def _bad_path(value: str) -> str | None:
    if not value.strip():
        return "an empty path"
    if "\x00" in value:
        return "a path with a NUL character"
    return None


def _utterance_id(value: object) -> str | None:
    """A manifest id: a non-empty string or an integer (some tools write numeric ids); bool is not one."""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        return None
    uid = str(value)
    return uid if uid.strip() else None


def _manifest_line(path: Path, n: int, obj: dict) -> Utterance | InputError:
    where = f"{path}:{n}"
    if "id" not in obj or "audio" not in obj:
        return InputError(where, "bad manifest line (needs 'id' and 'audio')")
    uid = _utterance_id(obj["id"])
    if uid is None:
        return InputError(where, f"bad manifest line ('id' must be a non-empty string or an integer, "
                                 f"not {json.dumps(obj['id'])[:40]})")
    audio = obj["audio"]
    if not isinstance(audio, str):
        return InputError(where, f"bad manifest line ('audio' must be a file path string, not "
                                 f"{json.dumps(audio)[:40]})")
    bad = _bad_path(audio)
    if bad:
        return InputError(where, f"bad manifest line ('audio' is {bad})")
    text = obj.get("text")
    if text is not None and not isinstance(text, str):
        return InputError(where, f"bad manifest line ('text' must be a string, not {json.dumps(text)[:40]})")
    audio_path = Path(audio)
    if not audio_path.is_absolute():
        audio_path = path.parent / audio_path
    return Utterance(uid, audio_path, text, obj)


def _from_manifest(path: Path) -> Iterator[Utterance | InputError]:
    for item in jsonl_objects(path):
        if isinstance(item, LineProblem):
            yield _problem(item, "empty manifest (no utterances)")
        else:
            yield _manifest_line(path, *item)


def _from_scp(path: Path) -> Iterator[Utterance | InputError]:
    for item in text_lines(path):
        if isinstance(item, LineProblem):
            yield _problem(item, "empty wav.scp (no utterances)")
            continue
        n, line = item
        parts = line.strip().split(maxsplit=1)
        if len(parts) != 2:
            yield InputError(f"{path}:{n}", "bad wav.scp line (expected 'utt_id path')")
        elif parts[1].endswith("|"):
            yield InputError(f"{path}:{n}", "piped commands in wav.scp are not supported; give a file path")
        elif _bad_path(parts[1]):
            yield InputError(f"{path}:{n}", f"bad wav.scp line (the path is {_bad_path(parts[1])})")
        else:
            yield Utterance(parts[0], Path(parts[1].strip()))


def _from_folder(path: Path, item: str) -> Iterator[Utterance | InputError]:
    files = sorted(p for p in path.rglob("*") if p.suffix.lower() in AUDIO_SUFFIXES and p.is_file())
    if not files:
        yield InputError(item, "folder holds no audio files")
        return
    rel = [p.relative_to(path) for p in files]
    short = [str(r.with_suffix("")).replace("/", "_") for r in rel]
    clash = Counter(short)
    for p, r, uid in zip(files, rel, short):
        yield Utterance(uid if clash[uid] == 1 else r.as_posix(), p)


def iter_inputs(inputs: list[str]) -> Iterator[Utterance | InputError]:
    for item in inputs:
        if _bad_path(item):
            yield InputError(repr(item), f"--input is {_bad_path(item)}")
            continue
        path = Path(item)
        try:
            is_dir, exists = path.is_dir(), path.exists()
        except OSError as err:
            yield InputError(item, f"cannot access ({err.strerror or err})")
            continue
        if is_dir:
            yield from _from_folder(path, item)
        elif not exists:
            yield InputError(item, "no such file or folder")
        elif path.suffix == ".jsonl":
            yield from _from_manifest(path)
        elif path.name.endswith(".jsonl.gz"):  # a Lhotse CutSet/RecordingSet (asrkit/data/lhotse_inputs.py)
            from asrkit.data.lhotse_inputs import iter_lhotse

            for entry in iter_lhotse(path):
                yield Utterance(**entry) if isinstance(entry, dict) else InputError(*entry)
        elif path.name.endswith(".scp"):
            yield from _from_scp(path)
        else:
            yield Utterance(path.stem, path)
