"""SANM encoder configuration (FunASR Paraformer naming)."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from asrkit.utils.config_io import from_dict


@dataclass
class SANMConfig:
    """Defaults are paraformer-large's encoder (ARCHITECTURE.md §2.1): 50 blocks of 512 dims."""

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

    def to_dict(self) -> dict:
        # Unset context fields are left out, so configs written before they existed stay byte-identical.
        return {k: v for k, v in asdict(self).items() if not (k.endswith("_context") and v is None)}

    @property
    def fsmn_right(self) -> int:
        """Future frames the FSMN memory (depthwise conv) reads: kernel_size - 1 - ((kernel_size - 1) // 2 + shift)."""
        return self.kernel_size - 1 - ((self.kernel_size - 1) // 2 + self.sanm_shift)

    def lookahead_frames(self) -> int | None:
        """Future frames one output frame depends on: per block max(attention, FSMN) lookahead, summed
        over blocks; None when the attention sees the whole utterance."""
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
