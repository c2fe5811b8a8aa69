"""The one epoch loop of every asrkit trainer (CTC, Transformer LM, speech LLM, LLM pretraining).

A trainer subclasses :class:`EpochTrainer` and says only what differs: the batches of an epoch, the loss of
one batch, what it records after an epoch (dev scores) and what it writes at the end. The loop does the
rest the same way for all of them: resume inside an epoch (``batch_in_epoch``), one optimiser step per batch
(:meth:`Bookkeeping.optimizer_step`: clipping, LR schedule, periodic checkpoints), the progress bar and log
lines, the time budget (``--time-budget``), the per-epoch history record and checkpoint, and the DDP
clean-up. Each rank takes every world_size-th batch (:meth:`EpochTrainer.shard`).
"""

from __future__ import annotations

import time
from typing import Any

import torch

from asrkit.train import distributed
from asrkit.train.bookkeeping import BUDGET_PROBE_STEPS, Bookkeeping
from asrkit.utils.progress import progress


class EpochTrainer(Bookkeeping):
    """Besides :class:`Bookkeeping`'s attributes: ``ddp`` (the model, DDP-wrapped under torchrun),
    ``steps_per_epoch``, ``rank``/``world``, and ``quiet`` (``-q``: no progress bar or log lines on stdout;
    ``train.log`` is still written)."""

    # Log-line units: "loss/<loss_unit> ... <rate> <rate_unit>" (e.g. loss/utt ... 12.3 utt/s).
    loss_unit = "unit"
    rate_unit = "units/s"
    rate_format = ".0f"
    postfix_name = "loss"  # the progress bar shows the running loss, or ("ppl") its exp
    postfix_format = ".3f"

    def epoch_batches(self, epoch: int) -> list[Any]:
        """All batches of ``epoch`` in order (every rank computes the same list; :meth:`shard` splits it)."""
        raise NotImplementedError

    def batch_loss(self, index: int, batch: Any) -> tuple[torch.Tensor, int, float, int]:
        """``(loss, divisor, summed_value, count)``: the step minimises ``loss / divisor``; the running
        average shown and logged is ``sum(summed_value) / sum(count)`` over the epoch."""
        raise NotImplementedError

    def epoch_record(self, loss_sum: float, count: int) -> dict:
        """Rank 0, after an epoch: the fields of its history record besides ``epoch`` (train loss, dev scores)."""
        raise NotImplementedError

    def epoch_written(self) -> None:
        """Rank 0, after the epoch's record: files a trainer keeps per epoch (none by default)."""

    def finish(self) -> None:
        """Rank 0, once every epoch is done: write the trained model."""
        raise NotImplementedError

    # ---- the loop ------------------------------------------------------------------------------
    quiet: bool = False

    def shard(self, batches: list[Any]) -> list[Any]:
        """This rank's share of an epoch's batches, the same number on every rank."""
        return batches[self.rank :: self.world][: self.steps_per_epoch]

    def log(self, msg: str) -> None:
        if self.quiet and self.main:
            with (self.exp / "train.log").open("a") as f:
                f.write(f"{time.strftime('%Y-%m-%d %H:%M:%S')} {msg}\n")
            return
        super().log(msg)

    def run_epochs(self, optim: Any, stop_after_epoch: int | None = None) -> None:
        """Train from the current position to ``optim.epochs`` (``stop_after_epoch``: pause earlier with the
        same LR schedule, resumable). With ``time_budget_s`` the number of epochs is fitted to the budget."""
        o = optim
        self.start_clock()
        done_in_run = 0
        while self.epoch < (o.epochs if stop_after_epoch is None else min(o.epochs, stop_after_epoch)):
            batches = self.shard(self.epoch_batches(self.epoch))
            self.ddp.train()
            tot, count, t0 = 0.0, 0, time.time()
            bar = progress(range(self.batch_in_epoch, len(batches)), desc=f"epoch {self.epoch + 1}/{o.epochs}",
                           unit="batch", disable=not self.main or self.quiet, initial=self.batch_in_epoch,
                           total=len(batches))
            for bi in bar:
                loss, divisor, value, n = self.batch_loss(bi, batches[bi])
                self.optimizer_step(loss, divisor, bi, o.grad_clip, o.save_every)
                tot += value
                count += n
                if self.step % o.log_every == 0:
                    avg = tot / max(1, count)
                    shown = self.running_value(avg)
                    bar.set_postfix(**{self.postfix_name: f"{shown:{self.postfix_format}}"})
                    self.log(f"epoch {self.epoch + 1} step {self.step} loss/{self.loss_unit} {avg:.3f} "
                             f"lr {self.sched.get_last_lr()[0]:.2e} "
                             f"{count / (time.time() - t0):{self.rate_format}} {self.rate_unit}")
                if self.step - self._run_step0 == BUDGET_PROBE_STEPS:
                    self.fit_epochs_to_budget(o, self.steps_per_epoch)
                if self.out_of_time():
                    self.log(f"time budget reached in epoch {self.epoch + 1} (batch {bi + 1}/{len(batches)})")
                    o.epochs = self.epoch + 1
                    break
            self.epoch += 1
            self.batch_in_epoch = 0
            done_in_run += 1
            if self.main:
                rec = {"epoch": self.epoch, **self.epoch_record(tot, count)}
                self.history.append(rec)
                self.log("end of " + " ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}"
                                              for k, v in rec.items()))
                self.epoch_written()
            self.save_checkpoint()
            self.fit_epochs_to_budget(o, self.steps_per_epoch, done_in_run)
        if self.main and self.epoch >= o.epochs:
            self.finish()
        distributed.cleanup()

    def running_value(self, avg_loss: float) -> float:
        """What the progress bar shows for a running average loss (the loss itself; perplexity trainers
        override it)."""
        return avg_loss
