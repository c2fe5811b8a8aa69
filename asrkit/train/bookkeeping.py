"""What every asrkit training loop shares: the LR schedule, logging, atomic resumable checkpoints."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from pathlib import Path

import torch

from asrkit.errors import UserError
from asrkit.utils.safe_load import load_torch

# What save_checkpoint writes and resume needs.
_CHECKPOINT_KEYS = ("model", "opt", "sched", "epoch", "batch_in_epoch", "step", "rng")
# Steps after which a time budget first fits the number of epochs (the step time has settled by then).
BUDGET_PROBE_STEPS = 30


def warmup_cosine(warmup_steps: int, final_lr_ratio: float, total_steps: int) -> Callable[[int], float]:
    """LR multiplier: linear warmup to 1 over ``warmup_steps``, then cosine decay to ``final_lr_ratio``."""

    def f(step: int) -> float:
        if step < warmup_steps:
            return (step + 1) / warmup_steps
        p = min(1.0, (step - warmup_steps) / max(1, total_steps - warmup_steps))
        return final_lr_ratio + (1 - final_lr_ratio) * 0.5 * (1 + math.cos(math.pi * p))

    return f


def epochs_schedule(optim, steps_per_epoch: int, offset: int = 0) -> Callable[[int], float]:
    """:func:`warmup_cosine` over ``optim.epochs`` read at every step, so that a time budget
    (:meth:`Bookkeeping.fit_epochs_to_budget`) can stretch or shrink the decay after the run has started;
    ``offset`` steps (a warm-up phase with its own LR) come before it."""
    return lambda step: warmup_cosine(optim.warmup_steps, optim.final_lr_ratio,
                                      optim.epochs * steps_per_epoch)(step - offset)


class Bookkeeping:
    """Mixin for trainers with ``main``, ``exp``, ``device``, ``model``, ``opt``, ``sched``, ``epoch``,
    ``batch_in_epoch``, ``step`` and ``history`` attributes."""

    main: bool
    exp: Path
    # --time-budget: seconds this run may train (None: train to optim.epochs).
    time_budget_s: float | None = None
    _run_t0: float = 0.0
    _run_step0: int = 0

    def set_time_budget(self, minutes: float) -> None:
        """``--time-budget MINUTES``. One process only: ranks timing themselves would choose different epoch
        counts and wait for each other forever."""
        if getattr(self, "world", 1) > 1:
            raise UserError("--time-budget: one process only (ranks would choose different epoch counts)")
        self.time_budget_s = 60.0 * minutes

    def start_clock(self) -> None:
        """Mark the start of this run's training (the budget counts from here, after data loading)."""
        self._run_t0, self._run_step0 = time.monotonic(), self.step

    def elapsed_s(self) -> float:
        return time.monotonic() - self._run_t0

    def out_of_time(self) -> bool:
        return self.time_budget_s is not None and self.elapsed_s() >= self.time_budget_s

    def fit_epochs_to_budget(self, optim, steps_per_epoch: int, epochs_done_in_run: int = 0) -> None:
        """Set ``optim.epochs`` (never above the configured number) to what fits in the time budget.

        Measured after a first few steps (seconds per step, 15 % margin for the per-epoch dev pass) and
        again at each epoch end (whole seconds per epoch, dev pass included). The LR schedule reads
        ``optim.epochs`` at every step (:func:`epochs_schedule`), so the cosine decay ends with the budget.
        The chosen number is logged: ``--epochs N`` without a budget gives the same schedule on any machine."""
        if self.time_budget_s is None:
            return
        cap = getattr(self, "_epochs_cap", None)
        if cap is None:
            cap = self._epochs_cap = optim.epochs
        elapsed, steps = self.elapsed_s(), self.step - self._run_step0
        if steps <= 0:
            return
        remaining = max(0.0, self.time_budget_s - elapsed)
        if epochs_done_in_run > 0:
            per_epoch = elapsed / epochs_done_in_run
            fit = self.epoch + int(remaining // per_epoch)
        else:
            per_epoch = 1.15 * elapsed / steps * steps_per_epoch
            fit = int(self.epoch + self.batch_in_epoch / steps_per_epoch + remaining / per_epoch)
        epochs = max(self.epoch if epochs_done_in_run > 0 else 1, min(cap, fit))
        if epochs != optim.epochs:
            self.log(f"time budget {self.time_budget_s:.0f} s: {per_epoch:.1f} s/epoch -> {epochs} epochs "
                     f"(reproduce without a budget: --epochs {epochs})")
            optim.epochs = epochs

    def log(self, msg: str) -> None:
        if self.main:
            line = f"{time.strftime('%Y-%m-%d %H:%M:%S')} {msg}"
            print(line, flush=True)
            with (self.exp / "train.log").open("a") as f:
                f.write(line + "\n")

    def optimizer_step(self, loss: torch.Tensor, n: int, batch_index: int, grad_clip: float, save_every: int) -> None:
        """One update on ``loss / n`` (gradient clipping, LR schedule), then advance the resumable position
        and write a checkpoint every ``save_every`` steps."""
        self.opt.zero_grad(set_to_none=True)
        (loss / n).backward()
        norm = torch.nn.utils.clip_grad_norm_(self.model.parameters(), grad_clip)
        if torch.isfinite(norm):
            self.opt.step()
        else:  # one overflowing batch (bf16) must not turn every weight into NaN: skip its update
            self.log(f"step {self.step + 1}: non-finite gradient norm, update skipped")
        self.sched.step()
        self.step += 1
        self.batch_in_epoch = batch_index + 1
        if self.step % save_every == 0:
            self.save_checkpoint()

    def save_checkpoint(self) -> None:
        if not self.main:
            return
        state = {
            "model": self.model.state_dict(), "opt": self.opt.state_dict(), "sched": self.sched.state_dict(),
            "epoch": self.epoch, "batch_in_epoch": self.batch_in_epoch, "step": self.step,
            "history": self.history, "rng": torch.get_rng_state(),
        }
        tmp = self.exp / "checkpoint.pt.tmp"
        torch.save(state, tmp)
        tmp.replace(self.exp / "checkpoint.pt")  # atomic: a crash never leaves a half-written checkpoint

    def resume(self) -> bool:
        """Continue from EXP/checkpoint.pt if it exists; returns whether it did.

        The checkpoint is loaded tensors-only (``torch.load(weights_only=True)``, asrkit/utils/safe_load.py):
        it holds only state dicts, numbers, lists and the RNG tensor, so a file carrying anything else (a
        pickle that would run code) is refused with one line instead of being unpickled."""
        path = self.exp / "checkpoint.pt"
        if not path.exists():
            return False
        state = load_torch(path, "training checkpoint", map_location=self.device)
        missing = [k for k in _CHECKPOINT_KEYS if not isinstance(state, dict) or k not in state]
        if missing:
            raise UserError(f"{path}: not an asrkit training checkpoint (no {missing[0]!r})")
        try:
            self.model.load_state_dict(state["model"])
            self.opt.load_state_dict(state["opt"])
            self.sched.load_state_dict(state["sched"])
            self.epoch, self.batch_in_epoch, self.step = (int(state[k]) for k in ("epoch", "batch_in_epoch", "step"))
            self.history = list(state.get("history", []))
            torch.set_rng_state(state["rng"].cpu())
        except (RuntimeError, ValueError, TypeError, KeyError, AttributeError) as err:
            detail = str(err).strip().splitlines()[-1].strip()[:160] if str(err).strip() else type(err).__name__
            raise UserError(f"{path}: does not fit this run's model and optimiser ({detail})") from None
        self.log(f"resumed from {path}: epoch {self.epoch}, batch {self.batch_in_epoch}, step {self.step}")
        return True
