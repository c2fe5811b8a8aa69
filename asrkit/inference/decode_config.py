"""Every knob of a decoding run in one place, so ``asrkit tune`` can write what ``asrkit decode`` reads.

A tuned config is a JSON object with these field names (``asrkit decode --config tuned.json``); flags
given on the command line override it. Files are written with ``"format": 2``; a file without it was written
by an asrkit before the engine of issue 11 and is read with the meanings it had then (:func:`upgrade`).
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path

from asrkit.errors import UserError
from asrkit.inference.methods import METHODS, get_method
from asrkit.utils.config_io import from_dict, read_json_object

__all__ = ["CTC_BEAM", "FORMAT", "METHODS", "MODEL_DEFAULTS", "DecodeConfig", "decoding_config", "model_defaults",
           "upgrade"]

CTC_BEAM = 8  # a CTC model's beam (hypotheses of the prefix search) when none is given
FORMAT = 2  # "format" of the files save() writes; files without one are read by upgrade()
_FINITE = ("lm_weight", "source_weight", "ilm_weight", "insertion_bonus", "word_bonus", "blank_penalty", "oov_penalty",
           "length_penalty", "eos_bias", "hotword_weight", "token_min_logp", "beam_prune_logp")  # check(): finite
MODEL_DEFAULTS = "decoding.json"  # in a model folder: the settings its card recommends (model_defaults)


@dataclass
class DecodeConfig:
    method: str = "greedy"
    beam: int | None = None  # hypotheses kept; None: the head's default (CTC_BEAM; a speech LLM's num_beams, MooER 4)
    nbest: int = 8  # hypotheses of the first pass that ``rescore`` re-ranks
    # Pre-beam: CTC units tried per frame (default: beam); speech LLM: tokens per step the scorers see (2 * beam).
    prune_topk: int | None = None
    token_min_logp: float | None = None  # CTC pre-beam: also skip units with log p below this (e.g. -8)
    beam_prune_logp: float | None = None  # CTC: drop prefixes this far below the frame's best (e.g. 10)
    recombine: bool = False  # CTC: drop prefixes that another prefix with the same scorer states dominates
    lm: str | None = None  # external (target) LM: ARPA/KenLM binary, LM folder, or Hugging Face causal LM folder
    lm_weight: float = 0.5  # lambda
    source_lm: str | None = None  # density_ratio / lodr: LM of the acoustic model's training text
    source_weight: float = 0.3  # mu, subtracted
    ilm: str | None = None  # ilme on CTC: label prior JSON (asrkit lm prior); speech LLM: its prompt-only LM
    ilm_weight: float = 0.3  # mu, subtracted
    insertion_bonus: float = 0.0  # per unit, a scorer of every beam search (not tlg: it has no units)
    word_bonus: float = 0.0  # per completed word (pyctcdecode's beta), a scorer of every beam search; tlg too
    blank_penalty: float = 0.0  # CTC: subtracted from log p(blank) of every frame (fewer deletions)
    oov_penalty: float = -10.0  # word LMs over BPE units: a spelling that leaves the LM's vocabulary
    graph: str | None = None  # tlg: graph folder (asrkit lm tlg)
    search_beam: float = 16.0  # tlg: log-score margin of the Viterbi search (icefall's search_beam)
    max_active: int = 7000  # tlg: active states per frame
    task: str = "asr"  # speech LLM: asr | ast | asr_ast
    length_penalty: float = 0.8  # speech LLM: score / |y|^alpha (MooER's default)
    eos_bias: float = -0.2  # speech LLM: added to log p(eos) (MooER's sequence_bias)
    max_new_tokens: int = 200
    hotwords: str | None = None  # hotword file (phrase[<TAB>weight] per line): a context-graph scorer
    hotword_weight: float = 3.0  # bonus per matched hotword unit (times the phrase's weight); tuned: docs/hotwords.md
    hotword_beam: int = 2  # CTC: beam slots kept for partial hotword matches; the others rank without their bonus
    hotword_fuzzy: float = 0.0  # unknown output words this close (normalised edits) to a hotword become it; 0 = off
    hotword_check: float = 0.0  # CTC: unknown output words the emissions spell as a hotword within this many nats
    # per unit of the best frame path become it; 0 = off (asrkit/inference/hotword_check.py)
    hotword_reject: float = 0.0  # CTC: a hotword the search wrote more than this many nats per unit below the best
    # frame path over its frames becomes that path's reading when it is real words; 0 = off (same module)
    known_words: str | None = None  # text/ARPA file of real words (--hotword-fuzzy/-check/-reject)
    ctc_weight: float = 0.0  # speech LLM, asr: weight of the adapter CTC prefix score (joint CTC/attention)
    llm: str | None = None  # speech LLM: the local Qwen2 folder a MooER release runs on (recorded by asrkit tune)

    def check(self) -> DecodeConfig:
        """The checks that need no model: the method exists and has the flags it needs (methods.py)."""
        get_method(self.method).check_config(self)
        if (self.beam is not None and self.beam < 1) or self.nbest < 1:
            raise UserError("--beam and --nbest must be at least 1")
        if self.prune_topk is not None and self.prune_topk < 1:
            raise UserError(f"--prune-topk must be at least 1, not {self.prune_topk}")
        if self.hotwords and get_method(self.method).search != "beam":
            raise UserError(f"--hotwords needs a beam search method (beam, shallow_fusion, rescore, density_ratio, "
                            f"lodr, ilme), not --method {self.method}: TLG's graph and greedy search are not biased")
        if self.hotword_beam < 0:
            raise UserError(f"--hotword-beam must be >= 0, not {self.hotword_beam}")
        if self.hotwords:
            from asrkit.inference.hotwords import read_hotwords

            read_hotwords(self.hotwords)  # a missing or empty file is refused before any model loads
        if not 0 <= self.hotword_fuzzy < 1:
            raise UserError(f"--hotword-fuzzy is a normalised edit distance in [0, 1), not {self.hotword_fuzzy}")
        for flag, value in (("--hotword-check", self.hotword_check), ("--hotword-reject", self.hotword_reject)):
            if not 0 <= value < float("inf"):
                raise UserError(f"{flag} is a cost in nats per unit, >= 0 and finite, not {value}")
        for flag, value in (("--hotword-fuzzy", self.hotword_fuzzy), ("--hotword-check", self.hotword_check),
                            ("--hotword-reject", self.hotword_reject)):
            if value and not (self.hotwords and self.known_words):
                raise UserError(f"{flag} needs --hotwords and --known-words (the real words it must never "
                                "replace, e.g. the LM's text)")
        if not 0 <= self.ctc_weight < float("inf"):
            raise UserError(f"--ctc-weight must be >= 0 and finite, not {self.ctc_weight}")
        if self.ctc_weight and (get_method(self.method).search != "beam" or self.task != "asr"):
            raise UserError("--ctc-weight (joint CTC/attention decoding on a speech LLM) needs a beam search method "
                            f"and --task asr: the adapter CTC reads the spoken words (got --method {self.method}, "
                            f"--task {self.task})")
        if not 0 < self.search_beam < float("inf"):
            raise UserError(f"--search-beam must be positive and finite, not {self.search_beam}")
        # A NaN or infinite weight makes every hypothesis's score NaN (-inf times a zero weight too): the search
        # would write empty or arbitrary text without a word of warning.
        for name in _FINITE:
            value = getattr(self, name)
            if value is not None and not math.isfinite(value):
                raise UserError(f"--{name.replace('_', '-')} must be a finite number, not {value}")
        return self

    def beam_or(self, default: int) -> int:
        """The beam size: ``beam`` if set, else the decoding head's ``default``."""
        return default if self.beam is None else self.beam

    def to_dict(self) -> dict:
        return asdict(self)

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps({"format": FORMAT, **self.to_dict()}, indent=2) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path, defaults: dict | None = None, **overrides) -> DecodeConfig:
        """A config file (e.g. written by ``asrkit tune``) over ``defaults`` (fields it does not set), then
        ``overrides`` that are not None."""
        path = Path(path)
        obj = read_json_object(path, "decoding config")
        # Unknown keys and wrong types ("beam": "8") are refused here, naming the file and key, before any
        # model loads (asrkit/utils/config_io.py); the upgraded object is checked again.
        from_dict(cls, {k: v for k, v in obj.items() if k != "format"}, str(path))
        obj = {**(defaults or {}), **upgrade(obj, str(path))}
        obj.update({k: v for k, v in overrides.items() if v is not None})
        return from_dict(cls, obj, str(path))


