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


def warmup_cosine(warmup_steps: int, final_lr_ratio: float, total_steps: int) -> Callable[[int], float]:
    """LR multiplier: linear warmup to 1 over ``warmup_steps``, then cosine decay to ``final_lr_ratio``."""

    def f(step: int) -> float:
        if step < warmup_steps:
            return (step + 1) / warmup_steps
        p = min(1.0, (step - warmup_steps) / max(1, total_steps - warmup_steps))
        return final_lr_ratio + (1 - final_lr_ratio) * 0.5 * (1 + math.cos(math.pi * p))

    return f


class Bookkeeping:
    """Mixin for trainers with ``main``, ``exp``, ``device``, ``model``, ``opt``, ``sched``, ``epoch``,
    ``batch_in_epoch``, ``step`` and ``history`` attributes."""

    main: bool
    exp: Path

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
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), grad_clip)
        self.opt.step()
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
