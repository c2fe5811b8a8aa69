"""`asrkit lm train`: train a Transformer LM over the acoustic model's sentencepiece units.

Writes the LM folder OUTPUT (config.json, model.safetensors, tokenizer.model, train_history.json) and,
in EXP (default OUTPUT.exp), train.log, train_config.json and the resumable checkpoint.pt. The config
JSON is ``{"model": {...}, "optim": {...}}`` (see asrkit/train/lm.py). Several processes:
``torchrun --nproc_per_node N -m asrkit.cli.main lm train ...`` (DDP; gloo on CPU, nccl on GPU).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from asrkit.cli.argtypes import add_output, add_quiet


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train", help="train a Transformer LM on a text corpus", description=__doc__)
    p.add_argument("--text", required=True, help="training corpus, one sentence per line (normalised on reading)")
    p.add_argument("--dev", default=None, help="dev corpus; its perplexity is reported after each epoch")
    p.add_argument("--tokenizer", required=True,
                   help="the acoustic model's sentencepiece tokenizer.model (or a model folder holding one)")
    add_output(p, "LM folder to write")
    p.add_argument("--config", default=None, help="training config JSON (model shape + optim); defaults if omitted")
    p.add_argument("--exp", default=None, help="experiment folder for logs and checkpoints (default OUTPUT.exp)")
    p.add_argument("--resume", action="store_true", help="continue from EXP/checkpoint.pt if present")
    p.add_argument("--epochs", type=int, default=None, help="override optim.epochs")
    p.add_argument("--lang", default=None, help="language code for normalisation (only zh changes it)")
    p.add_argument("--threads", type=int, default=1, help="torch intra-op threads per process")
    add_quiet(p, "no progress bar or log lines on stdout (EXP/train.log is still written)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from asrkit.train.lm import LMTrainConfig, LMTrainer

    torch.set_num_threads(args.threads)
    cfg = LMTrainConfig.load(args.config)
    if args.epochs is not None:
        cfg.optim.epochs = args.epochs
    output = Path(args.output)
    exp = Path(args.exp) if args.exp else output.with_name(output.name + ".exp")
    trainer = LMTrainer(cfg, args.text, args.tokenizer, output, exp, dev=args.dev, lang=args.lang, quiet=args.quiet)
    if args.resume:
        trainer.resume()
    trainer.train()
    return 0
