"""Configuration of the hertz-codec encoder and of its 15-bit latent quantizer.

Defaults are the released ``make_tokenizer`` codec of hertz-dev (Standard Intelligence, 2024,
"hertz-dev", si.inc/hertz-dev, github.com/Standard-Intelligence/hertz-dev) and its ``inference_volcano_3`` quantizer.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

from asrkit.errors import UserError
from asrkit.utils.config_io import from_dict


@dataclass
class HertzCodecConfig:
    """The WaveCodec encoder side: a causal ResNet stack then the GaussianZ ``proj_in``.

    Block ``i`` has ``encode_channels * ratio[i-1]`` input channels (ratio[-1] = 1 for the first)
    and ``encode_channels * ratio[i]`` outputs; it downsamples by ``strides[i]``. The total stride
    (2*2*4*5*5*5 = 2000 samples) gives one latent per 125 ms at 16 kHz.
    """

    sample_rate: int = 16000
    norm_stddev: float = 0.05  # the codec encodes wave / 0.05
    encode_channels: int = 16
    kernel_size: int = 7
    dilations: tuple[int, ...] = (1, 3, 9)
    channel_ratios: tuple[int, ...] = (4, 8, 16, 16, 16, 16)
    strides: tuple[int, ...] = (2, 2, 4, 5, 5, 5)
    bias: bool = True  # bias of the downsampling convs (the data conv and res-unit convs never have one)
    latent_dim: int = 32

    def __post_init__(self) -> None:
        self.dilations = tuple(int(x) for x in self.dilations)
        self.channel_ratios = tuple(int(x) for x in self.channel_ratios)
        self.strides = tuple(int(x) for x in self.strides)
        if len(self.channel_ratios) != len(self.strides) or not self.strides:
            raise UserError(f"hertz codec config: {len(self.channel_ratios)} channel_ratios "
                            f"but {len(self.strides)} strides")
        if min(self.strides) < 1 or self.kernel_size < 1 or self.latent_dim < 1 or self.norm_stddev <= 0:
            raise UserError("hertz codec config: strides, kernel_size, latent_dim and norm_stddev must be positive")

    @property
    def hop(self) -> int:
        """Samples per latent frame (the product of the strides): 2000."""
        return math.prod(self.strides)

    @property
    def frame_rate(self) -> float:
        return self.sample_rate / self.hop

    @property
    def channels(self) -> list[int]:
        """Channel count entering block 1..n and after the last block: [16, 64, 128, 256, 256, 256, 256]."""
        return [self.encode_channels] + [self.encode_channels * r for r in self.channel_ratios]

    @property
    def hidden_dim(self) -> int:
        """Width of the encoder output, fed to GaussianZ (256)."""
        return self.channels[-1]

    def receptive_field(self) -> int:
        """Samples of past audio (including the newest one) that can influence one latent.

        Walk back from the output: at a layer with input sample period ``p`` (in input samples),
        a kernel covering ``span`` taps adds ``(span - 1) * p``; a pooling or strided layer of
        stride ``s`` adds ``(s - 1) * p`` for the taps it merges and multiplies ``p`` by ``s``.
        """
        p, rf = 1, 1
        rf += (self.kernel_size - 1) * p  # data conv
        for s, (c_in, c_out) in zip(self.strides, zip(self.channels[:-1], self.channels[1:])):
            for d in self.dilations:
                rf += (self.kernel_size - 1) * d * p
            rf += (2 * s - 1 if c_in != c_out else s - 1) * p
            p *= s
        return rf

    def macs_per_second(self) -> float:
        """Multiply-accumulates per second of audio of the encoder + proj_in (offline, batch 1)."""
        rate = float(self.sample_rate)
        c = self.channels
        macs = self.kernel_size * c[0] * rate  # data conv
        for i, s in enumerate(self.strides):
            c_in, c_out = c[i], c[i + 1]
            macs += len(self.dilations) * (self.kernel_size + 1) * c_in * c_in * rate
            rate /= s
            if c_in != c_out:
                macs += 2 * s * c_in * c_out * rate
        return macs + 2 * self.latent_dim * self.hidden_dim * rate

    def to_dict(self) -> dict:
        d = asdict(self)
        return {k: list(v) if isinstance(v, tuple) else v for k, v in d.items()}

    @classmethod
    def from_dict(cls, d: dict, where: str = "hertz codec config") -> HertzCodecConfig:
        return from_dict(cls, d, where)


@dataclass
class HertzQuantizerConfig:
    """``LatentQuantizer`` of hertz-dev: Linear 32->2048, SwiGLU 2048->8192->2048 (no residual),
    then FSQ with ``levels`` (8^5 = 32768 codes, 15 bits)."""

    latent_dim: int = 32
    dim: int = 2048
    ffn_dim: int = 8192
    levels: list[int] = field(default_factory=lambda: [8, 8, 8, 8, 8])

    def __post_init__(self) -> None:
        self.levels = [int(x) for x in self.levels]
        if not self.levels or min(self.levels) < 2:
            raise UserError(f"hertz quantizer config: levels {self.levels} must all be >= 2")

    @property
    def codebook_size(self) -> int:
        return math.prod(self.levels)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict, where: str = "hertz quantizer config") -> HertzQuantizerConfig:
        return from_dict(cls, d, where)
