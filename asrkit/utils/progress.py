"""Progress bars that stay out of the way in logs and CI (no bar when stderr is not a terminal)."""

from __future__ import annotations

import sys
from collections.abc import Iterable

from tqdm import tqdm


def progress(it: Iterable, disable: bool = False, **kwargs) -> tqdm:
    # Non-interactive runs get a sparse bar so logs are not flooded with carriage returns.
    interactive = sys.stderr.isatty()
    return tqdm(it, disable=disable, mininterval=0.5 if interactive else 30.0, dynamic_ncols=True, **kwargs)
