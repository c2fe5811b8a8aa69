"""Viterbi beam search of CTC log-probabilities through a TLG graph with kaldi-decoder's ``FasterDecoder``.

What it maximises. kaldi-decoder minimises ``graph cost - sum_t loglik_t`` over paths of TLG, where
``loglik_t`` is what ``DecodableCtc`` returns for the arc's input label (column ``label - 1`` of the
matrix it is given). The matrix given is ``a * log p_CTC`` (``a`` = ``acoustic_scale``; the blank
column lowered by ``blank_penalty`` first), and every arc that outputs a word costs ``a * word_penalty``
more. So the search returns

    W* = argmax_W  max_{pi: B(pi) spells W}  a * log p_CTC(pi | x) + ln p_G(W </s>) - a * word_penalty * |W|

the best single CTC alignment ``pi`` (Viterbi, not the sum over alignments of the prefix beam search)
whose collapsed token sequence ``B(pi)`` is the lexicon spelling of ``W``, up to the search's pruning
(``beam``: paths whose cost is more than ``beam`` above the frame's best are dropped, in these scaled
units; ``max_active``: at most that many states per frame). Dividing by ``a`` gives the same ranking in
the shallow-fusion form used by asrkit's other decoders,

    log p_CTC(pi | x) + lambda * ln p_G(W </s>) - word_penalty * |W|,    lambda = lm_weight = 1 / a,

so ``word_penalty`` is in acoustic log-probability units, per word (``-word_penalty`` is ``--word-bonus``,
the per-word bonus of every decoding method): positive values give fewer words, negative values more.
:class:`TLGDecoder` takes either ``lm_weight`` or ``acoustic_scale``. ``blank_penalty`` (natural log,
subtracted from log p(blank) of every frame before scaling, as sherpa-onnx's ``blank_penalty``) counters
the deletions an LM causes when it prefers short outputs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import kaldi_decoder
import kaldifst
import numpy as np
import torch

from asrkit.errors import UserError
from asrkit.tokenizer import Tokenizer
from decoders.tlg.graph import TLG_FST, check_graph
from lm.ngram.gfst import DISAMBIG


@dataclass
class TLGResult:
    """The best path of one utterance."""

    words: list[str]
    word_ids: list[int]
    alignment: list[int]  # tokenizer id of every frame (blank = 0)
    am_logprob: float  # sum_t log p_CTC(alignment_t), unscaled, without blank_penalty
    lm_logprob: float  # ln p_G(words </s>) along the path the search took
    score: float  # the maximised total over a: am_logprob - blank penalties + lm_logprob / a - word_penalty * |W|
    reached_final: bool  # False when no final state survived pruning (the best partial path is returned)


@dataclass
class _Options:
    beam: float = 16.0
    max_active: int = 7000
    min_active: int = 20
    acoustic_scale: float = 1.0
    word_penalty: float = 0.0
    blank_penalty: float = 0.0


def _acoustic_scale(lm_weight: float | None, acoustic_scale: float | None) -> float | None:
    if lm_weight is not None and acoustic_scale is not None:
        raise UserError("give lm_weight or acoustic_scale, not both (acoustic_scale = 1 / lm_weight)")
    if lm_weight is not None:
        if not lm_weight > 0 or math.isinf(lm_weight):
            raise UserError(f"TLG decoding: lm_weight must be positive and finite, not {lm_weight}")
        return 1.0 / lm_weight
    if acoustic_scale is not None and (not acoustic_scale > 0 or math.isinf(acoustic_scale)):
        raise UserError(f"TLG decoding: acoustic_scale must be positive and finite, not {acoustic_scale}")
    return acoustic_scale


class TLGDecoder:
    """Decode CTC log-probabilities with a TLG graph folder built by ``asrkit lm tlg``.

    ``TLGDecoder.load(graph_dir, tokenizer)`` refuses a graph built for another tokenizer. Options
    given to ``load`` are the defaults of every ``decode`` call, which may override any of them.
    """

    def __init__(self, graph_dir: Path, fst: kaldifst.StdConstFst, words: list[str], info: dict, options: _Options):
        self.graph_dir = graph_dir
        self.info = info
        self.words = words
        self.num_pieces = int(info["num_pieces"])
        self.options = options
        self._fst = fst
        # Ids of real words: the arcs a word penalty applies to (never <eps>, #0, <s>, </s>).
        self._word_ids = [i for i, w in enumerate(words) if w not in ("<eps>", DISAMBIG, "<s>", "</s>")]
        # Keyed by the graph cost per word, a * word_penalty.
        self._graphs: dict[float, kaldifst.StdFst] = {0.0: fst}
        self._decoders: dict[float, kaldi_decoder.FasterDecoder] = {}

    @classmethod
    def load(
        cls,
        graph_dir: str | Path,
        tokenizer: Tokenizer | str | Path,
        *,
        beam: float = 16.0,
        max_active: int = 7000,
        min_active: int = 20,
        lm_weight: float | None = None,
        acoustic_scale: float | None = None,
        word_penalty: float = 0.0,
        blank_penalty: float = 0.0,
    ) -> TLGDecoder:
        """Read ``graph_dir`` after checking it against ``tokenizer`` (the acoustic model's); UserError if
        they do not match. Without ``lm_weight``/``acoustic_scale`` the acoustic scale is 1 (lambda = 1)."""
        graph_dir = Path(graph_dir)
        tok = tokenizer if isinstance(tokenizer, Tokenizer) else Tokenizer(tokenizer)
        info, words = check_graph(graph_dir, tok)
        try:
            fst = kaldifst.StdConstFst.read(str(graph_dir / TLG_FST))
        except RuntimeError as err:
            raise UserError(f"{graph_dir / TLG_FST}: cannot read the graph ({err})") from None
        scale = _acoustic_scale(lm_weight, acoustic_scale)
        options = _Options(beam, max_active, min_active, 1.0 if scale is None else scale, word_penalty, blank_penalty)
        _validate(options)
        return cls(graph_dir, fst, words, info, options)

    # -- graph with a word penalty --------------------------------------------------------------
    def _graph(self, word_cost: float) -> kaldifst.StdFst:
        """TLG with ``word_cost`` added to every word arc: TLG ∘ P, P a one-state transducer whose
        self-loops ``w:w / word_cost`` cover every word. Built once per cost (about 4 s for a 4M-arc TLG)."""
        if word_cost not in self._graphs:
            p = kaldifst.StdVectorFst()
            s = p.add_state()
            p.start = s
            p.set_final(s, 0.0)
            for wid in self._word_ids:
                p.add_arc(s, kaldifst.StdArc(wid, wid, word_cost, s))
            kaldifst.arcsort(p, sort_type="ilabel")
            graph = kaldifst.compose(self._fst, p, match_side="right")
            # Keep at most one penalised graph besides the plain one: each is as large as TLG.
            for key in [k for k in self._graphs if k != 0.0]:
                del self._graphs[key]
                self._decoders.pop(key, None)
            self._graphs[word_cost] = graph
        return self._graphs[word_cost]

    def _decoder(self, opts: _Options) -> kaldi_decoder.FasterDecoder:
        word_cost = opts.acoustic_scale * opts.word_penalty
        fst = self._graph(word_cost)
        dec = self._decoders.get(word_cost)
        config = kaldi_decoder.FasterDecoderOptions(
            beam=opts.beam, max_active=opts.max_active, min_active=opts.min_active
        )
        if dec is None:
            dec = self._decoders[word_cost] = kaldi_decoder.FasterDecoder(fst, config)
        else:
            dec.set_options(config)
        return dec

    # -- decoding ----------------------------------------------------------------------------------
    def _options(self, overrides: dict) -> _Options:
        opts = _Options(**vars(self.options))
        scale = _acoustic_scale(overrides.pop("lm_weight", None), overrides.pop("acoustic_scale", None))
        if scale is not None:
            opts.acoustic_scale = scale
        for key, value in overrides.items():
            if not hasattr(opts, key):
                raise TypeError(f"unknown TLG decoding option {key!r}")
            if value is not None:
                setattr(opts, key, value)
        _validate(opts)
        return opts

    def decode_detailed(self, log_probs: torch.Tensor, **options) -> TLGResult:
        """Best path for one utterance. ``log_probs``: (T, V) natural-log CTC posteriors, V = the
        tokenizer's pieces. ``options``: beam, max_active, min_active, lm_weight or acoustic_scale,
        word_penalty, blank_penalty (defaults: those given to :meth:`load`)."""
        opts = self._options(dict(options))
        if log_probs.dim() != 2:
            raise ValueError(f"log_probs must be (T, V), got shape {tuple(log_probs.shape)}")
        if log_probs.size(1) != self.num_pieces:
            raise UserError(f"{self.graph_dir}: graph was built for {self.num_pieces} pieces but the model "
                            f"gives {log_probs.size(1)} log-probabilities per frame")
        lp = log_probs.detach().float().cpu().numpy()
        if lp.shape[0] == 0:
            return TLGResult([], [], [], 0.0, 0.0, 0.0, True)
        scored = lp.copy()
        scored[:, 0] -= opts.blank_penalty
        scored = np.ascontiguousarray(scored * opts.acoustic_scale, dtype=np.float32)
        dec = self._decoder(opts)
        dec.decode(kaldi_decoder.DecodableCtc(scored))
        reached = dec.reached_final()
        ok, lattice = dec.get_best_path()
        if not ok:
            return TLGResult([], [], [], -math.inf, -math.inf, -math.inf, False)
        ok, ilabels, olabels, weight = kaldifst.get_linear_symbol_sequence(lattice)
        if not ok:  # a best path is linear; anything else is a decoder bug, not a user error
            raise RuntimeError(f"{self.graph_dir}: kaldi-decoder's best path is not linear")
        alignment = [label - 1 for label in ilabels]
        am = float(lp[np.arange(len(alignment)), alignment].sum()) if alignment else 0.0
        a = opts.acoustic_scale
        graph_cost = float(weight.value1)  # -ln p_G + a * word_penalty * |W|
        return TLGResult(
            words=[self.words[i] for i in olabels],
            word_ids=list(olabels),
            alignment=alignment,
            am_logprob=am,
            lm_logprob=-graph_cost + a * opts.word_penalty * len(olabels),
            score=-(graph_cost + float(weight.value2)) / a,
            reached_final=reached,
        )

    def decode(self, log_probs: torch.Tensor, **options) -> list[str]:
        """Words of the best path for one utterance; see :meth:`decode_detailed`."""
        return self.decode_detailed(log_probs, **options).words

    def decode_batch(self, log_probs: torch.Tensor, lengths: torch.Tensor | None = None, **options) -> list[list[str]]:
        """Words for each utterance of a padded batch ``log_probs`` (B, T, V) with valid ``lengths`` (B,)."""
        if log_probs.dim() != 3:
            raise ValueError(f"log_probs must be (B, T, V), got shape {tuple(log_probs.shape)}")
        if lengths is None:
            lengths = torch.full((log_probs.size(0),), log_probs.size(1), dtype=torch.long)
        return [self.decode(log_probs[b, : int(n)], **options) for b, n in enumerate(lengths.tolist())]

    def __repr__(self) -> str:
        return f"TLGDecoder({str(self.graph_dir)!r}, {self.options})"


def _validate(opts: _Options) -> None:
    """Option values come from the command line, so bad ones are the user's to fix."""
    if not opts.beam > 0 or math.isinf(opts.beam):
        raise UserError(f"TLG decoding: beam must be positive and finite, not {opts.beam}")
    if opts.max_active < 1 or opts.min_active < 0 or opts.min_active > opts.max_active:
        raise UserError(f"TLG decoding: need 0 <= min_active <= max_active and max_active >= 1, got "
                        f"min_active {opts.min_active}, max_active {opts.max_active}")
    if not math.isfinite(opts.word_penalty) or not math.isfinite(opts.blank_penalty):
        raise UserError("TLG decoding: word_penalty and blank_penalty must be finite")
