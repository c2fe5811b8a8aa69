"""`asrkit speech-llm pretrain`: pretrain a tiny Qwen2-architecture LLM on plain text (asrkit/train/llm_pretrain.py).

Writes the Hugging Face Qwen2 folder OUTPUT (weights, tokenizer, train_history.json) and, in EXP, the BPE
tokenizer it trains first, train.log, train_config.json and the resumable checkpoint.pt. Several
processes: ``torchrun --nproc_per_node N -m asrkit.cli.main speech-llm pretrain ...``.
"""

from __future__ import annotations

import argparse

import torch

from asrkit.cli.argtypes import add_output, add_quiet, positive_int
from asrkit.utils.progress import silence_libraries


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("pretrain", help="pretrain a tiny Qwen2 LLM on text", description=__doc__,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", default=None,
                   help="training config JSON {'model': TinyQwen2Config, 'optim': PretrainOptim}; defaults if omitted")
    p.add_argument("--text", nargs="+", required=True, help="FILE.txt (a document per line) or FILE.jsonl:FIELD")
    p.add_argument("--dev", nargs="*", default=None, help="dev text, same forms as --text")
    p.add_argument("--exp", required=True, help="experiment folder for the tokenizer, logs and checkpoints")
    add_output(p, "the Qwen2 folder to write")
    p.add_argument("--resume", action="store_true", help="continue from EXP/checkpoint.pt if present")
    p.add_argument("--threads", type=positive_int, default=1, help="torch intra-op threads per process [1]")
    add_quiet(p, "no progress bar or log lines on stdout (EXP/train.log is still written)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from asrkit.train.llm_pretrain import LLMPretrainer, PretrainConfig, read_texts

    torch.set_num_threads(args.threads)
    if args.quiet:
        silence_libraries()
    trainer = LLMPretrainer(PretrainConfig.load(args.config), read_texts(args.text), args.exp, args.output,
                            read_texts(args.dev) if args.dev else None, quiet=args.quiet)
    if args.resume:
        trainer.resume()
    trainer.train()
    return 0
