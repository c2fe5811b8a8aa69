"""Reading references and hypotheses for scoring, and pairing them by utterance id.

References come from either

* a JSONL manifest: one JSON object per line with an ``id`` and the text in a field chosen by the
  caller (``text`` for transcripts, ``translation`` for translations), or
* a Kaldi ``text`` file: ``utt_id transcript`` per line (the transcript may be empty).

A file named ``*.jsonl`` or ``*.json`` is JSONL; otherwise the first non-blank line decides: a line
starting with ``{`` means JSONL, anything else a Kaldi text file.

Hypotheses come from the JSONL that ``asrkit decode`` writes: ``id`` and ``text`` per line, other
fields ignored. A line with an ``error`` field and no ``text`` is an utterance the decoder failed
on; it is scored as an empty hypothesis and counted as failed.

Every problem with a file is a :class:`UserError` naming the file and, where there is one, the line.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

from asrkit.data.jsonl import LineProblem, jsonl_objects, text_lines
from asrkit.errors import UserError


@dataclass(frozen=True)
class Hypothesis:
    """One decoded utterance; ``failed`` when the decoder reported an error instead of a text."""

    text: str
    failed: bool = False


@dataclass(frozen=True)
class Paired:
    """References and hypotheses lined up by id, in reference order, with what did not pair."""

    ids: list[str]
    refs: list[str]
    hyps: list[str]
    missing: list[str]  # reference ids with no hypothesis line: scored as empty hypotheses
    failed: list[str]  # reference ids whose hypothesis line is a decoder error
    extra: list[str]  # hypothesis ids with no reference: ignored


# What each problem of the shared line reader (asrkit/data/jsonl.py) says in `asrkit score` (docs/scoring.md).
_SAYS = {"missing": "no such file", "directory": "is a directory, not a file", "unreadable": "cannot read: {}",
         "not_utf8": "not valid UTF-8", "invalid_json": "not valid JSON ({})",
         "not_object": "expected a JSON object, got {}", "empty": "file is empty"}


def _raise(p: LineProblem) -> NoReturn:
    raise UserError(f"{p.where}: {_SAYS[p.kind].format(p.detail)}")


def _lines(path: str | Path) -> Iterator[tuple[int, str]]:
    """Yield ``(line_number, line)`` for the non-blank lines of a UTF-8 file."""
    for item in text_lines(path):
        if isinstance(item, LineProblem):
            _raise(item)
        yield item


def _objects(path: str | Path) -> Iterator[tuple[int, dict]]:
    """Yield ``(line_number, object)`` for the non-blank lines of a JSONL file."""
    for item in jsonl_objects(path):
        if isinstance(item, LineProblem):
            _raise(item)
        yield item


def _utt_id(path: str | Path, number: int, obj: dict) -> str:
    utt_id = obj.get("id")
    # Integers are accepted as ids because some tools write numeric ids; bool is an int subclass.
    if isinstance(utt_id, bool) or not isinstance(utt_id, (str, int)) or str(utt_id).strip() == "":
        raise UserError(f"{path}:{number}: missing or invalid 'id' field")
    return str(utt_id)


def _text_field(path: str | Path, number: int, obj: dict, field: str) -> str:
    if field not in obj:
        raise UserError(f"{path}:{number}: no '{field}' field")
    value = obj[field]
    if not isinstance(value, str):
        raise UserError(f"{path}:{number}: field '{field}' is {type(value).__name__}, expected a string")
    return value


def _add(table: dict, path: str | Path, number: int, utt_id: str, value: object) -> None:
    if utt_id in table:
        raise UserError(f"{path}:{number}: duplicate id '{utt_id}'")
    table[utt_id] = value


def detect_format(path: str | Path) -> str:
    """``"jsonl"`` or ``"kaldi"``: from the name (``.jsonl``/``.json``), else from the first line."""
    if Path(path).suffix.lower() in (".jsonl", ".json"):
        return "jsonl"
    for _, line in _lines(path):
        return "jsonl" if line.lstrip().startswith("{") else "kaldi"
    raise AssertionError("unreachable: _lines raises on an empty file")


def load_references(path: str | Path, field: str = "text") -> dict[str, str]:
    """Map utterance id to reference text, from a JSONL manifest (``field``) or a Kaldi ``text`` file."""
    refs: dict[str, str] = {}
    if detect_format(path) == "jsonl":
        for number, obj in _objects(path):
            _add(refs, path, number, _utt_id(path, number, obj), _text_field(path, number, obj, field))
    else:
        for number, line in _lines(path):
            parts = line.split(maxsplit=1)
            if parts[0].startswith("{"):
                raise UserError(f"{path}:{number}: JSON line in a Kaldi text file")
            _add(refs, path, number, parts[0], parts[1].strip() if len(parts) > 1 else "")
    return refs


def load_hypotheses(path: str | Path, field: str = "text") -> dict[str, Hypothesis]:
    """Map utterance id to :class:`Hypothesis`, from the JSONL written by ``asrkit decode``."""
    hyps: dict[str, Hypothesis] = {}
    for number, obj in _objects(path):
        utt_id = _utt_id(path, number, obj)
        if obj.get(field) is None and "error" in obj:
            hyp = Hypothesis("", failed=True)
        else:
            hyp = Hypothesis(_text_field(path, number, obj, field))
        _add(hyps, path, number, utt_id, hyp)
    return hyps


def pair(refs: dict[str, str], hyps: dict[str, Hypothesis]) -> Paired:
    """Line up hypotheses with references by id; a missing hypothesis becomes an empty one."""
    ids = list(refs)
    missing = [i for i in ids if i not in hyps]
    failed = [i for i in ids if i in hyps and hyps[i].failed]
    extra = [i for i in hyps if i not in refs]
    return Paired(
        ids=ids,
        refs=[refs[i] for i in ids],
        hyps=[hyps[i].text if i in hyps else "" for i in ids],
        missing=missing,
        failed=failed,
        extra=extra,
    )
