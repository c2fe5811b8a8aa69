"""What a model gives the decoding engine: a *head* turns audio into something one search can decode.

- :class:`CTCHead`: a CTC model's log-probabilities (B, T, V) and frame counts, searched frame-synchronously
  (CTC best path, CTC prefix beam search, TLG).
- :class:`SpeechLLMHead`: a speech LLM conditioned on each utterance's audio and prompt, a
  :class:`~lm.interface.LanguageModel` (:class:`~asrkit.models.speech_llm.conditioned_lm.ConditionedLM`)
  searched token by token (:func:`decoders.ar_beam.ar_beam_search`).

Both give the engine the same things: their units (for LM checks and length bonuses), a greedy search, a
beam search over weighted scorers, their internal LM (ILME) and text. A new kind of model (an attention
decoder, a transducer) is a new head with these methods; :func:`make_head` picks the head a model fits.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import cached_property
from typing import Any, Protocol

import numpy as np
import torch

from asrkit.errors import UserError
from asrkit.inference.decode_config import CTC_BEAM, DecodeConfig
from decoders.bonus import UnitBonus, WordBonus
from decoders.hypothesis import Hypothesis
from decoders.scorer import WeightedScorer
from lm.interface import LanguageModel

Emissions = tuple[torch.Tensor, torch.Tensor]  # CTC log-probabilities (B, T, V), valid frames (B,)


class Head(Protocol):
    kind: str  # "ctc" or "ar": the methods of asrkit.inference.methods say which kinds they run on
    tokenizer: Any
    default_beam: int  # beam size when the config gives none
    cache_acoustics: bool  # whether `asrkit tune` may keep a whole dev set's acoustic pass in memory

    @property
    def units(self) -> list[str]: ...

    def acoustics(self, waves: Sequence[np.ndarray]) -> Any: ...

    def emissions(self, waves: Sequence[np.ndarray]) -> Emissions: ...

    def prepare(self, acoustics: Any, cfg: DecodeConfig) -> Any: ...

    def greedy(self, acoustics: Any, cfg: DecodeConfig) -> list[list[int]]: ...

    def beam_search(self, acoustics: Any, scorers: list[WeightedScorer], cfg: DecodeConfig, beam: int,
                    nbest: int) -> list[list[Hypothesis]]: ...

    def internal_lm(self, path: str | None) -> LanguageModel: ...

    def text(self, units: Sequence[int]) -> str: ...

    def unit_bonus(self) -> UnitBonus: ...

    def word_bonus(self) -> WordBonus: ...


class _Units:
    """Unit strings and the length-bonus scorers over them, built once per head."""

    tokenizer: Any
    decode_one: Callable[[int], str] | None = None  # a unit's text, for word boundaries of byte-level tokens

    @cached_property
    def units(self) -> list[str]:
        return list(self.tokenizer.pieces())

    def unit_bonus(self) -> UnitBonus:
        return self._unit_bonus

    def word_bonus(self) -> WordBonus:
        return self._word_bonus

    @cached_property
    def _unit_bonus(self) -> UnitBonus:
        return UnitBonus(self.units)

    @cached_property
    def _word_bonus(self) -> WordBonus:
        return WordBonus(self.units, self.decode_one)


class CTCHead(_Units):
    """A CTC model (or, for decoding given log-probabilities, just its tokenizer)."""

    kind = "ctc"
    cache_acoustics = True  # (T, V) floats per utterance: small

    def __init__(self, tokenizer: Any, model: torch.nn.Module | None = None, task: str = "asr"):
        if task != "asr":
            raise UserError(f"--task {task}: a CTC model only transcribes (asr); translation needs a speech "
                            "LLM, e.g. --model bible-en-speechllm-tiny")
        self.tokenizer = tokenizer
        self.model = model
        self.default_beam = CTC_BEAM

    @staticmethod
    def accepts(model: torch.nn.Module) -> bool:
        from asrkit.models import CTCModel
        from asrkit.models.hf_ctc import HFCTCModel  # a Hugging Face CTC folder
        from asrkit.models.onnx_ctc import OnnxCTCModel  # an exported CTC model, run by onnxruntime

        return isinstance(model, (CTCModel, OnnxCTCModel, HFCTCModel))

    def acoustics(self, waves: Sequence[np.ndarray]) -> Emissions:
        return self.emissions(waves)

    @torch.inference_mode()
    def emissions(self, waves: Sequence[np.ndarray]) -> Emissions:
        if self.model is None:
            raise ValueError("this CTC head was built from a tokenizer alone: give it log-probabilities")
        if not waves:
            return torch.zeros(0, 0, self.tokenizer.vocab_size), torch.zeros(0, dtype=torch.long)
        feats = [self.model.frontend(w) for w in waves]
        lengths = torch.tensor([f.size(0) for f in feats])
        batch = torch.nn.utils.rnn.pad_sequence(feats, batch_first=True)
        return self.model(batch, lengths)

    def prepare(self, acoustics: Emissions, cfg: DecodeConfig) -> Emissions:
        log_probs, lengths = acoustics
        if cfg.blank_penalty:
            # Blank-heavy CTC outputs delete words under an LM; a per-frame blank cost counters it
            # (the blank penalty of icefall/sherpa decoding).
            log_probs = log_probs.clone()
            log_probs[..., self.tokenizer.blank_id] -= cfg.blank_penalty
        return log_probs, lengths

    def greedy(self, acoustics: Emissions, cfg: DecodeConfig) -> list[list[int]]:
        from decoders.ctc_greedy import ctc_greedy_search

        return ctc_greedy_search(*acoustics, self.tokenizer.blank_id)

    def beam_search(self, acoustics: Emissions, scorers: list[WeightedScorer], cfg: DecodeConfig, beam: int,
                    nbest: int) -> list[list[Hypothesis]]:
        from decoders.ctc_prefix_beam import ctc_prefix_beam_search_batch

        # Bonuses are in ``scorers`` (UnitBonus, WordBonus), so the search's own insertion bonus stays at its 0.
        log_probs, lengths = acoustics
        try:
            return ctc_prefix_beam_search_batch(log_probs, lengths, beam=beam, scorers=scorers,
                                                prune_topk=cfg.prune_topk, blank_id=self.tokenizer.blank_id,
                                                nbest=nbest, token_min_logp=cfg.token_min_logp,
                                                beam_prune_logp=cfg.beam_prune_logp, hotword_beam=cfg.hotword_beam,
                                                recombine=cfg.recombine)
        except ValueError as err:
            if cfg.recombine and str(err).startswith("recombine"):
                raise UserError(f"--{err}") from None
            raise

    def graph_search(self, acoustics: Emissions, graph: Any, cfg: DecodeConfig) -> list[str]:
        """TLG (``decoders.tlg``): ``--search-beam`` is its log-score margin, ``--word-bonus`` its word bonus."""
        log_probs, lengths = acoustics
        return [" ".join(words) for words in graph.decode_batch(
            log_probs, lengths, beam=cfg.search_beam, max_active=cfg.max_active, lm_weight=cfg.lm_weight,
            word_penalty=-cfg.word_bonus)]

    def internal_lm(self, path: str | None) -> LanguageModel:
        """A CTC head has no label context, so its internal LM is its label prior (``asrkit lm prior``)."""
        from asrkit.inference.methods import check_units
        from lm.unigram import UnigramLM

        if not path:
            raise UserError("--method ilme on a CTC model needs --ilm PRIOR.json (make it with `asrkit lm prior`)")
        prior = UnigramLM.load(path)
        check_units(prior, self.units, str(path))
        return prior

    def text(self, units: Sequence[int]) -> str:
        return self.tokenizer.decode(list(units))


class PromptOnlyLM:
    """The speech LLM fed its prompt without audio, for any batch size: ILME's internal LM of a decoder-only
    speech model (Meng et al., 2021, "Internal language model estimation for domain-adaptive end-to-end
    speech recognition"). Every row starts from the same prefix, so it is computed once and its row copied."""

    unit = "token"

    def __init__(self, model: torch.nn.Module, task: str):
        self._lm = model.prompt_only_lm(task, 1)
        self._prefix = self._lm.init_state(1)

    @property
    def vocab(self) -> Sequence[str]:
        return self._lm.vocab

    def init_state(self, batch: int) -> Any:
        return self._lm.select_states(self._prefix, torch.zeros(batch, dtype=torch.long))

    def score(self, state: Any, candidates: torch.Tensor | None = None) -> torch.Tensor:
        return self._lm.score(state, candidates)

    def advance(self, state: Any, parents: torch.Tensor, units: torch.Tensor) -> Any:
        return self._lm.advance(state, parents, units)

    def final_score(self, state: Any) -> torch.Tensor:
        return self._lm.final_score(state)

    def select_states(self, state: Any, rows: torch.Tensor) -> Any:
        return self._lm.select_states(state, rows)

    def concat_states(self, states: Sequence[Any]) -> Any:
        return self._lm.concat_states(states)

    def score_sentences(self, sentences: Sequence[Sequence[int]]) -> torch.Tensor:
        return self._lm.score_sentences(sentences, rows=[0] * len(sentences))

    def encode_text(self, text: str) -> list[int]:
        return self._lm.encode_text(text)


class SpeechLLMHead(_Units):
    """A speech LLM: each utterance's audio and prompt condition the LLM (a KV cache), searched token by token."""

    kind = "ar"
    cache_acoustics = False  # a conditioned LM holds the LLM's KV cache of every utterance's prefix

    def __init__(self, model: torch.nn.Module, task: str = "asr"):
        model.prompt_ids(task)  # a task the model was not trained for is refused here, in one line
        self.model = model
        self.task = task
        self.tokenizer = model.tokenizer
        self.default_beam = int(model.config.generation.num_beams)
        # Byte-level tokens: a word starts at a token whose text starts with a space (decoders/bonus.py).
        self.decode_one = lambda i: self.tokenizer.decode([i])

    @staticmethod
    def accepts(model: torch.nn.Module) -> bool:
        return callable(getattr(model, "prefix_lm", None))

    def acoustics(self, waves: Sequence[np.ndarray]) -> Any:
        """The conditioned LM of these utterances (``SpeechLLM.prefix_lm``)."""
        return self.model.prefix_lm(list(waves), self.task)

    def emissions(self, waves: Sequence[np.ndarray]) -> Emissions:
        raise UserError("a speech LLM gives a conditioned LM, not CTC emissions")

    def prepare(self, acoustics: Any, cfg: DecodeConfig) -> Any:
        return acoustics

    def greedy(self, acoustics: Any, cfg: DecodeConfig) -> list[list[int]]:
        return [list(h[0].units) if h else [] for h in self.beam_search(acoustics, [], cfg, 1, 1)]

    def beam_search(self, acoustics: Any, scorers: list[WeightedScorer], cfg: DecodeConfig, beam: int,
                    nbest: int) -> list[list[Hypothesis]]:
        from decoders.ar_beam import ar_beam_search

        if cfg.ctc_weight:
            scorers = [*scorers, WeightedScorer(self.ctc_prefix_scorer(acoustics), cfg.ctc_weight, "ctc")]
        return ar_beam_search(acoustics, acoustics.batch_size, acoustics.eos_id, beam=beam, scorers=scorers,
                              max_new_tokens=cfg.max_new_tokens, length_penalty=cfg.length_penalty,
                              eos_bias=cfg.eos_bias, nbest=nbest, pre_beam=cfg.prune_topk)

    def ctc_prefix_scorer(self, acoustics: Any) -> LanguageModel:
        """Joint CTC/attention decoding (Watanabe et al., 2017): the adapter's CTC reading of each utterance
        (``SpeechLLM.adapter_ctc_log_probs``) as a prefix scorer over the LLM's tokens
        (decoders/ctc_prefix_score.py)."""
        from decoders.ctc_prefix_score import CTCPrefixScorer

        log_probs, lengths = self.model.adapter_ctc_log_probs(acoustics.audio)
        return CTCPrefixScorer(log_probs, lengths, self.tokenizer.pad_id, self.units)

    def internal_lm(self, path: str | None) -> LanguageModel:
        if path:
            raise UserError(f"--ilm {path}: a speech LLM's internal LM is the LLM itself fed the prompt without "
                            "audio; --ilm (a CTC label prior) does not apply, drop it")
        return PromptOnlyLM(self.model, self.task)

    def text(self, units: Sequence[int]) -> str:
        return self.tokenizer.decode(list(units))


HEADS = (CTCHead, SpeechLLMHead)


def make_head(model: torch.nn.Module, task: str = "asr") -> Head:
    """The head ``model`` fits (CTC or speech LLM) for ``task``."""
    if SpeechLLMHead.accepts(model):
        return SpeechLLMHead(model, task)
    if CTCHead.accepts(model):
        return CTCHead(model.tokenizer, model, task)
    raise TypeError(f"no decoding head for a {type(model).__name__} (heads: {', '.join(h.__name__ for h in HEADS)})")
