"""Progress bars that stay out of the way in logs and CI (no bar when stderr is not a terminal)."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable

from tqdm import tqdm


def progress(it: Iterable, disable: bool = False, **kwargs) -> tqdm:
    # Non-interactive runs get a sparse bar so logs are not flooded with carriage returns.
    interactive = sys.stderr.isatty()
    return tqdm(it, disable=disable, mininterval=0.5 if interactive else 30.0, dynamic_ncols=True, **kwargs)


def silence_libraries() -> None:
    """``-q``: also no progress bars or info lines from Hugging Face libraries (transformers' "Loading weights").

    The environment variables cover a library imported later (transformers reads them at import); the calls
    cover one already imported."""
    os.environ["HF_HUB_DISABLE_PROGRESS_BARS"] = "1"
    os.environ["TRANSFORMERS_VERBOSITY"] = "error"
    if "transformers" in sys.modules:
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        hf_logging.set_verbosity_error()
