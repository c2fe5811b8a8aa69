"""Low frame rate (LFR) stacking as in FunASR's WavFrontend: m=7 frames every n=6 (60 ms hop)."""

from __future__ import annotations

import math

import torch


def apply_lfr(feats: torch.Tensor, lfr_m: int = 7, lfr_n: int = 6) -> torch.Tensor:
    """Stack ``lfr_m`` consecutive frames every ``lfr_n`` frames: (T, D) -> (ceil(T/lfr_n), lfr_m*D).

    The sequence is left-padded with (lfr_m-1)//2 copies of frame 0 and right-padded by
    repeating the last frame, so output frame i is frames [n*i - 3, n*i + 4) of the input.
    """
    t, d = feats.shape
    if t == 0:
        return feats.new_zeros(0, lfr_m * d)
    t_out = math.ceil(t / lfr_n)
    left = (lfr_m - 1) // 2
    need = (t_out - 1) * lfr_n + lfr_m  # padded length the last window reaches
    right = max(0, need - (t + left))
    padded = torch.cat([feats[:1].expand(left, d), feats, feats[-1:].expand(right, d)], dim=0)
    return padded.unfold(0, lfr_m, lfr_n)[:t_out].transpose(1, 2).reshape(t_out, lfr_m * d)


def lfr_length(num_frames: int, lfr_n: int = 6) -> int:
    return math.ceil(num_frames / lfr_n)
