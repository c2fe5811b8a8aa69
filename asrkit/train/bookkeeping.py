"""What every asrkit training loop shares: the LR schedule, logging, atomic resumable checkpoints."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from pathlib import Path

import torch


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
        """Continue from EXP/checkpoint.pt if it exists; returns whether it did."""
        path = self.exp / "checkpoint.pt"
        if not path.exists():
            return False
        state = torch.load(path, map_location=self.device, weights_only=False)
        self.model.load_state_dict(state["model"])
        self.opt.load_state_dict(state["opt"])
        self.sched.load_state_dict(state["sched"])
        self.epoch, self.batch_in_epoch, self.step = state["epoch"], state["batch_in_epoch"], state["step"]
        self.history = state.get("history", [])
        torch.set_rng_state(state["rng"])
        self.log(f"resumed from {path}: epoch {self.epoch}, batch {self.batch_in_epoch}, step {self.step}")
        return True
