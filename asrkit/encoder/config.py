"""SANM encoder configuration (FunASR Paraformer naming)."""

from __future__ import annotations

from dataclasses import asdict, dataclass


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

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> SANMConfig:
        # FunASR spells the shift "sanm_shfit"; accept it so its YAML configs load as they are.
        d = dict(d)
        if "sanm_shfit" in d:
            d["sanm_shift"] = d.pop("sanm_shfit")
        known = cls.__dataclass_fields__
        return cls(**{k: v for k, v in d.items() if k in known})

    @classmethod
    def paraformer_large(cls) -> SANMConfig:
        return cls()
