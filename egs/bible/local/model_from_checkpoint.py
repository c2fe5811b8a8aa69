#!/usr/bin/env python3
"""Write a model folder from a training run's resumable EXP/checkpoint.pt (a run stopped mid-epoch).

    python local/model_from_checkpoint.py --exp exp/ctc_stream --out exp/ctc_stream/model_step

The weights are the checkpoint's current (not averaged) model; config.json comes from EXP/train_config.json,
tokenizer.model and am.mvn from EXP (as `asrkit train` writes them).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from asrkit.frontend import GlobalCMVN
from asrkit.models.ctc import CTCModel, CTCModelConfig
from asrkit.tokenizer import Tokenizer
from asrkit.train.config import TrainConfig
from asrkit.utils.safe_load import load_torch


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--exp", type=Path, required=True)
    p.add_argument("--out", type=Path, required=True)
    args = p.parse_args()
    tcfg = TrainConfig.load(args.exp / "train_config.json")
    state = load_torch(args.exp / "checkpoint.pt", "training checkpoint")
    cfg = CTCModelConfig(vocab_size=tcfg.vocab_size, encoder=tcfg.encoder)
    model = CTCModel(cfg, Tokenizer(args.exp / "tokenizer.model"), GlobalCMVN.from_file(args.exp / "am.mvn"))
    model.load_state_dict(state["model"])
    model.save_pretrained(args.out)
    print(json.dumps({"out": str(args.out), "step": state["step"], "epoch": state["epoch"]}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
