"""`asrkit train`: train a SANM-CTC recognizer from JSONL manifests.

Writes EXP/train.log, resumable EXP/checkpoint.pt, per-epoch weights, and the final model folder
EXP/model (config.json, model.safetensors, tokenizer.model, am.mvn). Several GPUs or machines:
``torchrun --nproc_per_node N -m asrkit.cli.main train ...`` (DDP; gloo on CPU, nccl on GPU).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from asrkit.cli.argtypes import add_output, add_quiet, positive_float, positive_int
from asrkit.errors import UserError
from asrkit.models.registry import bundled_models


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train", help="train a CTC model", description=__doc__)
    p.add_argument("--config", required=True, help="training config JSON (model shape + optim)")
    p.add_argument("--train", required=True, help="training manifest (JSONL with id, audio, text)")
    p.add_argument("--dev", default=None, help="dev manifest, evaluated after each epoch")
    add_output(p, "experiment folder: EXP/model (the model folder), train.log, checkpoints", hidden=("--exp",),
               metavar="EXP")
    p.add_argument("--resume", action="store_true", help="continue from EXP/checkpoint.pt if present")
    p.add_argument("--threads", type=positive_int, default=1, help="torch intra-op threads per process")
    p.add_argument("--nj", type=positive_int, default=2, help="processes for feature extraction")
    p.add_argument("--epochs", type=positive_int, default=None, help="override optim.epochs")
    p.add_argument("--stop-after-epoch", type=int, default=None,
                   help="stop after this epoch, keeping the schedule of optim.epochs (continue later with --resume)")
    p.add_argument("--feats-dir", default=None, help="fbank cache folder (default EXP/feats); share it across runs")
    p.add_argument("--init", default=None,
                   help="start from these weights (an epoch-N.pt of an earlier run, a model folder or a bundled "
                        "model name); its tokenizer.model and am.mvn are reused")
    p.add_argument("--init-encoder", default=None,
                   help="transfer learning: start the encoder from this model folder (or epoch-N.pt) and reuse its "
                        "am.mvn, with this run's own units and a new CTC output layer (e.g. English -> Mandarin)")
    p.add_argument("--time-budget", type=positive_float, default=None, metavar="MINUTES",
                   help="fit the number of epochs (at most optim.epochs) to this many minutes of training, from the "
                        "measured step time; the cosine LR decay ends with the budget (one process only)")
    add_quiet(p, "no progress bar or log lines on stdout (EXP/train.log is still written)")
    p.set_defaults(func=run)


def _model_source(value: str | None, flag: str) -> str | None:
    """A weights file or model folder as given, else a bundled model's folder (as ``decode -m`` takes names)."""
    if value is None or Path(value).exists():
        return value
    models = bundled_models()
    if value in models:
        return str(models[value])
    raise UserError(f"{value}: {flag} is neither a model folder, a weights file nor a bundled model name "
                    f"(bundled: {', '.join(models) or 'none'})")


def run(args: argparse.Namespace) -> int:
    from asrkit.train.config import TrainConfig
    from asrkit.train.trainer import Trainer

    torch.set_num_threads(args.threads)
    cfg = TrainConfig.load(args.config)
    if args.epochs is not None:
        cfg.optim.epochs = args.epochs
    for path in (args.train, args.dev):
        if path and not Path(path).exists():
            raise UserError(f"{path}: no such manifest")
    args.init = _model_source(args.init, "--init")
    args.init_encoder = _model_source(args.init_encoder, "--init-encoder")
    trainer = Trainer(cfg, args.train, args.dev, args.output, nj=args.nj, feats_dir=args.feats_dir, init=args.init,
                      init_encoder=args.init_encoder, quiet=args.quiet)
    if args.time_budget is not None:
        trainer.set_time_budget(args.time_budget)
    if args.resume:
        trainer.resume()
    trainer.train(stop_after_epoch=args.stop_after_epoch)
    return 0
