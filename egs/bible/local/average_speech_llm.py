#!/usr/bin/env python3
"""Average the trained weights of speech-LLM folders from one training run (checkpoint averaging).

    python local/average_speech_llm.py -o exp/speech_llm_v11/avg_model exp/speech_llm_v11/ep1_model \
        exp/speech_llm_v11/train/model

The folders are ``save_pretrained`` outputs of the same run (for instance the model after each epoch): the
frozen parts (encoder, base LLM) are identical, the trained ones (adapter, LoRA) are averaged element-wise,
as icefall's ``--avg`` does for the last epochs of a run (a cheap gain when the learning rate has decayed).
The output folder is the last input with its trained weights replaced; it is refused if it exists."""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

# The files a speech-LLM training changes; the rest of a folder (encoder, base LLM, configs) is shared.
TRAINED = ("adapter.safetensors", "lora/adapter_model.safetensors")


def average(folders: list[Path], out: Path) -> list[str]:
    """Writes OUT; returns the averaged files. Raises ValueError when the folders do not match."""
    if len(folders) < 2:
        raise ValueError("give at least two folders to average")
    if out.exists():
        raise ValueError(f"{out} exists (choose a new output folder)")
    files = [rel for rel in TRAINED if (folders[-1] / rel).is_file()]
    if not files:
        raise ValueError(f"{folders[-1]}: no {' or '.join(TRAINED)} (not a speech-LLM training output)")
    states = {}
    for rel in files:
        states[rel] = [load_file(f / rel) for f in folders if (f / rel).is_file()]
        if len(states[rel]) != len(folders):
            raise ValueError(f"{rel}: missing in some of the folders")
        ref = states[rel][-1]
        for f, s in zip(folders, states[rel]):
            if s.keys() != ref.keys() or any(s[k].shape != ref[k].shape for k in ref):
                raise ValueError(f"{f / rel}: other tensors than {folders[-1] / rel} (not the same model)")
    shutil.copytree(folders[-1], out)
    for rel, sts in states.items():
        avg = {k: (sum(s[k].double() for s in sts) / len(sts)).to(sts[-1][k].dtype) for k in sts[-1]}
        save_file(avg, out / rel)
    return files


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folders", nargs="+", type=Path, help="speech-LLM folders of one run (the last one is the base)")
    ap.add_argument("-o", "--out", required=True, type=Path)
    args = ap.parse_args()
    try:
        files = average(args.folders, args.out)
    except (ValueError, OSError) as e:
        print(f"average_speech_llm: {e}", file=sys.stderr)
        return 1
    print(f"wrote {args.out}: {', '.join(files)} averaged over {len(args.folders)} folders")
    return 0


if __name__ == "__main__":
    torch.set_num_threads(1)
    sys.exit(main())
