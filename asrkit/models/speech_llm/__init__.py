"""MooER-style speech LLM: frozen SANM encoder -> LinearAdapter (120 ms per embedding) -> Qwen2 + LoRA.

Decoding API: :func:`load_speech_llm` (asrkit folders, bundled names, MooER releases + ``llm``), then
``SpeechLLM.generate`` (Hugging Face beam search with MooER's defaults), ``SpeechLLM.prefix_lm`` and
``SpeechLLM.prompt_only_lm`` (:class:`ConditionedLM`, the lm/interface.py protocol). See docs/speech_llm.md.
"""

from asrkit.models.speech_llm.conditioned_lm import ConditionedLM
from asrkit.models.speech_llm.config import AdapterConfig, GenerationDefaults, LoraSettings, SpeechLLMConfig
from asrkit.models.speech_llm.load import is_speech_llm, load_speech_llm
from asrkit.models.speech_llm.model import SpeechLLM
from asrkit.models.speech_llm.prompt import QWEN_CHAT_TEMPLATE, TASK_PROMPTS, split_multitask
from asrkit.models.speech_llm.tokenizer import LLMTokenizer

__all__ = [
    "AdapterConfig", "ConditionedLM", "GenerationDefaults", "LLMTokenizer", "LoraSettings", "QWEN_CHAT_TEMPLATE",
    "SpeechLLM", "SpeechLLMConfig", "TASK_PROMPTS", "is_speech_llm", "load_speech_llm", "split_multitask",
]
