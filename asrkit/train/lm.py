"""Training loop of the Transformer LM: next-unit cross-entropy on a normalised text corpus.

Each corpus line is one sentence: ``normalize_text`` then the acoustic model's sentencepiece ids,
trained as ``<s> w_1..w_n -> w_1..w_n </s>`` (teacher forcing). The loss is the mean negative
log-likelihood per predicted unit (``</s>`` included), so ``exp(loss)`` is the per-unit perplexity;
dev perplexity is ``exp(sum NLL / number of predicted units)`` over the whole dev set.

Batches are padded (not packed) sentences of similar length, at most ``max_tokens`` padded units
each. Optimiser: AdamW (no weight decay on biases/norms), linear warmup then cosine decay to
``lr * final_lr_ratio``, gradient clipping, bf16 autocast. A resumable checkpoint (model, optimiser,
scheduler, position inside the epoch, RNG) is written atomically to ``EXP/checkpoint.pt``.

Under ``torchrun`` (DDP: gloo on CPU, nccl on GPU) each rank takes every world_size-th batch; rank 0
writes the files. Determinism: weight init uses ``torch.manual_seed(optim.seed)``; the batch order of
epoch ``e`` comes from ``random.Random(optim.seed + e)``; dropout draws from the torch RNG, which the
checkpoint stores. The same command, data and thread count give the same model.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F
from torch.nn.parallel import DistributedDataParallel

from asrkit.errors import UserError
from asrkit.text import normalize_text
from asrkit.tokenizer import Tokenizer
from asrkit.train import distributed
from asrkit.train.batching import bucket_batches
from asrkit.train.bookkeeping import warmup_cosine
from asrkit.train.loop import EpochTrainer
from asrkit.train.precision import autocast, describe_precision
from asrkit.utils.config_io import from_dict, load_config
from lm.neural.transformer_lm import TransformerLM, TransformerLMConfig, sentence_batch


@dataclass
class LMOptimConfig:
    epochs: int = 10
    lr: float = 1e-3
    warmup_steps: int = 200
    final_lr_ratio: float = 0.05  # cosine decay ends at lr * final_lr_ratio
    weight_decay: float = 0.01
    max_tokens: int = 8000  # padded units per batch (per rank)
    grad_clip: float = 1.0
    amp: str = "bf16"  # "bf16" autocast where the device has native bf16 (else float32), or "none"
    seed: int = 0
    save_every: int = 200  # steps between resumable checkpoints
    log_every: int = 50


@dataclass
class LMTrainConfig:
    """``{"model": {TransformerLMConfig fields except vocab_size}, "optim": {LMOptimConfig fields}}``."""

    model: dict = field(default_factory=dict)
    optim: LMOptimConfig = field(default_factory=LMOptimConfig)

    @classmethod
    def load(cls, path: str | Path | None) -> LMTrainConfig:
        cfg = load_config(cls, path, "LM training config")
        if path is None:
            return cfg
        if "vocab_size" in cfg.model:
            raise UserError(f"{path}: model.vocab_size comes from the tokenizer; remove it")
        from_dict(TransformerLMConfig, {**cfg.model, "vocab_size": 2}, f"{path}: model")  # its keys and types
        return cfg

    def to_dict(self) -> dict:
        return {"model": self.model, "optim": asdict(self.optim)}


def load_corpus(path: str | Path, tok: Tokenizer, lang: str | None = None) -> list[list[int]]:
    """One sentence per line -> unit ids (normalised first; empty lines dropped)."""
    path = Path(path)
    if not path.exists():
        raise UserError(f"{path}: no such text corpus")
    out = []
    with path.open(encoding="utf-8", errors="replace") as f:
        for line in f:
            text = normalize_text(line, lang)
            if text:
                out.append(tok.encode(text))
    if not out:
        raise UserError(f"{path}: no text")
    return out


def make_batches(lengths: list[int], max_tokens: int, seed: int) -> list[list[int]]:
    """Indices grouped by length (random tie order), each batch's ``n * (max_len + 1) <= max_tokens``
    (the ``+ 1``: ``</s>``); batch order shuffled. Deterministic given ``seed``
    (:func:`asrkit.train.batching.bucket_batches`)."""
    return bucket_batches([n + 1 for n in lengths], max_tokens, seed)


class LMTrainer(EpochTrainer):
    def __init__(self, config: LMTrainConfig, text: str | Path, tokenizer: str | Path, output: str | Path,
                 exp: str | Path, dev: str | Path | None = None, lang: str | None = None, quiet: bool = False):
        self.cfg, self.quiet = config, quiet
        self.output, self.exp = Path(output), Path(exp)
        self.rank, self.world, self.device = distributed.setup()
        self.main = self.rank == 0
        tok_path = Path(tokenizer)
        if tok_path.is_dir():  # an acoustic model folder: use its tokenizer
            tok_path = tok_path / "tokenizer.model"
        self.tok = Tokenizer(tok_path)
        try:
            mcfg = TransformerLMConfig(vocab_size=self.tok.vocab_size, **config.model)
        except TypeError as err:
            raise UserError(f"invalid model config ({err})") from None
        if self.main:
            self.exp.mkdir(parents=True, exist_ok=True)
            (self.exp / "train_config.json").write_text(json.dumps(config.to_dict(), indent=2) + "\n")
        torch.manual_seed(config.optim.seed)
        self.model = TransformerLM(mcfg, self.tok).to(self.device)
        self.ddp = (
            DistributedDataParallel(self.model, device_ids=[self.device.index] if self.device.type == "cuda" else None)
            if self.world > 1 else self.model
        )
        sents = load_corpus(text, self.tok, lang)
        # Inputs are <s> + units, so a sentence may have at most max_len - 1 units.
        self.train_sents = [s for s in sents if len(s) < mcfg.max_len]
        skipped = len(sents) - len(self.train_sents)
        self.dev_sents = [s[: mcfg.max_len - 1] for s in load_corpus(dev, self.tok, lang)] if dev else []
        o = config.optim
        decay = [p for p in self.model.parameters() if p.dim() > 1]
        no_decay = [p for p in self.model.parameters() if p.dim() <= 1]
        self.opt = torch.optim.AdamW(
            [{"params": decay, "weight_decay": o.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
            lr=o.lr, betas=(0.9, 0.98),
        )
        self.lengths = [len(s) for s in self.train_sents]
        self.steps_per_epoch = len(make_batches(self.lengths, o.max_tokens, o.seed)) // self.world
        if self.steps_per_epoch == 0:
            raise UserError(f"{text}: too little text for {self.world} processes (fewer batches than ranks)")
        schedule = warmup_cosine(o.warmup_steps, o.final_lr_ratio, o.epochs * self.steps_per_epoch)
        self.sched = torch.optim.lr_scheduler.LambdaLR(self.opt, schedule)
        self.epoch, self.batch_in_epoch, self.step = 0, 0, 0
        self.history: list[dict] = []
        n = sum(p.numel() for p in self.model.parameters())
        units = sum(self.lengths) + len(self.lengths)
        self.log(f"LM {n / 1e6:.2f}M params; {len(self.train_sents)} train sentences ({units} units incl. </s>, "
                 f"{skipped} longer than {mcfg.max_len - 1} units skipped), {len(self.dev_sents)} dev sentences, "
                 f"{self.steps_per_epoch} steps/epoch, world {self.world}, device {self.device}; "
                 f"precision: {describe_precision(self.device.type, o.amp)}")

    # ---- training ------------------------------------------------------------------------
    def _nll(self, model, sents: list[list[int]]) -> tuple[torch.Tensor, int]:
        """Summed NLL (natural log) of ``sents`` (each with its </s>) and the number of predicted units."""
        inputs, targets = sentence_batch(sents, self.model.eos_id)
        with autocast(self.device.type, self.cfg.optim.amp):
            logits, _ = model(inputs.to(self.device))
        loss = F.cross_entropy(logits.float().flatten(0, 1), targets.to(self.device).flatten(), ignore_index=-1,
                               reduction="sum")
        return loss, int((targets >= 0).sum())

    # ---- the epoch loop's parts (asrkit/train/loop.py) --------------------------------------
    loss_unit, rate_unit, postfix_name, postfix_format = "unit", "units/s", "ppl", ".1f"

    def running_value(self, avg_loss: float) -> float:
        return math.exp(min(avg_loss, 50))

    def epoch_batches(self, epoch: int) -> list[list[int]]:
        return make_batches(self.lengths, self.cfg.optim.max_tokens, self.cfg.optim.seed + epoch)

    def batch_loss(self, index: int, batch: list[int]) -> tuple[torch.Tensor, int, float, int]:
        loss, n = self._nll(self.ddp, [self.train_sents[i] for i in batch])
        return loss, n, loss.item(), n

    def epoch_record(self, loss_sum: float, count: int) -> dict:
        train_loss = loss_sum / max(1, count)
        rec = {"train_loss": train_loss, "train_ppl": math.exp(min(train_loss, 50))}
        if self.dev_sents:
            rec["dev_ppl"] = self.evaluate()
        return rec

    def finish(self) -> None:
        self.model.eval().save_pretrained(self.output)
        (self.output / "train_history.json").write_text(json.dumps(self.history, indent=2) + "\n")
        self.log(f"wrote {self.output}")

    def train(self) -> None:
        self.run_epochs(self.cfg.optim)

    @torch.inference_mode()
    def evaluate(self) -> float:
        """Dev perplexity ``exp(sum NLL / predicted units)``."""
        self.model.eval()
        tot, n = 0.0, 0
        for batch in make_batches([len(s) for s in self.dev_sents], self.cfg.optim.max_tokens, 0):
            loss, k = self._nll(self.model, [self.dev_sents[i] for i in batch])
            tot += loss.item()
            n += k
        self.model.train()
        return math.exp(tot / max(1, n))
