"""Length-bucketed batches over cached fbank features, with SpecAugment."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from asrkit.frontend import Frontend, lfr_length
from asrkit.train.batching import bucket_batches


@dataclass
class Example:
    uid: str
    offset: int
    frames: int
    tokens: list[int]


def make_batches(examples: list[Example], max_frames: int, seed: int, lfr_n: int = 6) -> list[list[int]]:
    """Group examples of similar length so each batch holds at most ``max_frames`` padded LFR frames
    (:func:`asrkit.train.batching.bucket_batches`). Examples are sorted by length inside random windows of
    100 batches: padding stays low while batch order (and composition, across epochs) still varies with ``seed``.
    """
    window = max(1, len(examples) // 100) * 50 or len(examples)
    return bucket_batches([lfr_length(e.frames, lfr_n) for e in examples], max_frames, seed, window=window,
                          sort_key=[e.frames for e in examples])


def spec_augment(feats: torch.Tensor, gen: torch.Generator, n_freq: int = 2, max_f: int = 10,
                 n_time: int = 2, max_t_ratio: float = 0.05) -> torch.Tensor:
    """SpecAugment (Park et al., 2019) frequency and time masking on fbank (T, F); no time warping."""
    t, f = feats.shape
    feats = feats.clone()
    fill = feats.mean()
    for _ in range(n_freq):
        w = int(torch.randint(0, max_f + 1, (1,), generator=gen))
        s = int(torch.randint(0, max(1, f - w), (1,), generator=gen))
        feats[:, s : s + w] = fill
    max_t = max(1, int(t * max_t_ratio))
    for _ in range(n_time):
        w = int(torch.randint(0, max_t + 1, (1,), generator=gen))
        s = int(torch.randint(0, max(1, t - w), (1,), generator=gen))
        feats[s : s + w] = fill
    return feats


def collate(batch: list[int], examples: list[Example], frames: np.ndarray, frontend: Frontend,
            gen: torch.Generator | None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Returns padded LFR+CMVN features (B, T, D), their lengths, concatenated targets, target lengths."""
    feats, targets = [], []
    for i in batch:
        ex = examples[i]
        fb = torch.from_numpy(np.asarray(frames[ex.offset : ex.offset + ex.frames], dtype=np.float32))
        if gen is not None:
            fb = spec_augment(fb, gen)
        feats.append(frontend.lfr(fb))
        targets.append(torch.tensor(ex.tokens, dtype=torch.long))
    lengths = torch.tensor([x.size(0) for x in feats])
    return (
        torch.nn.utils.rnn.pad_sequence(feats, batch_first=True),
        lengths,
        torch.cat(targets),
        torch.tensor([len(t) for t in targets]),
    )
