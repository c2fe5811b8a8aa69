"""A context-free (unigram) LM over the acoustic units: log p(u | any prefix) = log p(u).

Used as the internal LM of a CTC head (see decoders/ilme.py). Saved as JSON::

    {"type": "unigram", "vocab": [...], "logprobs": [...], "eos_logprob": 0.0, "blank_id": 0}

``eos_logprob`` is the end-of-sentence score; 0 by default, because a label prior has no notion of
sentence length (the search's insertion bonus handles length).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import torch

from asrkit.errors import UserError


class UnigramLM:
    unit = "token"

    def __init__(self, logprobs: torch.Tensor, vocab: Sequence[str], eos_logprob: float = 0.0,
                 blank_id: int | None = 0, path: Path | None = None):
        if logprobs.dim() != 1 or logprobs.numel() != len(vocab):
            raise ValueError(f"logprobs must have shape ({len(vocab)},), got {tuple(logprobs.shape)}")
        self.logprobs = logprobs.float()
        self._vocab = list(vocab)
        self.eos_logprob = eos_logprob
        self.blank_id = blank_id
        self.path = path
        self.order = 1

    @property
    def vocab(self) -> list[str]:
        return self._vocab

    def init_state(self, batch: int) -> int:
        return batch  # no context: the state is just the batch size

    def score(self, state: int, candidates: torch.Tensor | None = None) -> torch.Tensor:
        if candidates is None:
            return self.logprobs.expand(state, -1).clone()
        return self.logprobs[candidates]

    def advance(self, state: int, parents: torch.Tensor, units: torch.Tensor) -> int:
        return int(parents.numel())

    def final_score(self, state: int) -> torch.Tensor:
        return torch.full((state,), self.eos_logprob)

    def select_states(self, state: int, rows: torch.Tensor) -> int:
        return int(rows.numel())

    def concat_states(self, states: Sequence[int]) -> int:
        return int(sum(states))

    def score_sentences(self, sentences: Sequence[Sequence[int]]) -> torch.Tensor:
        out = []
        for s in sentences:
            ids = [u for u in (s.tolist() if isinstance(s, torch.Tensor) else s) if u != self.blank_id]
            out.append(float(self.logprobs[ids].double().sum()) + self.eos_logprob)
        return torch.tensor(out, dtype=torch.float64)

    def encode_text(self, text: str) -> list[int]:
        raise NotImplementedError("a unigram prior scores unit ids; encode text with the acoustic tokenizer")

    def save(self, path: str | Path) -> None:
        obj = {"type": "unigram", "vocab": self._vocab, "logprobs": [float(x) for x in self.logprobs],
               "eos_logprob": self.eos_logprob, "blank_id": self.blank_id}
        Path(path).write_text(json.dumps(obj) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path) -> UnigramLM:
        path = Path(path)
        try:
            obj = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
            raise UserError(f"{path}: cannot read unigram LM ({err})") from None
        if not isinstance(obj, dict) or obj.get("type") != "unigram":
            raise UserError(f"{path}: not a unigram LM (expected a JSON object with \"type\": \"unigram\")")
        try:
            logp = torch.tensor([float("-inf") if x is None else float(x) for x in obj["logprobs"]])
            return cls(logp, obj["vocab"], float(obj.get("eos_logprob", 0.0)), obj.get("blank_id", 0), path)
        except (KeyError, TypeError, ValueError) as err:
            raise UserError(f"{path}: malformed unigram LM ({err})") from None
