"""`asrkit decode --emissions FILE.npz --tokens tokens.txt`: decode saved CTC log-probabilities of any model.

FILE.npz holds one (frames, units) array per utterance id (``numpy.savez(path, **{id: log_probs})``;
logits work too). ``--tokens`` is the model's units: a ``tokens.txt`` (``piece id`` per line, as
icefall/k2/sherpa write it; a character list with ``|`` is a wav2vec2-style vocabulary), or a
sentencepiece ``.model``. Every method, LM and ``--hotwords`` applies (docs/other_models.md).
"""

from __future__ import annotations

import argparse
import sys
import time
import zipfile
from pathlib import Path

import numpy as np

from asrkit.data.results import ResultWriter, check_output_path
from asrkit.errors import UserError
from asrkit.inference.emissions_decoder import EmissionsDecoder
from decoders.vocabulary import Vocabulary


def load_vocabulary(path: str, blank_id: int | None) -> Vocabulary:
    if path.endswith(".model"):
        return Vocabulary.from_sentencepiece(path, 0 if blank_id is None else blank_id)
    return Vocabulary.from_tokens_txt(path, blank_id)


def load_emissions(path: str) -> dict[str, np.ndarray]:
    try:
        data = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise UserError(f"--emissions {path}: no such file") from None
    except (OSError, ValueError, zipfile.BadZipFile) as err:
        raise UserError(f"--emissions {path}: not a .npz of arrays ({err})") from None
    if not isinstance(data, np.lib.npyio.NpzFile):
        raise UserError(f"--emissions {path}: expected a .npz with one (frames, units) array per utterance id")
    try:
        return {k: data[k] for k in data.files}
    except (OSError, ValueError, zipfile.BadZipFile) as err:
        raise UserError(f"--emissions {path}: unreadable array ({err})") from None


def run_emissions(args: argparse.Namespace, settings: dict) -> int:
    from asrkit.inference.decode_config import DecodeConfig

    if not args.tokens:
        raise UserError("--emissions needs --tokens (the model's tokens.txt or sentencepiece .model)")
    if args.model:
        raise UserError("--emissions decodes saved log-probabilities: drop --model")
    check_output_path(args.output, args.resume, [args.emissions, args.tokens, args.config, args.lm])
    cfg = DecodeConfig.load(args.config, **settings) if args.config else DecodeConfig(**settings)
    decoder = EmissionsDecoder(load_vocabulary(args.tokens, args.blank_id), cfg.check())
    arrays = load_emissions(args.emissions)
    ids = list(arrays)
    n_failed = n_written = 0
    t0 = time.perf_counter()
    with ResultWriter(Path(args.output), fresh=not args.resume) as out:
        for i in range(0, len(ids), args.batch_size):
            batch = ids[i : i + args.batch_size]
            good = []
            for uid in batch:
                a = arrays[uid]
                if a.ndim != 2 or a.shape[1] != decoder.vocab.vocab_size or not a.shape[0]:
                    print(f"asrkit decode: error: --emissions {args.emissions}: {uid!r} has shape {a.shape}, expected "
                          f"(frames, {decoder.vocab.vocab_size})", file=sys.stderr)
                    n_failed += 1
                    continue
                good.append(uid)
            texts = decoder.decode([arrays[u] for u in good]) if good else []
            out.write([{"id": u, "text": t} for u, t in zip(good, texts)])
            n_written += len(good)
    print(f"asrkit decode: {n_written} decoded, {n_failed} failed in {time.perf_counter() - t0:.1f} s -> {args.output}",
          file=sys.stderr)
    return 1 if n_failed else 0
