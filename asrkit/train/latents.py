"""Cache of hertz-codec encoder outputs for training on a frozen codec.

The codec encoder costs about 4.8 GMAC per second of audio, far more than the small model trained on
top of it, so with a frozen codec its outputs are computed once. The cache holds the 256-dim encoder
output ``h`` (before GaussianZ ``proj_in``), so the ``proj_in`` that maps h to mu can still be trained;
mu = proj_in(h) is recomputed per batch (a 256 x 32 matmul per 125 ms frame).

Layout, like the fbank cache (features.py): ``<manifest>.<key>.npy`` (all frames, float32, (N, 256))
and ``<manifest>.<key>.json`` (``utts``: id -> offset, frames, text). The key hashes the manifest, the
codec config and the codec weights, so a different codec never gets stale latents. Filling is
resumable: utterances are appended to ``<manifest>.<key>.partial.*`` files and a restarted run skips
those done (utterances in the partial files but not in the manifest are left out of the final cache).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import torch

from asrkit.data.inputs import InputError, iter_inputs
from asrkit.encoder.hertz import HertzCodecEncoder
from asrkit.errors import UserError
from asrkit.frontend import load_audio
from asrkit.utils.progress import progress


def codec_fingerprint(codec: HertzCodecEncoder) -> str:
    """SHA-1 over the codec config and every weight, to tie cached latents to the exact encoder."""
    h = hashlib.sha1(json.dumps(codec.config.to_dict(), sort_keys=True).encode())
    for name, tensor in sorted(codec.state_dict().items()):
        h.update(name.encode())
        h.update(tensor.detach().float().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()


def latent_cache_key(manifest: Path, codec: HertzCodecEncoder) -> str:
    h = hashlib.sha1(manifest.read_bytes())
    h.update(codec_fingerprint(codec).encode())
    return "hz" + h.hexdigest()[:12]


def _read_partial(bin_path: Path, idx_path: Path, dim: int) -> dict[str, dict]:
    """Utterances already written by an interrupted run; drops a torn tail of either file."""
    index: dict[str, dict] = {}
    end = 0
    if idx_path.exists():
        for line in idx_path.read_text().splitlines():
            try:
                uid, u = json.loads(line)
            except (json.JSONDecodeError, ValueError):
                break
            if u["offset"] != end:
                break
            index[uid] = u
            end += u["frames"]
    nbytes = end * dim * 4
    if not bin_path.exists() or bin_path.stat().st_size < nbytes:
        return {}
    with bin_path.open("r+b") as f:
        f.truncate(nbytes)
    idx_path.write_text("".join(json.dumps([k, v]) + "\n" for k, v in index.items()))
    return index


@torch.inference_mode()
def dump_latents(manifest: str | Path, cache_dir: str | Path, codec: HertzCodecEncoder) -> tuple[np.ndarray, dict]:
    """Encode every utterance of a JSONL manifest with ``codec``; returns (frames memmap (N, 256), index).

    Each utterance gives ceil(samples / 2000) frames (right zero-padding, see codec_encoder.py).
    Runs on the calling thread: set ``torch.set_num_threads`` (and nice) before calling.
    """
    manifest, cache_dir = Path(manifest), Path(cache_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    stem = f"{manifest.stem}.{latent_cache_key(manifest, codec)}"
    npy, idx_path = cache_dir / f"{stem}.npy", cache_dir / f"{stem}.json"
    dim = codec.config.hidden_dim
    if not (npy.exists() and idx_path.exists()):
        codec = codec.eval()
        part_bin, part_idx = cache_dir / f"{stem}.partial.f32", cache_dir / f"{stem}.partial.jsonl"
        index = _read_partial(part_bin, part_idx, dim)
        offset = sum(u["frames"] for u in index.values())
        todo, wanted = [], []
        for it in iter_inputs([str(manifest)]):
            if isinstance(it, InputError):
                print(f"warning: {it}")
                continue
            wanted.append(it.id)
            if it.id not in index:
                todo.append(it)
        with part_bin.open("ab") as fb, part_idx.open("a") as fi:
            for it in progress(todo, desc=f"hertz latents {manifest.name}", unit="utt",
                               initial=len(wanted) - len(todo), total=len(wanted)):
                try:
                    wave = torch.from_numpy(load_audio(it.audio))[None]
                except UserError as err:
                    print(f"warning: skipping {err}")
                    continue
                padded, lengths = codec.pad(wave)
                h = codec.hidden(padded)[0, : int(lengths[0])].float().numpy()
                fb.write(np.ascontiguousarray(h, dtype=np.float32).tobytes())
                fb.flush()
                u = {"offset": offset, "frames": int(h.shape[0]), "text": it.text or ""}
                fi.write(json.dumps([it.id, u]) + "\n")
                fi.flush()
                index[it.id] = u
                offset += u["frames"]
        # The final cache holds exactly the manifest's utterances, in its order (partial files may
        # hold others, e.g. when a run was moved to a smaller manifest of the same codec).
        keep = [uid for uid in wanted if uid in index]
        if not keep:
            raise UserError(f"{manifest}: no usable utterances")
        part = np.memmap(part_bin, dtype=np.float32, mode="r").reshape(-1, dim)
        total = sum(index[uid]["frames"] for uid in keep)
        tmp = npy.with_suffix(".tmp.npy")
        out = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.float32, shape=(total, dim))
        final, offset = {}, 0
        for uid in keep:
            u = index[uid]
            out[offset : offset + u["frames"]] = part[u["offset"] : u["offset"] + u["frames"]]
            final[uid] = {**u, "offset": offset}
            offset += u["frames"]
        out.flush()
        del out, part
        tmp.rename(npy)
        idx_path.write_text(json.dumps({"dim": dim, "frame_rate": codec.config.frame_rate, "utts": final}))
        part_bin.unlink()
        part_idx.unlink()
    return np.load(npy, mmap_mode="r"), json.loads(idx_path.read_text())


@torch.inference_mode()
def latent_stats(frames: np.ndarray, codec: HertzCodecEncoder, max_frames: int = 500_000
                 ) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-dimension mean and std of mu = proj_in(h) over (a strided subset of) cached codec outputs."""
    step = max(1, frames.shape[0] // max_frames)
    h = torch.from_numpy(np.array(frames[::step], dtype=np.float32))  # a copy: the memmap is read-only
    mu = codec.compressor(h)[0].double()
    return mu.mean(0).float(), mu.std(0).float()


def collate_hidden(batch: list[int], examples: list, frames: np.ndarray, gen: torch.Generator | None,
                   max_channels: int = 16) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Padded cached codec outputs (B, T, 256), lengths in latents, concatenated targets, target lengths.

    With ``gen``, SpecAugment-style masks (two time masks of up to 5 % of the frames, two channel
    masks of up to ``max_channels`` channels) are applied to h, before proj_in.
    """
    from asrkit.train.dataset import spec_augment

    feats, targets = [], []
    for i in batch:
        ex = examples[i]
        h = torch.from_numpy(np.array(frames[ex.offset : ex.offset + ex.frames], dtype=np.float32))
        if gen is not None:
            h = spec_augment(h, gen, max_f=max_channels)
        feats.append(h)
        targets.append(torch.tensor(ex.tokens, dtype=torch.long))
    return (
        torch.nn.utils.rnn.pad_sequence(feats, batch_first=True),
        torch.tensor([x.size(0) for x in feats]),
        torch.cat(targets),
        torch.tensor([len(t) for t in targets]),
    )
