"""Capture what native (C/C++) code writes straight to file descriptor 2.

Python's ``sys.stderr`` redirection does not reach a C++ library writing to ``std::cerr`` (KenLM prints
"The ARPA file is missing <unk>. Substituting log10 probability -100." and similar while loading), so
those lines would reach the user around our one-line error. Inside :func:`captured_stderr` fd 2 points at
a temporary file; the text is returned for the caller to fold into its own message or drop.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from collections.abc import Iterator


@contextlib.contextmanager
def captured_stderr() -> Iterator[list[str]]:
    """``with captured_stderr() as out: ...``; afterwards ``out`` holds the non-blank lines written to fd 2."""
    lines: list[str] = []
    sys.stderr.flush()
    try:
        saved = os.dup(2)
    except OSError:  # no fd 2 at all (a daemon): nothing to capture
        yield lines
        return
    with tempfile.TemporaryFile() as tmp:
        os.dup2(tmp.fileno(), 2)
        try:
            yield lines
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            tmp.seek(0)
            text = tmp.read().decode("utf-8", errors="replace")
            lines.extend(x.strip() for x in text.splitlines() if x.strip())
