"""Training data of a speech LLM: frozen-encoder outputs cached once, examples per task, length batches.

The encoder is frozen (and run in eval mode), so its output for an utterance never changes during
training: it is computed once per manifest and stored as one float16 array of all frames plus a JSON
index, and training runs only the adapter and the LLM. The cache name carries a hash of the manifest
and of the encoder's weights and CMVN, so a changed manifest or encoder is never served stale outputs.
Fbank comes from (and fills) the shared fbank cache of :mod:`asrkit.train.features`.

Targets per task (MooER): ``asr`` the transcript (``text``), ``ast`` the English ``translation``,
``asr_ast`` ``text + "\\n" + translation``; each followed by ``<|im_end|>``. Texts are kept as written
(case, punctuation): the LLM writes real text and scoring normalises.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from asrkit.data.jsonl import read_jsonl
from asrkit.errors import UserError
from asrkit.frontend import Frontend
from asrkit.train.batching import bucket_batches
from asrkit.train.features import dump_features
from asrkit.utils.progress import progress

TARGET_FIELDS = {"asr": ("text",), "ast": ("translation",), "asr_ast": ("text", "translation")}


def _encoder_key(encoder: torch.nn.Module, frontend: Frontend) -> str:
    h = hashlib.sha1()
    for k, v in sorted(encoder.state_dict().items()):
        h.update(k.encode())
        h.update(v.detach().float().cpu().numpy().tobytes())
    if frontend.cmvn is not None:
        h.update(frontend.cmvn.shift.cpu().numpy().tobytes())
        h.update(frontend.cmvn.scale.cpu().numpy().tobytes())
    h.update(json.dumps(frontend.config.to_dict(), sort_keys=True).encode())
    return h.hexdigest()[:10]


def _manifest_fields(manifest: Path) -> dict[str, dict]:
    """Each manifest line by its id (the one JSONL reader, asrkit/data/jsonl.py)."""
    return {str(obj.get("id")): obj for obj in read_jsonl(manifest)}


@torch.inference_mode()
def encoder_cache(manifest: str | Path, encoder: torch.nn.Module, frontend: Frontend, cache_dir: str | Path,
                  feats_dir: str | Path | None = None, max_frames: int = 6000, nj: int = 1):
    """Encoder outputs of every utterance of ``manifest`` -> (frames memmap (N, E) float16, index dict).

    ``index["utts"][id]`` holds ``offset``, ``frames`` (encoder frames) and the manifest's ``text`` and
    ``translation``. Batches of at most ``max_frames`` padded LFR frames, float32 (as at inference)."""
    manifest, cache_dir = Path(manifest), Path(cache_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    h = hashlib.sha1(manifest.read_bytes()).hexdigest()[:10]
    stem = f"{manifest.stem}.{h}.{_encoder_key(encoder, frontend)}"
    npy, idx_path = cache_dir / f"{stem}.npy", cache_dir / f"{stem}.json"
    if npy.exists() and idx_path.exists():
        return np.load(npy, mmap_mode="r"), json.loads(idx_path.read_text())
    fb, fb_index = dump_features(manifest, feats_dir or cache_dir / "fbank", frontend.config.fbank, nj)
    meta = _manifest_fields(manifest)
    utts = sorted(fb_index["utts"].items(), key=lambda kv: kv[1]["frames"])
    encoder.eval()
    chunks, index, offset, batch = [], {}, 0, []

    def flush(batch):
        nonlocal offset
        feats = [frontend.lfr(torch.from_numpy(np.asarray(fb[u["offset"] : u["offset"] + u["frames"]],
                                                          dtype=np.float32))) for _, u in batch]
        lens = torch.tensor([f.shape[0] for f in feats])
        dev = next(encoder.parameters()).device  # a GPU, when the trainer has one, fills the cache much faster
        enc, enc_lens = encoder(torch.nn.utils.rnn.pad_sequence(feats, batch_first=True).to(dev), lens.to(dev))
        for (uid, _), e, n in zip(batch, enc, enc_lens.tolist()):
            chunks.append(e[:n].to(torch.float16).cpu().numpy())
            m = meta.get(uid, {})
            index[uid] = {"offset": offset, "frames": n, "text": m.get("text", ""),
                          "translation": m.get("translation", "")}
            offset += n

    bar = progress(utts, desc=f"encoder {manifest.name}", unit="utt")
    for uid, u in bar:
        n_lfr = -(-u["frames"] // frontend.config.lfr_n)
        if batch and n_lfr * (len(batch) + 1) > max_frames:
            flush(batch)
            batch = []
        batch.append((uid, u))
    if batch:
        flush(batch)
    tmp = npy.with_suffix(".tmp.npy")
    np.save(tmp, np.concatenate(chunks))
    tmp.rename(npy)
    idx_path.write_text(json.dumps({"dim": int(chunks[0].shape[1]), "utts": index}))
    return np.load(npy, mmap_mode="r"), json.loads(idx_path.read_text())


@dataclass
class Example:
    uid: str
    task: str
    source: int  # which cache (frames array) it lives in
    offset: int
    frames: int  # encoder frames
    target: list[int]  # answer ids incl. the final <|im_end|>
    spoken: list[int]  # LLM token ids of what is said (``text``), for the adapter CTC loss (aux_ctc.py)


def make_examples(index: dict, task: str, source: int, encode, eos_id: int, max_frames: int | None = None,
                  max_target: int = 400) -> list[Example]:
    """Examples of one cached manifest for ``task``; utterances without the needed fields are skipped."""
    if task not in TARGET_FIELDS:
        raise UserError(f"unknown task {task!r} (one of {sorted(TARGET_FIELDS)})")
    out = []
    for uid, u in index["utts"].items():
        parts = [u.get(f, "").strip() for f in TARGET_FIELDS[task]]
        if not all(parts) or (max_frames is not None and u["frames"] > max_frames):
            continue
        target = encode("\n".join(parts)) + [eos_id]
        if len(target) <= max_target:
            out.append(Example(uid, task, source, u["offset"], u["frames"], target, encode(u.get("text", ""))))
    return out


def example_length(ex: Example, k: int, prompt_len: int) -> int:
    """Sequence length the LLM sees: audio placeholders + prompt + answer."""
    return ex.frames // k + prompt_len + len(ex.target)


def make_batches(examples: list[Example], max_tokens: int, seed: int, k: int, prompt_len: int) -> list[list[int]]:
    """Batches of similar length with at most ``max_tokens`` padded positions; sorted inside random windows
    (20 per epoch) so padding stays low while composition varies with ``seed``
    (:func:`asrkit.train.batching.bucket_batches`)."""
    window = max(1, len(examples) // 20) or 1
    return bucket_batches([example_length(e, k, prompt_len) for e in examples], max_tokens, seed, window=window)


def collate(batch: list[int], examples: list[Example], sources: list[np.ndarray]):
    """Padded encoder outputs (B, T, E) float32, lengths, tasks, answer ids, spoken-token ids."""
    exs = [examples[i] for i in batch]
    enc = [torch.from_numpy(np.asarray(sources[e.source][e.offset : e.offset + e.frames], dtype=np.float32))
           for e in exs]
    return (torch.nn.utils.rnn.pad_sequence(enc, batch_first=True), torch.tensor([e.frames for e in exs]),
            [e.task for e in exs], [e.target for e in exs], [e.spoken for e in exs])
