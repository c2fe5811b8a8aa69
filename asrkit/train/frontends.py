"""What CTC training needs to know about a front end, behind one object, so the trainer has no per-front-end
branches: ``paraformer`` trains on a cache of fbank features (LFR + CMVN per batch), ``hertz`` on a cache of
the frozen hertz-codec encoder's outputs (asrkit/train/latents.py), the codec itself being part of the saved
model so that decoding runs from raw audio."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from asrkit.frontend import FbankConfig, FrontendConfig, GlobalCMVN, lfr_length
from asrkit.train.config import TrainConfig
from asrkit.train.dataset import Example, collate
from asrkit.train.features import dump_features, feature_stats


class FbankFrontend:
    """Kaldi fbank (the Paraformer/MooER front end): cached 10 ms frames, LFR-stacked and normalised per batch."""

    forward_kwargs: dict = {}

    def __init__(self, cache: Path, nj: int, lfr_n: int = FrontendConfig.lfr_n):
        self.config = FrontendConfig(fbank=FbankConfig(), lfr_n=lfr_n)
        self.cache, self.nj = cache, nj
        self.batch_lfr_n = self.config.lfr_n  # batches are sized in LFR frames
        self.frame_seconds = self.config.fbank.frame_shift_ms / 1000

    def dump(self, manifest: str) -> tuple[np.ndarray, dict]:
        return dump_features(manifest, self.cache, self.config.fbank, self.nj)

    def cmvn(self, train_frames: np.ndarray) -> GlobalCMVN:
        """CMVN of the LFR-stacked features: the fbank statistics repeated over the ``lfr_m`` stacked frames."""
        mean, std = feature_stats(train_frames)
        return GlobalCMVN.from_stats(mean.repeat(self.config.lfr_m), std.repeat(self.config.lfr_m))

    def max_input(self, max_duration: float) -> int:
        return int(max_duration * 1000 / self.config.fbank.frame_shift_ms)

    def out_len(self, frames: int) -> int:
        """Encoder output frames of ``frames`` cached frames."""
        return lfr_length(frames, self.config.lfr_n)

    def model_config(self) -> FrontendConfig:
        return self.config

    def prepare(self, model: torch.nn.Module) -> None:
        """Nothing to carry into the model: it computes fbank from audio itself."""

    def collate(self, batch: list[int], examples: list[Example], frames: Any, gen: torch.Generator | None,
                model: torch.nn.Module) -> tuple:
        return collate(batch, examples, frames, model.frontend, gen)


class HertzFrontend:
    """The hertz-codec encoder (docs/hertz.md): cached outputs of the frozen codec, 8 latents a second."""

    forward_kwargs = {"inputs": "hidden"}  # the model reads cached codec outputs, not audio
    batch_lfr_n = 1  # batches are sized in cached latents as they are

    def __init__(self, config: TrainConfig, cache: Path):
        from asrkit.encoder.hertz.checkpoint import build_codec

        self.hz = config.hertz
        self.cache = cache
        self.codec = build_codec(self.hz.codec, self.hz.codec_seed, self.hz.codec_checkpoint)
        self.frame_seconds = 1 / self.hz.codec.frame_rate

    def dump(self, manifest: str) -> tuple[np.ndarray, dict]:
        from asrkit.train.latents import dump_latents

        return dump_latents(manifest, self.cache, self.codec)

    def cmvn(self, train_frames: np.ndarray) -> GlobalCMVN:
        """CMVN of the 32-dim mu latents, as the codec computes them at the start."""
        from asrkit.train.latents import latent_stats

        return GlobalCMVN.from_stats(*latent_stats(train_frames, self.codec))

    def max_input(self, max_duration: float) -> int:
        return int(max_duration * self.hz.codec.frame_rate)

    def out_len(self, frames: int) -> int:
        return frames * self.hz.upsample

    def model_config(self) -> Any:
        from asrkit.models.hertz_frontend import HertzFrontendConfig

        return HertzFrontendConfig(self.hz.codec, self.hz.upsample)

    def prepare(self, model: torch.nn.Module) -> None:
        """The saved model carries the codec the latents were computed with; ``train_proj_in`` trains its
        proj_in (h -> mu) too."""
        model.codec.load_state_dict(self.codec.state_dict())
        model.codec.compressor.requires_grad_(self.hz.train_proj_in)

    def collate(self, batch: list[int], examples: list[Example], frames: Any, gen: torch.Generator | None,
                model: torch.nn.Module) -> tuple:
        from asrkit.train.latents import collate_hidden

        return collate_hidden(batch, examples, frames, gen, self.hz.specaug_channels)


def train_frontend(config: TrainConfig, cache: Path, nj: int) -> FbankFrontend | HertzFrontend:
    """The front end ``config.frontend`` names (TrainConfig.load has checked it is one of these two)."""
    return HertzFrontend(config, cache) if config.frontend == "hertz" else FbankFrontend(cache, nj, config.lfr_n)
