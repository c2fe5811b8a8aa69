"""The one writer of result files (``asrkit decode`` output, ``asrkit tune``'s ``tune.jsonl``).

Rules, in the order a job meets them:

1. :func:`check_output_path` runs before anything is loaded or written: the output must not be a folder,
   its parent must be a folder (or creatable), it must not be one of the job's inputs; with ``--resume`` every
   line must be a result (rule 2), and without it an existing regular file is replaced only when it is a
   results file (one JSON result per line): a file we did not write is never overwritten. Nothing is
   deleted, ever: a device (``/dev/null``) or FIFO output is written to, never truncated or unlinked.
2. :func:`read_results` (``--resume``) reads the finished lines. A job killed mid-write, a full disk or a
   file size limit can leave the last line cut; that fragment is cut off the file (so the next result does
   not run into it) and its utterance is decoded again. Any other line that is not a result stops the job
   with one line naming ``FILE:LINE``, so nothing is decoded twice or dropped.
3. :class:`ResultWriter` appends whole lines with one ``write`` per batch on an ``O_APPEND`` descriptor, so
   a kill leaves at most one cut line, which rule 2 repairs. A write error (no space, file too large,
   I/O error) is one line telling the user to rerun with ``--resume``; what was written stays.
"""

from __future__ import annotations

import errno
import json
import os
import stat
import sys
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from asrkit.errors import UserError

# A line validator: the parsed JSON value of a line -> None when it is a valid row, else why it is not.
Validator = Callable[[object], "str | None"]


def decode_result_problem(obj: object) -> str | None:
    """Why a line of ``asrkit decode`` output is not a finished result (``{"id": ..., "text": "..."}``)."""
    if not isinstance(obj, dict):
        return "not a JSON object"
    uid = obj.get("id")
    if isinstance(uid, bool) or not isinstance(uid, (str, int)) or str(uid) == "":
        return "no 'id'"
    if not isinstance(obj.get("text"), str):
        return f"no 'text' for id {str(uid)!r}"
    return None


def _errno_text(err: OSError) -> str:
    return err.strerror or errno.errorcode.get(err.errno or 0, "") or str(err)


