"""Every decoding method, declared once for both heads (CTC and the speech LLM's autoregressive head).

A method is a search plus a list of weighted scorers (ESPnet's scorer idea, ``decoders/scorer.py``). Each
:class:`Method` below says which config fields it needs (``lm``, ``source_lm``, ``ilm``, ``graph``), which
search runs it (``greedy``, ``beam`` or ``graph``), how its LM scorers are built from the loaded LMs, and
whether a second pass re-ranks the n-best. The engine (:mod:`asrkit.inference.engine`) adds the length
bonuses to every beam search's scorer list and runs the head's search, so adding a method is one entry in
:data:`REGISTRY` (its equation lives in the named function of ``decoders/`` that builds its scorers).

LMs are opened here, once, by :class:`Resources`: :func:`load_token_lm` is the one way any LM becomes a
scorer over a head's units (token LMs checked unit by unit, word n-grams through the BPE adapter, both
with ``--oov-penalty``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from asrkit.errors import UserError
from decoders.density_ratio import density_ratio, lodr
from decoders.ilme import ilme
from decoders.scorer import WeightedScorer
from decoders.shallow_fusion import shallow_fusion
from lm.interface import LanguageModel

if TYPE_CHECKING:
    from asrkit.inference.decode_config import DecodeConfig
    from asrkit.inference.heads import Head

# The command-line flag of each config field a method can need (for one-line errors).
HEAD_NAMES = {"ctc": "CTC", "ar": "speech LLM"}
FLAG = {"lm": "--lm", "source_lm": "--source-lm", "ilm": "--ilm", "graph": "--graph"}
WHY = {"source_lm": " (an LM of the acoustic training text)", "graph": " (a folder made by `asrkit lm tlg`)"}


def check_units(lm: LanguageModel, units: Sequence[str], where: str) -> None:
    """A token-level LM (or label prior) must score the model's units: the same unit strings at the same ids.

    It may have more units than the model (a causal LM's output layer is often padded past its
    tokenizer); those are never asked for.
    """
    have = lm.vocab
    if len(have) < len(units):
        raise UserError(f"{where}: the LM has {len(have)} units but the model has {len(units)}; a token-level LM "
                        "must be built with the model's tokenizer")
    for i, (a, b) in enumerate(zip(have, units)):
        if a != b:
            raise UserError(f"{where}: unit {i} is {a!r} in the LM but {b!r} in the model; a token-level LM must "
                            "be built with the model's tokenizer")


def load_token_lm(path: str, tokenizer: Any, oov_penalty: float = -10.0,
                  extra_words: Sequence[str] = ()) -> LanguageModel:
    """Any LM as a scorer over ``tokenizer``'s units (a CTC model's sentencepiece or a speech LLM's tokens):
    token LMs as they are (checked by :func:`check_units`), word n-grams through the BPE adapter
    (:mod:`lm.ngram.word_fusion`, ``oov_penalty`` for spellings that leave the LM's vocabulary and are not
    ``extra_words``)."""
    from lm.load import load_lm
    from lm.ngram.word_fusion import as_token_lm

    lm = load_lm(path, tokenizer=getattr(tokenizer, "path", None))
    if lm.unit == "token":
        check_units(lm, tokenizer.pieces(), str(path))
    return as_token_lm(lm, tokenizer, oov_penalty, extra_words)


class Resources:
    """What a method's scorers are built from, each loaded on first use (once per engine) for one head."""

    def __init__(self, cfg: DecodeConfig, head: Head, hotword_words: Sequence[str] = ()):
        self.cfg = cfg
        self.head = head
        # The words of the search's hotword phrases and aliases: word LMs spare them the OOV penalty.
        self.hotword_words = tuple(hotword_words)
        self._cache: dict[str, Any] = {}

    def _once(self, name: str, load: Callable[[], Any]) -> Any:
        if name not in self._cache:
            self._cache[name] = load()
        return self._cache[name]

    def lm(self) -> LanguageModel:
        """``--lm`` over the head's units."""
        return self._once("lm", lambda: load_token_lm(self.cfg.lm, self.head.tokenizer, self.cfg.oov_penalty,
                                                      self.hotword_words))

    def source_lm(self) -> LanguageModel:
        """``--source-lm`` over the head's units (the same ``--oov-penalty`` and spared words as ``--lm``)."""
        return self._once("source_lm", lambda: load_token_lm(self.cfg.source_lm, self.head.tokenizer,
                                                             self.cfg.oov_penalty, self.hotword_words))

    def ilm(self) -> LanguageModel:
        """The head's internal LM (CTC: the ``--ilm`` label prior; speech LLM: itself without audio)."""
        return self._once("ilm", lambda: self.head.internal_lm(self.cfg.ilm))

    def text_lm(self) -> LanguageModel:
        """``--lm`` as it is, with its own units: rescoring re-encodes the hypothesis text."""
        from lm.load import load_lm

        return self._once("text_lm", lambda: load_lm(self.cfg.lm, tokenizer=getattr(self.head.tokenizer, "path",
                                                                                     None)))

    def graph(self) -> Any:
        """The ``--graph`` TLG decoder, checked against the head's tokenizer."""
        from decoders.tlg import TLGDecoder

        return self._once("graph", lambda: TLGDecoder.load(self.cfg.graph, self.head.tokenizer))


