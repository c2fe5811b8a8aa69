"""Resolve `asrkit decode --input` arguments into utterances.

An input is an audio file (wav/flac/...), a folder (searched recursively for audio files), a Kaldi
``wav.scp`` (``utt_id path`` per line) or a JSONL manifest (``id`` and ``audio`` per line, relative
audio paths resolved against the manifest's folder). Problems with one entry are yielded as
``InputError`` so the caller can report them and go on with the rest.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

AUDIO_SUFFIXES = {".wav", ".flac", ".ogg", ".mp3", ".opus", ".aiff", ".aif", ".au", ".sph"}


@dataclass
class Utterance:
    id: str
    audio: Path
    text: str | None = None


@dataclass
class InputError:
    source: str
    message: str

    def __str__(self) -> str:
        return f"{self.source}: {self.message}"


def _from_manifest(path: Path) -> Iterator[Utterance | InputError]:
    with path.open(encoding="utf-8", errors="replace") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
                uid, audio = str(obj["id"]), obj["audio"]
            except (json.JSONDecodeError, KeyError, TypeError) as err:
                kind = "invalid JSON" if isinstance(err, json.JSONDecodeError) else "needs 'id' and 'audio'"
                yield InputError(f"{path}:{n}", f"bad manifest line ({kind})")
                continue
            audio_path = Path(audio)
            if not audio_path.is_absolute():
                audio_path = path.parent / audio_path
            yield Utterance(uid, audio_path, obj.get("text"))


def _from_scp(path: Path) -> Iterator[Utterance | InputError]:
    with path.open(encoding="utf-8", errors="replace") as f:
        for n, line in enumerate(f, 1):
            parts = line.strip().split(maxsplit=1)
            if not parts:
                continue
            if len(parts) != 2:
                yield InputError(f"{path}:{n}", "bad wav.scp line (expected 'utt_id path')")
            elif parts[1].endswith("|"):
                yield InputError(f"{path}:{n}", "piped commands in wav.scp are not supported; give a file path")
            else:
                yield Utterance(parts[0], Path(parts[1]))


def iter_inputs(inputs: list[str]) -> Iterator[Utterance | InputError]:
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            files = sorted(p for p in path.rglob("*") if p.suffix.lower() in AUDIO_SUFFIXES)
            if not files:
                yield InputError(item, "folder holds no audio files")
            for p in files:
                yield Utterance(str(p.relative_to(path).with_suffix("")).replace("/", "_"), p)
        elif not path.exists():
            yield InputError(item, "no such file or folder")
        elif path.suffix == ".jsonl":
            yield from _from_manifest(path)
        elif path.name.endswith(".scp"):
            yield from _from_scp(path)
        else:
            yield Utterance(path.stem, path)
