"""Every knob of a decoding run in one place, so ``asrkit tune`` can write what ``asrkit decode`` reads.

A tuned config is a JSON object with these field names (``asrkit decode --config tuned.json``); flags
given on the command line override it.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from asrkit.errors import UserError

METHODS = ("greedy", "beam", "shallow_fusion", "rescore", "density_ratio", "lodr", "ilme", "tlg")
NEEDS_LM = ("shallow_fusion", "rescore", "density_ratio", "lodr", "ilme", "tlg")
CTC_BEAM = 8  # a CTC model's beam (prefix search; TLG's lattice beam) when none is given


@dataclass
class DecodeConfig:
    method: str = "greedy"
    beam: int | None = None  # None: the head's own default (CTC_BEAM; a speech LLM's generation.num_beams, MooER 4)
    nbest: int = 8  # hypotheses of the first pass that ``rescore`` re-ranks
    prune_topk: int | None = None  # CTC pre-beam: units tried per frame (default: beam)
    token_min_logp: float | None = None  # CTC pre-beam: also skip units with log p below this (e.g. -8)
    beam_prune_logp: float | None = None  # CTC: drop prefixes this far below the frame's best (e.g. 10)
    lm: str | None = None  # external (target) LM: ARPA/KenLM binary, LM folder, or Hugging Face causal LM folder
    lm_weight: float = 0.5  # lambda
    source_lm: str | None = None  # density_ratio / lodr: LM of the acoustic model's training text
    source_weight: float = 0.3  # mu, subtracted
    ilm: str | None = None  # ilme on CTC: label prior JSON (asrkit lm prior); speech LLM: its prompt-only LM
    ilm_weight: float = 0.3  # mu, subtracted
    insertion_bonus: float = 0.0  # beta: per unit (search), per word (rescore, tlg)
    blank_penalty: float = 0.0  # CTC: subtracted from log p(blank) of every frame (fewer deletions)
    oov_penalty: float = -10.0  # word LMs over BPE units: a spelling that leaves the LM's vocabulary
    graph: str | None = None  # tlg: graph folder (asrkit lm tlg)
    max_active: int = 7000  # tlg: active states per frame
    task: str = "asr"  # speech LLM: asr | ast | asr_ast
    length_penalty: float = 0.8  # speech LLM: score / |y|^alpha (MooER's default)
    eos_bias: float = -0.2  # speech LLM: added to log p(eos) (MooER's sequence_bias)
    max_new_tokens: int = 200

    def check(self) -> DecodeConfig:
        if self.method not in METHODS:
            raise UserError(f"unknown decoding method {self.method!r} (available: {', '.join(METHODS)})")
        if self.method in NEEDS_LM and self.method != "tlg" and not self.lm:
            raise UserError(f"--method {self.method} needs --lm")
        if self.method in ("density_ratio", "lodr") and not self.source_lm:
            raise UserError(f"--method {self.method} needs --source-lm (an LM of the acoustic training text)")
        if self.method == "tlg" and not self.graph:
            raise UserError("--method tlg needs --graph (a folder made by `asrkit lm tlg`)")
        if (self.beam is not None and self.beam < 1) or self.nbest < 1:
            raise UserError("--beam and --nbest must be at least 1")
        return self

    def beam_or(self, default: int) -> int:
        """The beam size: ``beam`` if set, else the decoding head's ``default``."""
        return default if self.beam is None else self.beam

    def to_dict(self) -> dict:
        return asdict(self)

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), indent=2) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path, **overrides) -> DecodeConfig:
        """A config file (e.g. written by ``asrkit tune``), then ``overrides`` that are not None."""
        path = Path(path)
        try:
            obj = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
            raise UserError(f"{path}: cannot read decoding config ({err})") from None
        if not isinstance(obj, dict):
            raise UserError(f"{path}: a decoding config is a JSON object")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(obj) - known)
        if unknown:
            raise UserError(f"{path}: unknown decoding setting {unknown[0]!r}")
        obj.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**obj)