def _samefile(a: str | Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def _is_results_file(path: Path, valid: Validator) -> bool:
    try:
        _parse(path, path.read_bytes(), valid)
    except (UserError, OSError):
        return False
    return True


def check_output_path(path: str | Path, resume: bool, inputs: Iterable[str | Path | None] = (),
                      flag: str = "--output", valid: Validator = decode_result_problem) -> None:
    """Refuse an output that cannot be written or must not be touched, before the job loads or writes anything."""
    path = Path(path)
    if path.is_dir():
        raise UserError(f"{path}: {flag} is a folder; give a file name")
    parent = path.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if parent.exists() and not parent.is_dir():
        raise UserError(f"{path}: cannot create {flag}: {parent} is a file, not a folder")
    for item in inputs:
        if item is not None and str(item) and _samefile(item, path):
            raise UserError(f"{path}: {flag} is also an input ({item}); writing it would destroy that input")
    if not path.exists():
        return
    mode = path.stat().st_mode
    if stat.S_ISREG(mode):
        if resume:  # read-only here: a line that is not a result stops the job before the model loads
            try:
                _parse(path, path.read_bytes(), valid)
            except OSError as err:
                raise UserError(f"{path}: cannot read {flag} ({_errno_text(err)})") from None
        elif path.stat().st_size > 0 and not _is_results_file(path, valid):
            raise UserError(f"{path}: {flag} exists and is not a results file written by asrkit; not overwriting "
                            "it (remove it or choose another name)")
    elif not (stat.S_ISCHR(mode) or stat.S_ISFIFO(mode)):
        raise UserError(f"{path}: {flag} is not a regular file")


def _parse(path: Path, data: bytes, valid: Validator) -> tuple[list[object], int, bool]:
    """Rows of complete lines, the byte length of the valid prefix, and whether a cut last line was dropped."""
    if data.startswith(b"\xef\xbb\xbf"):
        raise UserError(f"{path}:1: starts with a byte order mark; not a file written by asrkit")
    rows: list[object] = []
    lines = data.split(b"\n")
    tail = lines.pop()  # bytes after the last newline: b"" when the file ends with one
    keep = len(data) - len(tail)
    for n, raw in enumerate(lines, 1):
        if not raw.strip():
            continue
        rows.append(_row(path, n, raw, valid))
    if tail.strip():
        try:
            rows.append(_row(path, len(lines) + 1, tail, valid))
            return rows, len(data), False  # complete but unterminated: kept (the writer adds the newline)
        except UserError:
            return rows, keep, True
    return rows, keep, False


def _row(path: Path, n: int, raw: bytes, valid: Validator) -> object:
    try:
        obj = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise UserError(f"{path}:{n}: not UTF-8 text; not a results line") from None
    except (json.JSONDecodeError, RecursionError):
        raise UserError(f"{path}:{n}: not valid JSON; not a results line") from None
    problem = valid(obj)
    if problem:
        raise UserError(f"{path}:{n}: not a finished result ({problem}); --resume continues only files written "
                        "by asrkit: fix or remove that line")
    return obj


def read_results(path: str | Path, valid: Validator = decode_result_problem, repair: bool = True) -> list[object]:
    """The finished rows of a results file (``--resume``); a cut last line is cut off the file (``repair``).

    Only regular files are read: a device such as ``/dev/null`` holds no results.
    """
    path = Path(path)
    try:
        st = path.stat()
    except FileNotFoundError:
        return []
    except OSError as err:
        raise UserError(f"{path}: cannot read ({_errno_text(err)})") from None
    if not stat.S_ISREG(st.st_mode):
        return []
    try:
        data = path.read_bytes()
    except OSError as err:
        raise UserError(f"{path}: cannot read ({_errno_text(err)})") from None
    rows, keep, cut = _parse(path, data, valid)
    if cut and repair:
        try:
            os.truncate(path, keep)
        except OSError as err:
            raise UserError(f"{path}: cannot repair the cut last line ({_errno_text(err)})") from None
        print(f"asrkit: {path}: removed a cut last line ({len(data) - keep} bytes, left by an interrupted "
              "write); its item is done again", file=sys.stderr)
    return rows


class ResultWriter:
    """Appends JSON lines to a results file: whole lines, one ``write`` per call, flushed to the kernel at once.

    ``fresh`` starts the file empty (a regular file is truncated, a device is left as it is); else lines are
    appended, after a newline if the file's last line has none.
    """

    def __init__(self, path: str | Path, fresh: bool):
        self.path = Path(path)
        flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND
        regular = not self.path.exists() or self.path.is_file()
        if fresh and regular:
            flags |= os.O_TRUNC
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.fd = os.open(self.path, flags, 0o644)
        except OSError as err:
            raise UserError(f"{self.path}: cannot open for writing ({_errno_text(err)})") from None
        self._pending_newline = False
        if regular and not fresh:
            try:
                size = os.fstat(self.fd).st_size
                if size:
                    with open(self.path, "rb") as f:
                        f.seek(size - 1)
                        self._pending_newline = f.read(1) != b"\n"
            except OSError as err:
                self.close()
                raise UserError(f"{self.path}: cannot read ({_errno_text(err)})") from None

    def write(self, rows: Sequence[dict]) -> None:
        if not rows:
            return
        text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
        data = (b"\n" if self._pending_newline else b"") + text.encode("utf-8")
        view = memoryview(data)
        try:
            while view:
                view = view[os.write(self.fd, view):]
        except OSError as err:
            raise UserError(f"{self.path}: cannot write results ({_errno_text(err)}); what was written is kept: "
                            "make room and rerun with --resume") from None
        self._pending_newline = False

    def close(self) -> None:
        if self.fd >= 0:
            try:
                os.close(self.fd)
            except OSError:
                pass
            self.fd = -1

    def __enter__(self) -> ResultWriter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def write_lines_atomic(path: str | Path, lines: Iterable[str]) -> None:
    """Replace a regular file by ``lines`` through a temporary file and a rename, so a crash leaves the old
    or the new file, never a mix; a device output (``/dev/null``) is written to directly."""
    path = Path(path)
    text = "".join(line + "\n" for line in lines).encode("utf-8")
    try:
        if path.exists() and not path.is_file():
            with open(path, "wb") as f:
                f.write(text)
            return
        tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
        try:
            with open(tmp, "wb") as f:
                f.write(text)
            os.replace(tmp, path)
        finally:
            if tmp.exists():
                tmp.unlink()  # our own temporary file, left only when the write failed
    except OSError as err:
        raise UserError(f"{path}: cannot write ({_errno_text(err)})") from None
