"""asrkit's own neural LM: a small causal Transformer over the acoustic model's sentencepiece units."""

from lm.neural.transformer_lm import TransformerLM, TransformerLMConfig

__all__ = ["TransformerLM", "TransformerLMConfig"]
