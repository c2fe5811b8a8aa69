"""`asrkit speech-llm train`: train a speech LLM's adapter and LoRA on a frozen CTC encoder and a pretrained LLM
(MooER recipe; asrkit/train/speech_llm.py).

Writes EXP/model (the speech LLM folder), EXP/last_epoch_model after every epoch, the encoder-output cache
EXP/enc_cache, train.log, train_config.json and the resumable checkpoint.pt. Several processes:
``torchrun --nproc_per_node N -m asrkit.cli.main speech-llm train ...``.
"""

from __future__ import annotations

import argparse

import torch

from asrkit.cli.argtypes import add_output, add_quiet, positive_float, positive_int
from asrkit.utils.progress import silence_libraries


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train", help="train a speech LLM's adapter + LoRA", description=__doc__,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", default=None, help="training config JSON (adapter_hidden, lora, optim); defaults if "
                   "omitted")
    p.add_argument("--encoder-model", required=True, help="CTC model folder whose SANM encoder is frozen and used")
    p.add_argument("--llm", required=True, help="pretrained causal LM folder (Qwen2 + tokenizer)")
    p.add_argument("--data", nargs="+", required=True, help="MANIFEST.jsonl:TASK (task asr, ast or asr_ast)")
    p.add_argument("--dev", nargs="*", default=None, help="dev MANIFEST.jsonl:TASK, evaluated after each epoch")
    add_output(p, "experiment folder: EXP/model (the speech LLM folder), train.log, checkpoints", hidden=("--exp",),
               metavar="EXP")
    p.add_argument("--feats-dir", default=None, help="shared fbank cache folder")
    p.add_argument("--cache-dir", default=None, help="encoder output cache folder (default EXP/enc_cache)")
    p.add_argument("--resume", action="store_true", help="continue from EXP/checkpoint.pt if present")
    p.add_argument("--init-adapter", default=None,
                   help="speech LLM folder whose adapter.safetensors starts the adapter (continued training; "
                        "pass that folder's llm/ as --llm)")
    p.add_argument("--epochs", type=positive_int, default=None, help="override optim.epochs")
    p.add_argument("--threads", type=positive_int, default=1, help="torch intra-op threads per process [1]")
    p.add_argument("--nj", type=positive_int, default=1, help="processes for fbank extraction (first run only) [1]")
    p.add_argument("--time-budget", type=positive_float, default=None, metavar="MINUTES",
                   help="fit the number of epochs (at most optim.epochs) to this many minutes of training (after the "
                        "encoder cache is built), from the measured step time; one process only")
    add_quiet(p, "no progress bar or log lines on stdout (EXP/train.log is still written)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from asrkit.train.speech_llm import SpeechLLMTrainConfig, SpeechLLMTrainer

    torch.set_num_threads(args.threads)
    if args.quiet:
        silence_libraries()
    cfg = SpeechLLMTrainConfig.load(args.config)
    if args.epochs is not None:
        cfg.optim.epochs = args.epochs
    trainer = SpeechLLMTrainer(cfg, args.encoder_model, args.llm, args.data, args.output, args.dev, args.feats_dir,
                               args.cache_dir, args.init_adapter, nj=args.nj, quiet=args.quiet)
    if args.time_budget is not None:
        trainer.set_time_budget(args.time_budget)
    if args.resume:
        trainer.resume()
    trainer.train()
    return 0