_PATHS = ("lm", "source_lm", "ilm", "graph", "hotwords", "known_words", "llm")  # DecodeConfig's file/folder fields


def model_defaults(model_dir: str | Path) -> dict:
    """The decoding settings a model folder recommends: its ``decoding.json`` (any DecodeConfig fields, e.g. the
    hotword weight tuned for a character model, whose names have 2-3 times the units of BPE pieces), or {}. A
    relative path in it (an LM shipped with the model) is read from the model folder."""
    path = Path(model_dir) / MODEL_DEFAULTS
    if not path.is_file():
        return {}
    obj = read_json_object(path, "model's decoding defaults")
    from_dict(DecodeConfig, obj, str(path))  # unknown keys and wrong types: one line naming the file
    return {k: str(Path(model_dir) / v) if k in _PATHS and v and not Path(v).is_absolute() else v
            for k, v in obj.items()}


def decoding_config(config: str | Path | None, settings: dict, model_dir: str | Path | None = None) -> DecodeConfig:
    """A run's settings, the one way they are put together: DecodeConfig's defaults, then the model folder's
    ``decoding.json``, then the ``--config`` file, then ``settings`` (flags, keyword arguments) not None."""
    defaults = model_defaults(model_dir) if model_dir is not None else {}
    if config is not None:
        return DecodeConfig.load(config, defaults, **settings)
    return DecodeConfig(**{**defaults, **{k: v for k, v in settings.items() if v is not None}})


def upgrade(obj: dict, where: str) -> dict:
    """A config object as this asrkit reads it. Files without ``"format"`` come from before format 2, when

    - ``beam`` was also TLG's log-score margin (``--method tlg`` ran with ``float(beam)``, e.g. 8.0): for
      ``tlg`` it becomes ``search_beam`` (the margin the weights were tuned with) and ``beam`` is dropped;
    - ``insertion_bonus`` was per word for ``rescore`` and ``tlg`` (per unit elsewhere): for those two it
      becomes ``word_bonus``.

    So an old ``best.json`` decodes as it did when it was tuned (for ``rescore`` up to the first pass, which
    now also sees the word bonus).
    """
    obj = dict(obj)
    version = obj.pop("format", 1)
    if version not in (1, FORMAT):
        raise UserError(f"{where}: decoding config format {version!r} is newer than this asrkit reads ({FORMAT})")
    if version == FORMAT:
        return obj
    method = obj.get("method", "greedy")
    if method == "tlg" and "search_beam" not in obj:
        beam = obj.pop("beam", None)
        if beam is not None:
            obj["search_beam"] = float(beam)
    if method in ("tlg", "rescore") and "word_bonus" not in obj and "insertion_bonus" in obj:
        obj["word_bonus"] = obj.pop("insertion_bonus")
    return obj
