"""The one reader of line-based manifests (JSONL and Kaldi-style text): decode input manifests
(:mod:`asrkit.data.inputs`), score's references and hypotheses (:mod:`asrkit.metrics.references`), training
manifests and JSONL text corpora all read their lines here.

A problem is returned, not raised, as a :class:`LineProblem` with a ``kind``: a decode run reports a bad line
and goes on, ``asrkit score`` stops at the first one, and each says it in the words its docs promise."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

_BOM = b"\xef\xbb\xbf"  # some editors start UTF-8 files with a byte order mark


@dataclass(frozen=True)
class LineProblem:
    """``kind``: missing | directory | unreadable (the file), not_utf8 | invalid_json | not_object (a line),
    empty (no non-blank line). ``detail``: the OS or JSON error text, or the type a line held instead."""

    path: Path
    line: int | None
    kind: str
    detail: str = ""

    @property
    def where(self) -> str:
        return f"{self.path}:{self.line}" if self.line is not None else str(self.path)


def text_lines(path: str | Path) -> Iterator[tuple[int, str] | LineProblem]:
    """``(line_number, line)`` for every non-blank line of a UTF-8 file (a byte order mark is dropped); a
    problem for the file, for each line that is not UTF-8, or (kind ``empty``) for a file with no line."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError as err:
        yield LineProblem(path, None, "missing", err.strerror or str(err))
        return
    except IsADirectoryError as err:
        yield LineProblem(path, None, "directory", err.strerror or str(err))
        return
    except OSError as err:
        yield LineProblem(path, None, "unreadable", err.strerror or str(err))
        return
    if data.startswith(_BOM):
        data = data[len(_BOM):]
    found = False
    for number, raw in enumerate(data.splitlines(), start=1):
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError:
            found = True
            yield LineProblem(path, number, "not_utf8")
            continue
        if line.strip():
            found = True
            yield number, line
    if not found:
        yield LineProblem(path, None, "empty")


def parse_object(path: Path, number: int, line: str) -> dict | LineProblem:
    """One JSONL line as a JSON object, or the problem with it."""
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as err:
        return LineProblem(path, number, "invalid_json", err.msg)
    except RecursionError:
        return LineProblem(path, number, "invalid_json", "nested too deeply")
    if not isinstance(obj, dict):
        return LineProblem(path, number, "not_object", type(obj).__name__)
    return obj


def jsonl_objects(path: str | Path) -> Iterator[tuple[int, dict] | LineProblem]:
    """``(line_number, object)`` for every non-blank line of a JSONL file, or the problem (as
    :func:`text_lines`, plus a line that is not JSON or not a JSON object)."""
    path = Path(path)
    for item in text_lines(path):
        if isinstance(item, LineProblem):
            yield item
            continue
        number, line = item
        obj = parse_object(path, number, line)
        yield obj if isinstance(obj, LineProblem) else (number, obj)


def read_jsonl(path: str | Path, what: str = "manifest") -> list[dict]:
    """Every object of a JSONL file; the first problem is a one-line :class:`asrkit.errors.UserError`
    (``what`` names the file's role: "manifest", "text corpus", ...)."""
    from asrkit.errors import UserError

    out = []
    for item in jsonl_objects(path):
        if isinstance(item, LineProblem):
            raise UserError(f"{item.where}: {describe(item, what)}")
        out.append(item[1])
    return out


def describe(problem: LineProblem, what: str = "manifest") -> str:
    """A plain wording of ``problem`` for callers without documented messages of their own."""
    return {
        "missing": f"no such {what}",
        "directory": f"is a directory, not a {what} file",
        "unreadable": f"cannot read ({problem.detail})",
        "not_utf8": "not UTF-8 text (save the file as UTF-8)",
        "invalid_json": f"not valid JSON ({problem.detail})",
        "not_object": f"expected a JSON object, got {problem.detail}",
        "empty": f"empty {what}",
    }[problem.kind]
