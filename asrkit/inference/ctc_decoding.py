"""Decoding methods on a CTC head: a :class:`DecodeConfig` turned into a search over CTC log-probabilities.

Each method is a named function in ``decoders/`` that returns a list of weighted scorers; this module only
loads the LMs the config names and runs the one CTC prefix search (or the TLG decoder) with them.
"""

from __future__ import annotations

from pathlib import Path

import torch

from asrkit.errors import UserError
from asrkit.inference.decode_config import CTC_BEAM, DecodeConfig
from asrkit.tokenizer import Tokenizer
from decoders import ctc_greedy_search
from decoders.ctc_prefix_beam import ctc_prefix_beam_search_batch
from decoders.density_ratio import density_ratio, lodr
from decoders.ilme import ilme
from decoders.rescoring import rescore_nbest
from decoders.scorer import WeightedScorer
from decoders.shallow_fusion import shallow_fusion


def load_token_lm(path: str | Path, tokenizer: Tokenizer, oov_penalty: float = -10.0):
    """Any LM that can score the acoustic units: token LMs as they are, word n-grams through the BPE adapter."""
    from lm.load import load_lm
    from lm.ngram.word_fusion import as_token_lm

    lm = load_lm(path, tokenizer=tokenizer.path)
    if lm.unit == "token" and len(lm.vocab) != tokenizer.vocab_size:
        raise UserError(f"{path}: the LM has {len(lm.vocab)} units but the acoustic model has {tokenizer.vocab_size}; "
                        "a token-level LM must be built with the acoustic model's tokenizer")
    return as_token_lm(lm, tokenizer, oov_penalty)


def load_ctc_ilm(path: str | Path, tokenizer: Tokenizer):
    """The internal LM of a CTC head: a label prior (``asrkit lm prior``)."""
    from lm.unigram import UnigramLM

    ilm = UnigramLM.load(path)
    if len(ilm.vocab) != tokenizer.vocab_size:
        raise UserError(f"{path}: prior has {len(ilm.vocab)} units but the acoustic model has {tokenizer.vocab_size}")
    return ilm


class CTCDecoding:
    """``CTCDecoding(cfg, tokenizer)(log_probs, lengths) -> texts``."""

    def __init__(self, cfg: DecodeConfig, tokenizer: Tokenizer):
        self.cfg = cfg.check()
        self.tokenizer = tokenizer
        self.scorers: list[WeightedScorer] = []
        self.rescorers: list[WeightedScorer] = []
        self.tlg = None
        m = cfg.method
        if m == "tlg":
            from decoders.tlg import TLGDecoder

            self.tlg = TLGDecoder.load(cfg.graph, tokenizer)
            return
        if m in ("greedy", "beam"):
            return
        if m == "rescore":
            from lm.load import load_lm

            self.rescorers = shallow_fusion(load_lm(cfg.lm, tokenizer=tokenizer.path), cfg.lm_weight)
            return
        lm = load_token_lm(cfg.lm, tokenizer, cfg.oov_penalty)
        if m == "shallow_fusion":
            self.scorers = shallow_fusion(lm, cfg.lm_weight)
        elif m == "density_ratio":
            self.scorers = density_ratio(lm, cfg.lm_weight, load_token_lm(cfg.source_lm, tokenizer), cfg.source_weight)
        elif m == "lodr":
            self.scorers = lodr(lm, cfg.lm_weight, load_token_lm(cfg.source_lm, tokenizer), cfg.source_weight)
        elif m == "ilme":
            if not cfg.ilm:
                raise UserError("--method ilme on a CTC model needs --ilm PRIOR.json (make it with `asrkit lm prior`)")
            self.scorers = ilme(lm, cfg.lm_weight, load_ctc_ilm(cfg.ilm, tokenizer), cfg.ilm_weight)

    def __call__(self, log_probs: torch.Tensor, lengths: torch.Tensor) -> list[str]:
        cfg, tok = self.cfg, self.tokenizer
        if cfg.blank_penalty:
            # Blank-heavy CTC outputs delete words under an LM; a per-frame blank cost counters it
            # (the blank penalty of icefall/sherpa decoding).
            log_probs = log_probs.clone()
            log_probs[..., tok.blank_id] -= cfg.blank_penalty
        if cfg.method == "greedy":
            return [tok.decode(h) for h in ctc_greedy_search(log_probs, lengths, tok.blank_id)]
        if self.tlg is not None:
            return [" ".join(words) for words in self.tlg.decode_batch(
                log_probs, lengths, beam=float(cfg.beam_or(CTC_BEAM)), max_active=cfg.max_active,
                lm_weight=cfg.lm_weight, word_penalty=-cfg.insertion_bonus)]
        nbest = cfg.nbest if self.rescorers else 1
        bonus = 0.0 if self.rescorers else cfg.insertion_bonus
        batch = ctc_prefix_beam_search_batch(log_probs, lengths, max(cfg.beam_or(CTC_BEAM), nbest), self.scorers,
                                             cfg.prune_topk, bonus, tok.blank_id, nbest, cfg.token_min_logp,
                                             cfg.beam_prune_logp)
        out = []
        for hyps in batch:
            if self.rescorers:
                hyps = rescore_nbest(hyps, [tok.decode(h.units) for h in hyps], self.rescorers, cfg.insertion_bonus)
            out.append(tok.decode(hyps[0].units) if hyps else "")
        return out
