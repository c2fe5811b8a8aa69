"""Local Hugging Face causal LMs (any ``*ForCausalLM`` folder) behind the asrkit LM interface."""

from lm.causal.hf_causal_lm import HFCausalLM

__all__ = ["HFCausalLM"]