ScorerBuilder = Callable[[Resources, "DecodeConfig"], list[WeightedScorer]]


def _no_scorers(res: Resources, cfg: DecodeConfig) -> list[WeightedScorer]:
    return []


def _refuse_beam(method: str, cfg: DecodeConfig) -> None:
    """TLG has no hypothesis count: a ``--beam`` given to it was meant as the old log-score margin."""
    if cfg.beam is not None:
        raise UserError(f"--method {method}: --beam counts the hypotheses of the beam searches; TLG's log-score "
                        f"margin is --search-beam (default 16)")
    if cfg.insertion_bonus:
        raise UserError(f"--method {method} scores words, not units: use --word-bonus instead of --insertion-bonus")


@dataclass(frozen=True)
class Method:
    """One decoding method.

    ``search``: ``greedy`` (CTC best path; 1-best autoregressive search), ``beam`` (the head's beam search
    over ``scorers`` plus the length bonuses) or ``graph`` (TLG Viterbi search, CTC only).
    ``needs``: config fields it reads LMs or graphs from (``ilm`` is the head's business: a CTC head needs
    ``--ilm``, a speech LLM refuses it). ``scorers``: the first pass's LM scorers. ``rescorers``: when set,
    the first pass keeps ``--nbest`` hypotheses and these re-rank them on their text.
    """

    name: str
    ranks: str  # what a hypothesis is ranked by, for --help and docs
    search: str = "beam"
    needs: tuple[str, ...] = ()
    scorers: ScorerBuilder = _no_scorers
    rescorers: ScorerBuilder | None = None
    heads: tuple[str, ...] = ("ctc", "ar")
    check: Callable[[str, DecodeConfig], None] | None = None
    head_note: str = ""  # why it is limited to ``heads``

    def check_config(self, cfg: DecodeConfig) -> None:
        """Head-independent checks: the flags it needs are given; then the method's own rules."""
        for field in self.needs:
            if field != "ilm" and not getattr(cfg, field):
                raise UserError(f"--method {self.name} needs {FLAG[field]}{WHY.get(field, '')}")
        if self.check is not None:
            self.check(self.name, cfg)

    def check_head(self, head: Head) -> None:
        if head.kind not in self.heads:
            kinds = " or ".join(HEAD_NAMES[k] for k in self.heads)
            raise UserError(f"--method {self.name} needs a {kinds} model{self.head_note}")


REGISTRY: dict[str, Method] = {m.name: m for m in (
    Method("greedy", "best path (CTC) / 1-best (speech LLM); no scorers", search="greedy"),
    Method("beam", "log p_AM(y|x) + bonuses"),
    Method("shallow_fusion", "log p_AM + λ log p_LM + bonuses", needs=("lm",),
           scorers=lambda r, c: shallow_fusion(r.lm(), c.lm_weight)),
    Method("rescore", "first pass (beam + bonuses) + λ log p_LM(text)", needs=("lm",),
           rescorers=lambda r, c: shallow_fusion(r.text_lm(), c.lm_weight)),
    Method("density_ratio", "log p_AM + λ log p_LM − μ log p_source + bonuses", needs=("lm", "source_lm"),
           scorers=lambda r, c: density_ratio(r.lm(), c.lm_weight, r.source_lm(), c.source_weight)),
    Method("lodr", "density_ratio with a low-order (≤ 2) source n-gram", needs=("lm", "source_lm"),
           scorers=lambda r, c: lodr(r.lm(), c.lm_weight, r.source_lm(), c.source_weight)),
    Method("ilme", "log p_AM + λ log p_LM − μ log p_ILM + bonuses", needs=("lm", "ilm"),
           scorers=lambda r, c: ilme(r.lm(), c.lm_weight, r.ilm(), c.ilm_weight)),
    Method("tlg", "Viterbi over T∘L∘G: log p_CTC + λ ln p_G + word bonus", search="graph", needs=("graph",),
           heads=("ctc",), check=_refuse_beam, head_note=" (a TLG graph is built over CTC units)"),
)}
METHODS = tuple(REGISTRY)


def get_method(name: str) -> Method:
    if name not in REGISTRY:
        raise UserError(f"unknown decoding method {name!r} (available: {', '.join(METHODS)})")
    return REGISTRY[name]
