"""The compiled pieces of decoders/csrc (``decoders._ctc_core``), each with one switch and one warning.

Every compiled algorithm has a Python reference it is tested against; when the extension is not built (or
``ASRKIT_NATIVE=0``), callers get None here and run the reference, warned once per piece.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable
from typing import Any

_loaded: dict[str, Any] = {}


def native(name: str, load: Callable[[], Any], fallback: str) -> Any:
    """``load()`` (an import of the compiled code), remembered under ``name``; None when ASRKIT_NATIVE=0 or it
    raises ImportError (then one RuntimeWarning: ``name`` is not built, ``fallback`` instead)."""
    if os.environ.get("ASRKIT_NATIVE", "1") == "0":
        return None
    if name not in _loaded:
        try:
            _loaded[name] = load()
        except ImportError as err:
            _loaded[name] = None
            warnings.warn(f"asrkit: {name} is not built ({err}); {fallback} (rebuild with `pip install -e .` or "
                          "`bash install.sh`)", RuntimeWarning, stacklevel=4)
    return _loaded[name]
