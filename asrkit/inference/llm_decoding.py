"""Decoding methods on a speech LLM head: the same named methods as for CTC, run by the autoregressive search.

The head is the LLM conditioned on each utterance's audio and prompt (``SpeechLLM.prefix_lm``). External
LMs must score the LLM's own tokens (a token n-gram built with the LLM's tokenizer, a word n-gram through
the BPE adapter, or a causal LM sharing the tokenizer); ``rescore`` works with any LM because it re-encodes
the text. ILME's internal LM is the LLM on the prompt with the audio removed (``SpeechLLM.prompt_only_lm``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from asrkit.errors import UserError
from asrkit.inference.decode_config import DecodeConfig
from decoders.ar_beam import ar_beam_search
from decoders.density_ratio import density_ratio, lodr
from decoders.ilme import ilme
from decoders.rescoring import rescore_nbest
from decoders.scorer import WeightedScorer
from decoders.shallow_fusion import shallow_fusion


class LLMDecoding:
    """``LLMDecoding(cfg, speech_llm)(waves) -> texts``."""

    def __init__(self, cfg: DecodeConfig, model):
        self.cfg = cfg.check()
        self.model = model
        # Without --beam a speech LLM searches with its own generation setting (MooER: 4 beams).
        self.beam = 1 if cfg.method == "greedy" else cfg.beam_or(model.config.generation.num_beams)
        if cfg.method == "tlg":
            raise UserError("--method tlg needs a CTC model (a TLG graph is built over CTC units)")
        self.scorers: list[WeightedScorer] = []
        self.rescorers: list[WeightedScorer] = []
        self._lm = None
        m = cfg.method
        if m in ("greedy", "beam"):
            return
        from lm.load import load_lm

        if m == "rescore":
            self.rescorers = shallow_fusion(load_lm(cfg.lm, tokenizer=self._spm_path()), cfg.lm_weight)
            return
        lm = self._token_lm(cfg.lm)
        if m == "shallow_fusion":
            self.scorers = shallow_fusion(lm, cfg.lm_weight)
        elif m == "density_ratio":
            self.scorers = density_ratio(lm, cfg.lm_weight, self._token_lm(cfg.source_lm), cfg.source_weight)
        elif m == "lodr":
            self.scorers = lodr(lm, cfg.lm_weight, self._token_lm(cfg.source_lm), cfg.source_weight)
        elif m == "ilme":
            self._lm = lm  # the internal LM is built per batch (it needs the batch size)

    def _spm_path(self):
        return getattr(self.model.tokenizer, "path", None)

    def _token_lm(self, path):
        from lm.load import load_lm
        from lm.ngram.word_fusion import as_token_lm

        lm = load_lm(path, tokenizer=self._spm_path())
        n_vocab = len(self.model.tokenizer.pieces())
        if lm.unit == "token" and len(lm.vocab) < n_vocab:
            raise UserError(f"{path}: the LM has {len(lm.vocab)} units but the speech LLM's tokenizer has {n_vocab}; "
                            "token-level fusion needs an LM over the LLM's tokenizer")
        return as_token_lm(lm, self.model.tokenizer, self.cfg.oov_penalty)

    def __call__(self, waves: Sequence[np.ndarray]) -> list[str]:
        cfg, model = self.cfg, self.model
        head = model.prefix_lm(list(waves), cfg.task)
        scorers = self.scorers
        if self._lm is not None:
            scorers = ilme(self._lm, cfg.lm_weight, model.prompt_only_lm(cfg.task, len(waves)), cfg.ilm_weight)
        nbest = cfg.nbest if self.rescorers else 1
        results = ar_beam_search(head, len(waves), head.eos_id, beam=max(self.beam, nbest), scorers=scorers,
                                 max_new_tokens=cfg.max_new_tokens, length_penalty=cfg.length_penalty,
                                 eos_bias=cfg.eos_bias, nbest=nbest)
        out = []
        for hyps in results:
            if self.rescorers:
                texts = [head.tokenizer.decode(list(h.units)) for h in hyps]
                hyps = rescore_nbest(hyps, texts, self.rescorers, cfg.insertion_bonus)
            out.append(head.tokenizer.decode(list(hyps[0].units)) if hyps else "")
        return out
