"""Lhotse manifests as ``asrkit decode --input``: a CutSet (or RecordingSet) ``.jsonl.gz``, read with lhotse.

lhotse is an optional extra (``pip install 'asrkit[lhotse]'``; part of ``[dev]``). Each cut becomes one
utterance: its id, its recording's audio file, the cut's start and duration inside that file (so a cut of
an hour-long recording reads only its part), its channel, and the text of its supervisions as the
reference. Relative audio paths are relative to the working directory, as lhotse itself opens them.
Cuts asrkit cannot read as a part of one file (mixed or padded cuts, recordings from URLs, commands or
memory, or with transforms such as speed perturbation) get one error line each and the rest is decoded.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from asrkit.errors import UserError

SUFFIXES = (".jsonl.gz",)
# iter_lhotse yields plain values (an Utterance's fields, or (where, problem)) rather than
# asrkit.data.inputs' classes: that module imports this one, and this one stays free of a circle.


def is_lhotse_manifest(path: Path) -> bool:
    return path.name.endswith(SUFFIXES)


def _load(path: Path):
    try:
        import lhotse
    except ImportError as err:
        raise UserError(f"{path}: reading a Lhotse manifest needs lhotse (pip install 'asrkit[lhotse]'): "
                        f"{err}") from None
    try:
        return lhotse.load_manifest_lazy(path)
    except Exception as err:  # lhotse raises ValueError, KeyError, JSON and gzip errors for a bad manifest
        msg = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise UserError(f"{path}: not a Lhotse manifest ({msg})") from None


def _channel(cut, recording) -> int | None | str:
    """The channel to read: an index, None for the average of all channels, or why it cannot be read."""
    ch = getattr(cut, "channel", 0)
    if isinstance(ch, int):
        return None if recording.num_channels == 1 else ch
    if sorted(ch) == list(range(recording.num_channels)):
        return None
    return f"channels {list(ch)} of a {recording.num_channels}-channel recording (give one channel or all)"


def _from_recording(where: str, cut_id: str, recording, start: float, duration: float, cut=None,
                    text: str | None = None) -> dict | tuple[str, str]:
    sources = recording.sources
    if len(sources) != 1 or sources[0].type != "file":
        kinds = ", ".join(s.type for s in sources)
        return (where, f"cut {cut_id!r}: recording {recording.id!r} is read from {kinds}; asrkit reads "
                                 "recordings that are one audio file")
    if getattr(recording, "transforms", None):
        return (where, f"cut {cut_id!r}: recording {recording.id!r} has transforms (speed/volume "
                                 "perturbation); asrkit decodes the audio as it is in the file")
    channel = _channel(cut, recording) if cut is not None else None
    if isinstance(channel, str):
        return (where, f"cut {cut_id!r}: {channel}")
    return {"id": str(cut_id), "audio": Path(sources[0].source), "text": text,
            "fields": {"id": str(cut_id), "text": text}, "start": float(start), "duration": float(duration),
            "channel": channel}


def iter_lhotse(path: Path) -> Iterator[dict | tuple[str, str]]:
    """The utterance fields of each cut (or recording) of a Lhotse manifest, (where, problem) for a bad one."""
    try:
        manifest = _load(path)
    except UserError as err:
        yield (str(path), str(err).removeprefix(f"{path}: "))
        return
    kind = type(manifest).__name__
    if kind not in ("CutSet", "RecordingSet"):
        yield (str(path), f"a {kind}; asrkit decodes a CutSet or a RecordingSet")
        return
    found = False
    try:
        for n, item in enumerate(manifest, 1):
            found = True
            where = f"{path}:{n}"
            if kind == "RecordingSet":
                yield _from_recording(where, item.id, item, 0.0, item.duration)
                continue
            if type(item).__name__ != "MonoCut":
                yield (where, f"cut {item.id!r} is a {type(item).__name__}; asrkit decodes MonoCuts "
                           "(one stretch of one recording)")
                continue
            texts = [s.text for s in item.supervisions if getattr(s, "text", None)]
            yield _from_recording(where, item.id, item.recording, item.start, item.duration, item,
                                  " ".join(texts) if texts else None)
    except Exception as err:  # a corrupt line or gzip stream part-way through
        msg = str(err).splitlines()[0] if str(err) else type(err).__name__
        yield (str(path), f"cannot read the rest of the Lhotse manifest ({msg})")
        return
    if not found:
        yield (str(path), "the Lhotse manifest holds no cuts")
