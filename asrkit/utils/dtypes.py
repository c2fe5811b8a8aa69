"""The one table of dtype names a config or flag may give (``"bf16"``, ``"float32"``, ...)."""

from __future__ import annotations

import torch

from asrkit.errors import UserError

DTYPES = {"float32": torch.float32, "fp32": torch.float32, "bfloat16": torch.bfloat16, "bf16": torch.bfloat16,
          "float16": torch.float16, "fp16": torch.float16}


def as_dtype(dtype: str | torch.dtype | None, auto: bool = False) -> torch.dtype | str:
    """A torch dtype from a name in :data:`DTYPES` (None: float32); ``auto``: also accept ``"auto"`` (kept as is,
    for Hugging Face's "the checkpoint's own dtype"). An unknown name is a one-line :class:`UserError`."""
    if dtype is None:
        return torch.float32
    if isinstance(dtype, torch.dtype) or (auto and dtype == "auto"):
        return dtype
    if dtype not in DTYPES:
        also = " or 'auto'" if auto else ""
        raise UserError(f"unknown dtype {dtype!r} (use one of {sorted(DTYPES)}{also})")
    return DTYPES[dtype]
