"""SANM encoder configuration (FunASR Paraformer naming)."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from asrkit.errors import UserError
from asrkit.utils.config_io import from_dict, require_fraction, require_positive


@dataclass
class SANMConfig:
    """Defaults are paraformer-large's encoder (FunASR, github.com/modelscope/FunASR): 50 blocks of 512 dims."""

    input_size: int = 560
    output_size: int = 512
    attention_heads: int = 4
    linear_units: int = 2048
    num_blocks: int = 50
    dropout_rate: float = 0.1
    positional_dropout_rate: float = 0.1
    attention_dropout_rate: float = 0.1
    kernel_size: int = 11
    sanm_shift: int = 0
    # Limited attention context in frames (None = unlimited, Paraformer's offline default). With a bounded
    # right context and an FSMN shift, every output frame has a fixed lookahead: see lookahead_frames().
    left_context: int | None = None
    right_context: int | None = None
    # Chunk-wise streaming (WeNet's chunk attention, Zhang et al., 2021, "Unified streaming and non-streaming
    # two-pass end-to-end model"): frames are grouped in chunks of chunk_size; a frame attends to its own
    # chunk and left_chunks chunks before it (None = all), and its FSMN memory reads nothing past its
    # chunk's end, so a chunk's outputs never change once computed (asrkit/encoder/sanm_streaming.py).
    chunk_size: int | None = None
    left_chunks: int | None = None

    def __post_init__(self) -> None:
        require_positive(self, "input_size", "output_size", "attention_heads", "linear_units", "num_blocks",
                         "kernel_size")
        require_fraction(self, "dropout_rate", "positional_dropout_rate", "attention_dropout_rate")
        if self.output_size % self.attention_heads:
            raise UserError(f"output_size {self.output_size} is not divisible by attention_heads "
                            f"{self.attention_heads}")
        left = (self.kernel_size - 1) // 2 + self.sanm_shift  # the FSMN's left padding must fit in its kernel
        if not 0 <= left <= self.kernel_size - 1:
            raise UserError(f"sanm_shift {self.sanm_shift} does not fit kernel_size {self.kernel_size}")
        for name in ("left_context", "right_context"):
            if getattr(self, name) is not None and getattr(self, name) < 0:
                raise UserError(f"{name!r} must be >= 0 or null, not {getattr(self, name)}")

    def to_dict(self) -> dict:
        # Unset context fields are left out, so configs written before they existed stay byte-identical.
        optional = ("left_context", "right_context", "chunk_size", "left_chunks")
        return {k: v for k, v in asdict(self).items() if not (k in optional and v is None)}

    @property
    def fsmn_right(self) -> int:
        """Future frames the FSMN memory (depthwise conv) reads: kernel_size - 1 - ((kernel_size - 1) // 2 + shift)."""
        return self.kernel_size - 1 - ((self.kernel_size - 1) // 2 + self.sanm_shift)

    def lookahead_frames(self) -> int | None:
        """Future frames one output frame depends on: per block max(attention, FSMN) lookahead, summed
        over blocks; None when the attention sees the whole utterance."""
        if self.chunk_size is not None:
            return self.chunk_size - 1  # a chunk's first frame waits for the rest of its chunk
        if self.right_context is None:
            return None
        return self.num_blocks * max(self.right_context, self.fsmn_right)

    @classmethod
    def from_dict(cls, d: dict, where: str = "encoder config") -> SANMConfig:
        """Unknown keys and wrong types are refused (asrkit/utils/config_io.py): a dropped key such as
        ``normalize_before`` would silently build another model."""
        # FunASR spells the shift "sanm_shfit"; accept it so its encoder settings load as they are.
        return from_dict(cls, d, where, aliases={"sanm_shfit": "sanm_shift"})

    @classmethod
    def paraformer_large(cls) -> SANMConfig:
        return cls()
