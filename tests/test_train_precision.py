"""Mixed precision of the trainers (asrkit/train/precision.py): bf16 autocast only where the device computes
bf16 natively, float32 with one warning elsewhere, and unknown modes refused."""

from __future__ import annotations

import warnings

import pytest
import torch

from asrkit.errors import UserError
from asrkit.train import precision


def _matmul_dtype(amp: str) -> torch.dtype:
    a = torch.ones(4, 4)
    with precision.autocast("cpu", amp):
        return (a @ a).dtype


@pytest.fixture
def fresh_caches():
    cached = (precision.bf16_is_native, precision._warn_emulated)  # the originals, whatever a test patches
    for f in cached:
        f.cache_clear()
    yield
    for f in cached:
        f.cache_clear()


def test_native_bf16_autocasts(monkeypatch, fresh_caches):
    monkeypatch.setattr(precision, "bf16_is_native", lambda device_type: True)
    assert _matmul_dtype("bf16") == torch.bfloat16
    assert _matmul_dtype("none") == torch.float32


def test_emulated_bf16_trains_in_float32_with_one_warning(monkeypatch, fresh_caches):
    monkeypatch.setattr(precision, "bf16_is_native", lambda device_type: False)
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        assert _matmul_dtype("bf16") == torch.float32
        assert _matmul_dtype("bf16") == torch.float32
    assert len([w for w in seen if "no native bf16" in str(w.message)]) == 1


def test_the_cpu_check_answers(fresh_caches):
    assert isinstance(precision.bf16_is_native("cpu"), bool)


def test_unknown_mode_is_one_line(fresh_caches):
    with pytest.raises(UserError, match="optim.amp: unknown value 'fp8'"):
        _matmul_dtype("fp8")


def test_describe_precision_says_what_the_trainer_computes(monkeypatch, fresh_caches):
    monkeypatch.setattr(precision, "bf16_is_native", lambda device_type: True)
    assert precision.describe_precision("cpu", "bf16") == "bf16 autocast"
    assert precision.describe_precision("cpu", "none") == "float32"
    monkeypatch.setattr(precision, "bf16_is_native", lambda device_type: False)
    assert precision.describe_precision("cpu", "bf16") == "float32 (bf16 autocast asked; this cpu has no native bf16)"
