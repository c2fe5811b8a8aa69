"""A speech LLM's decoder as a :class:`~lm.interface.LanguageModel`, conditioned on a per-utterance prefix.

``SpeechLLM.prefix_lm`` gives one whose row b starts after utterance b's left-padded
``[audio + prompt]`` prefix (the LLM's KV cache of that prefix), ``SpeechLLM.prompt_only_lm`` one whose
rows start after the prompt alone (no audio: the internal LM estimate used by ILME, Meng et al., 2021,
"Internal Language Model Estimation for Domain-Adaptive End-to-End Speech Recognition").

Everything after the prefix is :class:`~lm.causal.hf_causal_lm.HFCausalLM`'s ragged KV-cache state code:
``score`` gives ``log softmax(z)`` over the LLM's outputs (natural log, no bias or penalty applied),
``advance``/``select_states``/``concat_states`` carry left-padded caches, ``final_score`` is
``log p(<|im_end|> | prefix, y)``. Positions continue from ``cumsum(mask) - 1`` of the prefix, exactly as
Hugging Face ``generate(inputs_embeds=..., attention_mask=...)`` numbers them.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch

from asrkit.models.speech_llm.tokenizer import LLMTokenizer
from lm.causal.hf_causal_lm import HFCausalLM, HFCausalLMState


class ConditionedLM(HFCausalLM):
    """``init_state(batch)`` needs ``batch == self.batch_size``: row b is prefix b. ``eos_id`` is
    ``<|im_end|>``; ``tokenizer.decode(ids)`` turns token ids into text (special tokens dropped)."""

    unit = "token"

    def __init__(self, model, tokenizer: LLMTokenizer, inputs_embeds: torch.Tensor, attention_mask: torch.Tensor,
                 name: str = "speech_llm"):
        # bos is never fed (the prefix replaces it); <|endoftext|> is the nearest "start of text".
        super().__init__(model, tokenizer, Path(name), bos_id=tokenizer.pad_id, eos_id=tokenizer.eos_id)
        self.prefix = self.prefix_state(inputs_embeds, attention_mask)

    @property
    def batch_size(self) -> int:
        return len(self.prefix)

    def init_state(self, batch: int) -> HFCausalLMState:
        """The prefix states: row b = utterance b after its [audio + prompt]; ``logp`` = p(first token | prefix)."""
        if batch != self.batch_size:
            raise ValueError(f"this LM is conditioned on {self.batch_size} prefixes; init_state({batch}) must ask "
                             f"for exactly that many")
        return self.prefix

    @torch.inference_mode()
    def score_sentences(self, sentences: Sequence[Sequence[int]], rows: Sequence[int] | None = None,
                        batch_size: int = 16) -> torch.Tensor:
        """``log p(y_1..y_n <|im_end|> | prefix_{rows[i]})`` per token sequence ``sentences[i]`` (N,).

        ``rows`` defaults to ``0..N-1`` (sentence i continues prefix i). One forward pass per chunk over the
        prefix caches: ``log p(y_1)`` comes from the prefix state, the rest from the appended tokens.
        """
        rows = list(range(len(sentences))) if rows is None else [int(r) for r in rows]
        if len(rows) != len(sentences) or any(not 0 <= r < self.batch_size for r in rows):
            raise ValueError(f"rows must give one prefix (0..{self.batch_size - 1}) per sentence")
        out = torch.zeros(len(sentences))
        for start in range(0, len(sentences), batch_size):
            chunk = [list(map(int, s)) for s in sentences[start : start + batch_size]]
            state = self.select_states(self.prefix, torch.tensor(rows[start : start + batch_size]))
            n = len(chunk)
            width = max(len(s) for s in chunk)
            first = torch.tensor([s[0] if s else self.eos_id for s in chunk], device=self.device)
            total = state.logp.gather(1, first[:, None]).squeeze(1).cpu()
            if width == 0:
                out[start : start + n] = total
                continue
            ids = torch.full((n, width), self.eos_id, dtype=torch.long)
            tmask = torch.zeros(n, width, dtype=torch.long)
            targets = torch.full((n, width), -1, dtype=torch.long)  # token predicted after column t
            for i, s in enumerate(chunk):
                if s:
                    ids[i, : len(s)] = torch.tensor(s)
                    tmask[i, : len(s)] = 1
                    targets[i, : len(s) - 1] = torch.tensor(s[1:], dtype=torch.long)
                    targets[i, len(s) - 1] = self.eos_id
            positions = state.length[:, None].cpu() + torch.arange(width)[None, :]
            mask = torch.cat([state.mask, tmask.to(self.device)], dim=1)
            logits, _ = self._forward(ids.to(self.device), mask, positions.to(self.device),
                                      list(zip(state.keys, state.values)))
            logp = self._log_softmax(logits).cpu()
            tok = logp.gather(2, targets.clamp(min=0)[..., None]).squeeze(-1)
            total += torch.where(targets >= 0, tok, 0.0).sum(1)
            out[start : start + n] = total
        return out
