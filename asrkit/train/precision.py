"""Mixed precision for every trainer: bf16 autocast where the hardware computes in bf16, float32 elsewhere.

On a CPU without native bf16 (no AVX512-BF16 / AMX: oneDNN reports it unsupported) PyTorch emulates bf16
matrix products, and a step of the speech-LLM training took ~35 s instead of ~1 s in float32 on a 2-core
AVX2 machine; so there ``amp: "bf16"`` trains in float32, with one warning.
"""

from __future__ import annotations

import contextlib
import functools
import warnings

import torch

from asrkit.errors import UserError

AMP_MODES = ("bf16", "none")


@functools.cache
def bf16_is_native(device_type: str) -> bool:
    """Whether ``device_type`` computes bf16 natively (CPU: oneDNN's check; CUDA: the device's)."""
    if device_type == "cuda":
        return torch.cuda.is_bf16_supported()
    if device_type == "cpu":
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    return True


@functools.cache
def _warn_emulated(device_type: str) -> None:
    warnings.warn(f"asrkit: this {device_type} has no native bf16 (no AVX512-BF16/AMX); "
                  "training in float32 instead of bf16 autocast (emulated bf16 is tens of times slower)",
                  stacklevel=3)


def describe_precision(device_type: str, amp: str) -> str:
    """How a trainer with config value ``amp`` computes on ``device_type``, in words (its train.log says it)."""
    if amp != "bf16":
        return "float32"
    if bf16_is_native(device_type):
        return "bf16 autocast"
    return f"float32 (bf16 autocast asked; this {device_type} has no native bf16)"


def autocast(device_type: str, amp: str) -> contextlib.AbstractContextManager:
    """The forward pass's precision context for config value ``amp`` (``"bf16"`` or ``"none"``)."""
    if amp not in AMP_MODES:
        raise UserError(f"optim.amp: unknown value {amp!r} (use one of {', '.join(AMP_MODES)})")
    enabled = amp == "bf16" and bf16_is_native(device_type)
    if amp == "bf16" and not enabled:
        _warn_emulated(device_type)
    return torch.autocast(device_type, dtype=torch.bfloat16, enabled=enabled)
