"""Time-budgeted training (--time-budget) and the skipped update on a non-finite gradient."""

from __future__ import annotations

import math
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch

from asrkit.train import bookkeeping
from asrkit.train.bookkeeping import Bookkeeping, epochs_schedule


class _Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


class _Run(Bookkeeping):
    def __init__(self, tmp: Path) -> None:
        self.main, self.exp = True, tmp
        self.model = torch.nn.Linear(2, 1)
        self.opt = torch.optim.SGD(self.model.parameters(), lr=0.1)
        self.optim = SimpleNamespace(epochs=40, warmup_steps=2, final_lr_ratio=0.1)
        self.sched = torch.optim.lr_scheduler.LambdaLR(self.opt, epochs_schedule(self.optim, 10))
        self.epoch, self.batch_in_epoch, self.step, self.history = 0, 0, 0, []


@pytest.fixture
def clock(monkeypatch):
    c = _Clock()
    monkeypatch.setattr(bookkeeping.time, "monotonic", c)
    return c


def test_budget_fits_epochs_from_step_time_then_epoch_time(tmp_path, clock):
    run = _Run(tmp_path)
    run.time_budget_s = 100.0
    run.start_clock()
    run.step, run.batch_in_epoch = 5, 5
    clock.t = 5.0  # 1 s/step, 10 steps/epoch -> 11.5 s/epoch with the 15 % margin
    run.fit_epochs_to_budget(run.optim, 10)
    assert run.optim.epochs == int(0.5 + 95 / 11.5)  # 8
    # End of epoch 2 after 30 s (dev pass included): 15 s/epoch, 70 s left -> 4 more.
    run.epoch, run.batch_in_epoch, run.step, clock.t = 2, 0, 20, 30.0
    run.fit_epochs_to_budget(run.optim, 10, epochs_done_in_run=2)
    assert run.optim.epochs == 6
    clock.t = 100.0
    assert run.out_of_time()
    run.fit_epochs_to_budget(run.optim, 10, epochs_done_in_run=2)
    assert run.optim.epochs == 2  # nothing left: the loop ends at the current epoch


def test_budget_never_exceeds_the_configured_epochs(tmp_path, clock):
    run = _Run(tmp_path)
    run.optim.epochs = 3
    run.time_budget_s = 1e6
    run.start_clock()
    run.step, clock.t = 5, 1.0
    run.fit_epochs_to_budget(run.optim, 10)
    assert run.optim.epochs == 3


def test_no_budget_changes_nothing(tmp_path, clock):
    run = _Run(tmp_path)
    run.start_clock()
    run.step, clock.t = 5, 1e9
    run.fit_epochs_to_budget(run.optim, 10)
    assert run.optim.epochs == 40 and not run.out_of_time()


def test_schedule_follows_the_fitted_epochs(tmp_path):
    optim = SimpleNamespace(epochs=10, warmup_steps=0, final_lr_ratio=0.0)
    f = epochs_schedule(optim, 10)
    assert f(50) == pytest.approx(0.5)  # half-way through 100 steps
    optim.epochs = 5
    assert f(50) == pytest.approx(0.0, abs=1e-12)  # the decay now ends at step 50
    assert math.isclose(f(25), 0.5)


def test_non_finite_gradient_skips_the_update(tmp_path):
    run = _Run(tmp_path)
    before = [p.detach().clone() for p in run.model.parameters()]
    loss = run.model(torch.tensor([[float("inf"), 1.0]])).sum() * 0.0  # inf * 0 = nan
    run.optimizer_step(loss, 1, 0, grad_clip=1.0, save_every=10_000)
    assert all(torch.equal(a, b) for a, b in zip(before, run.model.parameters()))
    assert run.step == 1  # the position still advances (resumable, same schedule)
    assert "update skipped" in (tmp_path / "train.log").read_text()
    good = run.model(torch.tensor([[1.0, 1.0]])).sum()
    run.optimizer_step(good, 1, 1, grad_clip=1.0, save_every=10_000)
    assert not all(torch.equal(a, b) for a, b in zip(before, run.model.parameters()))


def test_time_budget_is_refused_with_several_processes(tmp_path):
    from asrkit.errors import UserError

    run = _Run(tmp_path)
    run.set_time_budget(2.5)
    assert run.time_budget_s == 150.0
    run.world = 2
    with pytest.raises(UserError, match="one process only"):
        run.set_time_budget(1.0)
