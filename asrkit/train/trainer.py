"""CTC training: AdamW, warmup + cosine schedule, bf16 autocast, resumable checkpoints, through the one
epoch loop of asrkit/train/loop.py.

The front end is an object (asrkit/train/frontends.py): ``paraformer`` trains on a cache of fbank features
(LFR + CMVN per batch); ``hertz`` on a cache of the frozen hertz-codec encoder's outputs, the codec itself
being part of the saved model so that decoding runs from raw audio.

Runs as one process, or one process per device under ``torchrun`` (DDP; each rank takes every
world_size-th batch). Only rank 0 writes files. Determinism: batch order, SpecAugment and init
come from ``optim.seed``; the same command on the same data and thread count gives the same model.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import jiwer
import torch
import torch.nn.functional as F
from torch.nn.parallel import DistributedDataParallel

from asrkit.errors import UserError
from asrkit.frontend import GlobalCMVN
from asrkit.metrics import error_rate
from asrkit.models.ctc import CTCModel, CTCModelConfig
from asrkit.text import normalize_text
from asrkit.tokenizer import Tokenizer, train_tokenizer
from asrkit.train import distributed
from asrkit.train.bookkeeping import epochs_schedule
from asrkit.train.config import TrainConfig
from asrkit.train.dataset import Example, make_batches
from asrkit.train.frontends import train_frontend
from asrkit.train.loop import EpochTrainer
from asrkit.train.precision import autocast, describe_precision
from asrkit.utils.safe_load import load_torch
from decoders import ctc_greedy_search


def _examples(index: dict, tok: Tokenizer, max_frames: int | None, out_len: Callable[[int], int]) -> list[Example]:
    """Cached utterances as examples; ``out_len`` maps cached frames to encoder output frames."""
    out = []
    for uid, u in index["utts"].items():
        if max_frames is not None and u["frames"] > max_frames:
            continue
        tokens = tok.encode(normalize_text(u["text"]))
        # CTC needs at least one frame per token (more with repeats); skip infeasible pairs.
        if not tokens or len(tokens) >= out_len(u["frames"]):
            continue
        out.append(Example(uid, u["offset"], u["frames"], tokens))
    return out


class Trainer(EpochTrainer):
    def __init__(self, config: TrainConfig, train_manifest: str, dev_manifest: str | None, exp_dir: str,
                 nj: int = 2, feats_dir: str | None = None, init: str | None = None,
                 init_encoder: str | None = None, quiet: bool = False):
        self.cfg, self.quiet = config, quiet
        self.exp = Path(exp_dir)
        self.rank, self.world, self.device = distributed.setup()
        self.main = self.rank == 0
        if self.main:
            self.exp.mkdir(parents=True, exist_ok=True)
            (self.exp / "train_config.json").write_text(json.dumps(config.to_dict(), indent=2) + "\n")
        torch.manual_seed(config.optim.seed)
        cache = Path(feats_dir) if feats_dir else self.exp / "feats"
        if init and init_encoder:
            raise UserError("--init and --init-encoder exclude each other (one continues a run, the other transfers "
                            "an encoder to new units)")
        if init:
            self._adopt_units(Path(init))
        elif init_encoder:
            self._adopt_units(Path(init_encoder), names=("am.mvn",))
        self.fe = fe = train_frontend(config, cache, nj)
        # Rank 0 fills the caches first so the other ranks only read them.
        if self.main:
            fe.dump(train_manifest)
            if dev_manifest:
                fe.dump(dev_manifest)
        distributed.barrier()
        self.train_frames, train_index = fe.dump(train_manifest)
        self.dev = fe.dump(dev_manifest) if dev_manifest else None

        tok_path = self.exp / "tokenizer.model"
        if self.main and not tok_path.exists():
            texts = [normalize_text(u["text"]) for u in train_index["utts"].values()]
            train_tokenizer(texts, tok_path, config.vocab_size, config.units)
        cmvn_path = self.exp / "am.mvn"
        if self.main and not cmvn_path.exists():
            fe.cmvn(self.train_frames).save(cmvn_path)
        distributed.barrier()
        self.tok = Tokenizer(tok_path)
        cmvn = GlobalCMVN.from_file(cmvn_path)
        self.batch_lfr_n = fe.batch_lfr_n
        max_in = fe.max_input(config.optim.max_duration)
        self.train_ex = _examples(train_index, self.tok, max_in, fe.out_len)
        self.dev_ex = _examples(self.dev[1], self.tok, None, fe.out_len) if self.dev else []
        self.dev_refs = {uid: normalize_text(u["text"]) for uid, u in self.dev[1]["utts"].items()} if self.dev else {}

        mcfg = CTCModelConfig(vocab_size=self.tok.vocab_size, encoder=config.encoder, frontend=fe.model_config())
        self.model = CTCModel(mcfg, self.tok, cmvn).to(self.device)
        fe.prepare(self.model)
        if init:
            self._init_weights(Path(init))
        elif init_encoder:
            self._init_encoder(Path(init_encoder))
        self.frontend = self.model.frontend
        self.forward_kwargs = fe.forward_kwargs
        self.ddp = (
            DistributedDataParallel(self.model, device_ids=[self.device.index] if self.device.type == "cuda" else None)
            if self.world > 1 else self.model
        )
        o = config.optim
        trainable = [(n, p) for n, p in self.model.named_parameters() if p.requires_grad]
        # No decay on the codec's proj_in: its logvar rows get no gradient and must stay as they are.
        decay = [p for n, p in trainable if p.dim() > 1 and not n.startswith("codec.")]
        no_decay = [p for n, p in trainable if p.dim() <= 1 or n.startswith("codec.")]
        self.opt = torch.optim.AdamW(
            [{"params": decay, "weight_decay": o.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
            lr=o.lr, betas=(0.9, 0.98),
        )
        self.steps_per_epoch = len(make_batches(self.train_ex, o.max_frames, o.seed, self.batch_lfr_n)) // self.world
        self.sched = torch.optim.lr_scheduler.LambdaLR(self.opt, epochs_schedule(o, self.steps_per_epoch))
        self.epoch, self.batch_in_epoch, self.step = 0, 0, 0
        self.history: list[dict] = []
        if self.main:
            n = sum(p.numel() for p in self.model.parameters())
            n_train = sum(p.numel() for _, p in trainable)
            hours = sum(e.frames for e in self.train_ex) * fe.frame_seconds / 3600
            self.log(f"model {n / 1e6:.2f}M params ({n_train / 1e6:.2f}M trainable); "
                     f"{len(self.train_ex)} train utts ({hours:.1f} h), "
                     f"{self.steps_per_epoch} steps/epoch, world {self.world}, device {self.device}; "
                     f"precision: {describe_precision(self.device.type, o.amp)}")

    # ---- initialisation from an earlier run ------------------------------------------------------
    def _adopt_units(self, init: Path, names: tuple[str, ...] = ("tokenizer.model", "am.mvn")) -> None:
        """Continuing a run must keep its BPE units and CMVN: copy them from the earlier run's folder.
        An encoder transferred to new units keeps only the CMVN its inputs were normalised with."""
        if not init.exists():
            raise UserError(f"{init}: no such model folder or weights file")
        src = init if init.is_dir() else init.parent
        for name in names:
            if self.main and not (self.exp / name).exists():
                if not (src / name).exists():
                    where = f"{init}: no {name}" if init.is_dir() else f"{init}: no {name} next to it (in {src})"
                    raise UserError(f"{where} to continue from")
                shutil.copy(src / name, self.exp / name)
        distributed.barrier()

    @staticmethod
    def _weights(init: Path) -> dict[str, torch.Tensor]:
        """The state dict of a model folder or of an epoch file, loaded tensors-only (asrkit/utils/safe_load.py)."""
        if init.is_dir():
            return CTCModel.from_pretrained(init).state_dict()
        state = load_torch(init, "weights")
        if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
            raise UserError(f"{init}: not a weights file (an epoch-N.pt holds a dict of tensors)")
        return state

    def _init_weights(self, init: Path) -> None:
        """Start from the weights of an epoch file (``epoch-N.pt``) or a model folder."""
        try:
            self.model.load_state_dict(self._weights(init))
        except RuntimeError as err:  # other keys or shapes than this config's model
            raise UserError(f"{init}: weights do not match this config's model "
                            f"({str(err).strip().splitlines()[-1].strip()[:160]})") from None
        self.log(f"initialised from {init}")

    def _init_encoder(self, init: Path) -> None:
        """Transfer learning: the encoder (and front end) of another model, a new CTC output layer.

        The source's encoder shape must equal this config's; its CTC layer (``ctc.*``, over the source's units)
        is left out, so the output layer over this run's units starts from its random initialisation.
        """
        state = {k: v for k, v in self._weights(init).items() if not k.startswith("ctc.")}
        own = {k: v for k, v in self.model.state_dict().items() if not k.startswith("ctc.")}
        bad = sorted(set(own) ^ set(state)) or [k for k in own if own[k].shape != state[k].shape]
        if bad:
            raise UserError(f"{init}: its encoder does not match this config's (e.g. {bad[0]}); --init-encoder needs "
                            "the same encoder shape")
        self.model.load_state_dict(state, strict=False)
        self.log(f"encoder initialised from {init}; new CTC output layer over {self.tok.vocab_size} units")

    # ---- training ------------------------------------------------------------------------
    def _collate(self, batch: list[int], examples: list[Example], frames, gen: torch.Generator | None):
        return self.fe.collate(batch, examples, frames, gen, self.model)

    def _loss(self, batch: list[int], frames, examples, gen) -> tuple[torch.Tensor, int]:
        feats, lens, targets, tlens = self._collate(batch, examples, frames, gen)
        with autocast(self.device.type, self.cfg.optim.amp):
            log_probs, out_lens = self.ddp(feats.to(self.device), lens.to(self.device), **self.forward_kwargs)
        loss = F.ctc_loss(log_probs.transpose(0, 1), targets.to(self.device), out_lens, tlens.to(self.device),
                          blank=0, reduction="sum", zero_infinity=True)
        return loss, len(batch)

    # ---- the epoch loop's parts (asrkit/train/loop.py) --------------------------------------
    loss_unit, rate_unit, rate_format, postfix_format = "utt", "utt/s", ".1f", ".2f"

    def epoch_batches(self, epoch: int) -> list[list[int]]:
        o = self.cfg.optim
        return make_batches(self.train_ex, o.max_frames, o.seed + epoch, self.batch_lfr_n)

    def batch_loss(self, index: int, batch: list[int]) -> tuple[torch.Tensor, int, float, int]:
        o = self.cfg.optim
        # Seeded per batch so a resumed run draws exactly the masks an uninterrupted one would.
        gen = (torch.Generator().manual_seed(((o.seed * 1009 + self.epoch) * 100_003 + index) * 7 + self.rank)
               if o.specaug else None)
        loss, n = self._loss(batch, self.train_frames, self.train_ex, gen)
        return loss, n, loss.item(), n

    def epoch_record(self, loss_sum: float, count: int) -> dict:
        return {"train_loss": loss_sum / max(1, count), **(self.evaluate() if self.dev else {})}

    def epoch_written(self) -> None:
        torch.save(self.model.state_dict(), self.exp / f"epoch-{self.epoch}.pt")

    def finish(self) -> None:
        self.finalize()

    def train(self, stop_after_epoch: int | None = None) -> None:
        """Train to ``optim.epochs``; ``stop_after_epoch`` pauses earlier (same LR schedule, resumable).
        With ``time_budget_s`` the number of epochs is fitted to the budget (:meth:`fit_epochs_to_budget`)."""
        self.run_epochs(self.cfg.optim, stop_after_epoch)

    @torch.inference_mode()
    def evaluate(self, model: CTCModel | None = None) -> dict:
        model = model or self.model
        model.eval()
        frames, _ = self.dev
        tot, n, refs, hyps = 0.0, 0, [], []
        for batch in make_batches(self.dev_ex, self.cfg.optim.max_frames, 0, self.batch_lfr_n):
            feats, lens, targets, tlens = self._collate(batch, self.dev_ex, frames, None)
            log_probs, out_lens = model(feats.to(self.device), lens.to(self.device), **self.forward_kwargs)
            tot += F.ctc_loss(log_probs.transpose(0, 1), targets, out_lens, tlens, blank=0,
                              reduction="sum", zero_infinity=True).item()
            n += len(batch)
            for i, ids in zip(batch, ctc_greedy_search(log_probs, out_lens)):
                refs.append(self.dev_refs[self.dev_ex[i].uid])
                hyps.append(normalize_text(self.tok.decode(ids)))
        model.train()
        out = {"dev_loss": tot / max(1, n)}
        if self.cfg.units == "char":
            # Chinese: a sentence is one "word", so the rate that means something is CER; a character model of a
            # language written with spaces (English letters) is judged by its words as well.
            out["dev_cer"] = error_rate(refs, hyps, "cer").value if refs else float("nan")
        if self.cfg.units != "char" or any(" " in r for r in refs):
            out["dev_wer"] = 100 * jiwer.wer(refs, hyps) if refs else float("nan")
        return out

    def finalize(self) -> None:
        """Average the last epochs' weights (a cheap, reliable gain with a decayed LR) into exp/model."""
        k = min(self.cfg.optim.average_last, self.epoch)
        paths = [self.exp / f"epoch-{e}.pt" for e in range(self.epoch - k + 1, self.epoch + 1)]
        paths = [p for p in paths if p.exists()]
        states = [load_torch(p, "weights") for p in paths]
        # Tensors equal in every epoch (a frozen codec) are kept bit-exact rather than re-averaged.
        avg = {key: states[0][key] if all(torch.equal(states[0][key], s[key]) for s in states[1:])
               else sum(s[key].float() for s in states) / len(states) for key in states[0]}
        self.model.load_state_dict(avg)
        if self.dev:
            res = self.evaluate()
            self.log(f"averaged epochs {[p.stem for p in paths]}: "
                     + " ".join(f"{k} {v:.4g}" if k == "dev_loss" else f"{k} {v:.2f}" for k, v in res.items()))
        self.model.save_pretrained(self.exp / "model")
        self.log(f"wrote {self.exp / 'model'}")
