"""Configuration of a speech LLM folder (``config.json``, ``model_type`` "speech_llm")."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from asrkit.encoder import SANMConfig
from asrkit.errors import UserError
from asrkit.frontend import FrontendConfig
from asrkit.models.speech_llm.prompt import QWEN_CHAT_TEMPLATE, TASK_PROMPTS
from asrkit.utils.config_io import from_dict, json_kind, require_positive

MODEL_TYPE = "speech_llm"
# "sanm": waveforms/fbank -> Paraformer SANM encoder (60 ms frames); "none": the caller passes encoder
# outputs directly (e.g. hertz-codec latents, whose encoder lives in asrkit/encoder/hertz/).
ENCODER_TYPES = ("sanm", "none")
LORA_TARGETS = ("q_proj", "k_proj", "v_proj", "o_proj", "up_proj", "gate_proj", "down_proj")


@dataclass
class AdapterConfig:
    """MooER's LinearAdapter: k frames concatenated -> Linear(k*E, hidden) -> ReLU -> Linear(hidden, llm_dim).

    ``downsample_rate`` k is 2 for the Paraformer encoder (60 ms frames -> one embedding per 120 ms) and 1
    for hertz latents."""

    encoder_dim: int = 512
    llm_dim: int = 3584
    hidden_dim: int = 2048
    downsample_rate: int = 2
    # Temperature of the adapter CTC head (aux_ctc.py: logits = E y / tau over the LLM's embedding matrix E),
    # used by joint CTC/attention decoding (--ctc-weight). Only meaningful for adapters trained with that loss
    # (asrkit's recipe); MooER's released adapters were not.
    ctc_tau: float = 0.1


@dataclass
class LoraSettings:
    """MooER's LoRA: r 64, alpha 16 (scale alpha/r = 0.25), dropout 0.05 on all seven projections."""

    r: int = 64
    alpha: int = 16
    dropout: float = 0.05
    target_modules: list[str] = field(default_factory=lambda: list(LORA_TARGETS))


@dataclass
class GenerationDefaults:
    """MooER's ``generate`` defaults: 4 beams, length penalty 0.8, EOS log-prob bias -0.2, 200 new tokens."""

    num_beams: int = 4
    length_penalty: float = 0.8
    eos_bias: float = -0.2
    max_new_tokens: int = 200


@dataclass
class SpeechLLMConfig:
    encoder_type: str = "sanm"
    encoder: SANMConfig = field(default_factory=SANMConfig)
    frontend: FrontendConfig = field(default_factory=FrontendConfig)
    adapter: AdapterConfig = field(default_factory=AdapterConfig)
    lora: LoraSettings = field(default_factory=LoraSettings)
    generation: GenerationDefaults = field(default_factory=GenerationDefaults)
    chat_template: str = QWEN_CHAT_TEMPLATE
    prompts: dict[str, str] = field(default_factory=lambda: dict(TASK_PROMPTS))
    # True: the LoRA was merged into llm/ (no lora/ folder); False: llm/ is the base and lora/ the adapter.
    lora_merged: bool = False
    model_type: str = MODEL_TYPE

    def __post_init__(self) -> None:
        if self.encoder_type not in ENCODER_TYPES:
            raise UserError(f"encoder_type {self.encoder_type!r} is not one of {list(ENCODER_TYPES)}")
        if self.encoder_type == "sanm" and self.encoder.output_size != self.adapter.encoder_dim:
            raise UserError(f"encoder output_size {self.encoder.output_size} != adapter encoder_dim "
                            f"{self.adapter.encoder_dim}")
        require_positive(self.adapter, "encoder_dim", "llm_dim", "hidden_dim", "downsample_rate")
        require_positive(self.lora, "r")
        require_positive(self.generation, "num_beams", "max_new_tokens")
        if "{}" not in self.chat_template:
            raise UserError("chat_template has no {} for the task prompt")

    @property
    def tasks(self) -> list[str]:
        return sorted(self.prompts)

    def to_dict(self) -> dict:
        return {
            "model_type": self.model_type,
            "encoder_type": self.encoder_type,
            "encoder": self.encoder.to_dict(),
            "frontend": self.frontend.to_dict(),
            "adapter": asdict(self.adapter),
            "lora": asdict(self.lora),
            "lora_merged": self.lora_merged,
            "generation": asdict(self.generation),
            "chat_template": self.chat_template,
            "prompts": dict(self.prompts),
        }

    @classmethod
    def from_dict(cls, d: dict, where: str = "config.json") -> SpeechLLMConfig:
        """Unknown keys and wrong types are refused, naming ``where`` and the key (asrkit/utils/config_io.py)."""
        if not isinstance(d, dict):
            raise UserError(f"{where}: expected a JSON object, got {json_kind(d)}")
        if d.get("model_type") != MODEL_TYPE:
            raise UserError(f"{where}: model_type {d.get('model_type')!r} is not {MODEL_TYPE!r}")
        if "prompts" in d and (not isinstance(d["prompts"], dict) or not d["prompts"]):
            raise UserError(f"{where}: prompts must be a non-empty object task -> prompt")
        return from_dict(cls, d, where)
