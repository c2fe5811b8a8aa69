"""Save a CTC model's log-probabilities of a manifest's utterances as FILE.npz (one (T, V) array per id),
the input of ``asrkit decode --emissions FILE.npz --tokens tokens.txt`` and of the hotword benchmark.

    python egs/bible/local/save_emissions.py -m asrkit/pretrained/bible-en-ctc-small \
        -i egs/bible/data/manifests/test_en.jsonl -o exp/hotwords/test_en.npz [--tokens exp/hotwords/tokens.txt]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-m", "--model", required=True)
    ap.add_argument("-i", "--input", required=True, nargs="+", help="manifests (.jsonl with id, audio)")
    ap.add_argument("-o", "--output", required=True, help="output .npz")
    ap.add_argument("--tokens", default=None, help="also write the model's units as tokens.txt (piece id)")
    args = ap.parse_args()
    torch.set_num_threads(1)
    from asrkit.frontend import load_audio
    from asrkit.models import load_model

    model = load_model(args.model).eval()
    arrays: dict[str, np.ndarray] = {}
    start = time.perf_counter()
    with torch.inference_mode():
        for manifest in map(Path, args.input):
            for line in manifest.read_text(encoding="utf-8").splitlines():
                if not line.strip():
                    continue
                row = json.loads(line)
                feats = model.frontend(load_audio(manifest.parent / row["audio"]))
                lp, _ = model(feats[None], torch.tensor([feats.size(0)]))
                arrays[row["id"]] = lp[0].float().numpy()
                if len(arrays) % 100 == 0:
                    print(f"{len(arrays)} utterances ({time.perf_counter() - start:.0f} s)", file=sys.stderr)
    np.savez(args.output, **arrays)
    if args.tokens:
        pieces = model.tokenizer.pieces()
        Path(args.tokens).write_text("".join(f"{p} {i}\n" for i, p in enumerate(pieces)), encoding="utf-8")
    print(f"{len(arrays)} utterances -> {args.output}", file=sys.stderr)


if __name__ == "__main__":
    main()
