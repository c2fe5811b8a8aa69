"""Loading tensors from files a user hands us, without ever running code from them.

A ``.pt`` file is a pickle, and unpickling can call any Python function, so a crafted checkpoint given to
``train --resume`` or ``train --init`` would run code. Every ``.pt`` we read goes through
:func:`load_torch`, which uses ``torch.load(weights_only=True)``: PyTorch's restricted unpickler that only
rebuilds tensors and plain containers (dicts, lists, tuples, numbers, strings) and refuses anything else.
Safetensors files hold no code at all; :func:`load_safetensors` only turns their errors into one line.
"""

from __future__ import annotations

import pickle
import warnings
from pathlib import Path
from typing import Any

import torch

from asrkit.errors import UserError


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0][:160] if text else type(err).__name__


def load_torch(path: str | Path, what: str = "checkpoint", map_location: str | torch.device = "cpu") -> Any:
    """``torch.load(path, weights_only=True)``; a pickle with code, or any unreadable file, is one UserError."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: no such {what} file" if not path.exists() else f"{path}: not a {what} file")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch warns about the pickle protocol of files it then loads fine
            return torch.load(str(path), map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as err:
        # torch's message spans many lines and suggests weights_only=False, which is exactly what must not happen.
        lines = [x.strip() for x in str(err).splitlines() if x.strip()]
        detail = next((x for x in lines if "GLOBAL" in x or "Unsupported" in x), lines[-1] if lines else "")[:160]
        raise UserError(f"{path}: refused: this {what} file holds Python objects other than tensors, numbers "
                        f"and containers, which could run code when loaded ({detail})") from None
    except Exception as err:  # zip/EOF/pickle-format errors come in many types; the user needs one line
        raise UserError(f"{path}: cannot read {what} ({_first_line(err)})") from None


def load_safetensors(path: str | Path, what: str = "weights") -> dict[str, torch.Tensor]:
    """``safetensors.torch.load_file`` with a one-line UserError for a missing, truncated or corrupt file."""
    from safetensors.torch import load_file

    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: no such {what} file" if not path.exists() else f"{path}: not a {what} file")
    try:
        return load_file(str(path))
    except Exception as err:  # SafetensorError, OSError, ...: a truncated or foreign file
        raise UserError(f"{path}: unreadable safetensors {what} file ({_first_line(err)})") from None
