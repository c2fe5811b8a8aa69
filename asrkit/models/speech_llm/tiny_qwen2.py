"""A small Qwen2-architecture causal LM (the LLM of a small speech LLM), built from a config and a tokenizer;
pretrained by :mod:`asrkit.train.llm_pretrain`."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from asrkit.models.speech_llm.tokenizer import LLMTokenizer


@dataclass
class TinyQwen2Config:
    vocab_size: int = 4000
    hidden_size: int = 256
    num_hidden_layers: int = 4
    num_attention_heads: int = 4
    num_key_value_heads: int = 2
    intermediate_size: int = 768
    max_position_embeddings: int = 2048
    rope_theta: float = 10000.0
    tie_word_embeddings: bool = True


def make_qwen2(cfg: TinyQwen2Config, tok: LLMTokenizer, seed: int = 0):
    from transformers import Qwen2Config, Qwen2ForCausalLM

    torch.manual_seed(seed)
    qcfg = Qwen2Config(
        vocab_size=len(tok), hidden_size=cfg.hidden_size, num_hidden_layers=cfg.num_hidden_layers,
        num_attention_heads=cfg.num_attention_heads, num_key_value_heads=cfg.num_key_value_heads,
        intermediate_size=cfg.intermediate_size, max_position_embeddings=cfg.max_position_embeddings,
        rope_theta=cfg.rope_theta, tie_word_embeddings=cfg.tie_word_embeddings, rms_norm_eps=1e-6,
        bos_token_id=None, eos_token_id=tok.eos_id, pad_token_id=tok.pad_id,
    )
    model = Qwen2ForCausalLM(qcfg)
    model.generation_config.eos_token_id = tok.eos_id
    model.generation_config.pad_token_id = tok.pad_id
    model.generation_config.bos_token_id = None
    return model
