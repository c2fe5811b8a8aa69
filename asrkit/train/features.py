"""Fbank feature cache for training: one float16 array of all frames plus a JSON index.

Computing fbank once (rather than every epoch) frees the CPU for the model; LFR stacking and CMVN
are applied per batch since they are cheap and CMVN depends on the training set.
"""

from __future__ import annotations

import hashlib
import json
from multiprocessing import get_context
from pathlib import Path

import numpy as np
import torch

from asrkit.data.inputs import InputError, iter_inputs
from asrkit.errors import UserError
from asrkit.frontend import FbankConfig, fbank, load_audio
from asrkit.utils.progress import progress


def _compute(args: tuple[str, str, dict]) -> tuple[str, np.ndarray | None, str | None]:
    uid, audio, cfg = args
    torch.set_num_threads(1)
    try:
        return uid, fbank(load_audio(audio), FbankConfig(**cfg)).numpy().astype(np.float16), None
    except UserError as err:
        return uid, None, str(err)


def cache_key(manifest: Path, cfg: FbankConfig) -> str:
    h = hashlib.sha1(manifest.read_bytes())
    h.update(json.dumps(cfg.to_dict(), sort_keys=True).encode())
    return h.hexdigest()[:12]


def dump_features(manifest: str | Path, cache_dir: str | Path, cfg: FbankConfig | None = None, nj: int = 2):
    """Compute fbank for every utterance of a JSONL manifest; returns (frames memmap, index dict).

    The cache file name carries a hash of the manifest and the fbank settings, so a changed
    manifest is never served stale features.
    """
    cfg = cfg or FbankConfig()
    manifest = Path(manifest)
    cache_dir = Path(cache_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    stem = f"{manifest.stem}.{cache_key(manifest, cfg)}"
    npy, idx_path = cache_dir / f"{stem}.npy", cache_dir / f"{stem}.json"
    if not (npy.exists() and idx_path.exists()):
        items = list(iter_inputs([str(manifest)]))
        jobs, texts = [], {}
        for it in items:
            if isinstance(it, InputError):
                print(f"warning: {it}")
                continue
            jobs.append((it.id, str(it.audio), cfg.to_dict()))
            texts[it.id] = it.text or ""
        chunks, index, offset = [], {}, 0
        with get_context("fork").Pool(nj) as pool:
            results = pool.imap(_compute, jobs, chunksize=16)
            for uid, feats, err in progress(results, total=len(jobs), desc=f"fbank {manifest.name}", unit="utt"):
                if err:
                    print(f"warning: skipping {err}")
                    continue
                chunks.append(feats)
                index[uid] = {"offset": offset, "frames": int(feats.shape[0]), "text": texts[uid]}
                offset += feats.shape[0]
        if not chunks:
            raise UserError(f"{manifest}: no usable utterances")
        tmp = npy.with_suffix(".tmp.npy")
        np.save(tmp, np.concatenate(chunks))
        tmp.rename(npy)
        idx_path.write_text(json.dumps({"num_mel_bins": cfg.num_mel_bins, "utts": index}))
    return np.load(npy, mmap_mode="r"), json.loads(idx_path.read_text())


def feature_stats(frames: np.ndarray, max_frames: int = 2_000_000) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-dimension mean and std over (a strided subset of) the cached frames."""
    step = max(1, frames.shape[0] // max_frames)
    x = torch.from_numpy(np.asarray(frames[::step], dtype=np.float32)).double()
    return x.mean(0).float(), x.std(0).float()
