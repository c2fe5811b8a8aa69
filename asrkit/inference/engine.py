"""The decoding engine: one method (:mod:`asrkit.inference.methods`) run on one head (:mod:`asrkit.inference.heads`).

    engine = Decoder(cfg, head)
    texts = engine(head.acoustics(waves))          # CTC emissions or a conditioned LM, whichever the head gives

The engine builds the method's scorer list once (its LMs loaded and checked against the head's units), adds
the length bonuses as scorers (``decoders/bonus.py``: ``insertion_bonus`` per unit, ``word_bonus`` per
completed word, ESPnet's LengthBonus), and runs the head's greedy, beam or graph search; ``rescore`` then
re-ranks the beam search's n-best. Because the bonuses are scorers of every beam search (the first pass of
``rescore`` included, on both heads), a tuned bonus means the same thing in every method.
"""

from __future__ import annotations

from collections.abc import Sequence

from asrkit.errors import UserError
from asrkit.inference.decode_config import DecodeConfig
from asrkit.inference.heads import Head
from asrkit.inference.hotwords import (
    AliasRewriter,
    Hotword,
    build_context_graph,
    read_hotwords,
    spelling_words,
    unit_boundaries,
)
from asrkit.inference.methods import Resources, get_method
from decoders.hypothesis import Hypothesis
from decoders.rescoring import rescore_nbest
from decoders.scorer import WeightedScorer


def bonus_scorers(cfg: DecodeConfig, head: Head) -> list[WeightedScorer]:
    """``+insertion_bonus`` per unit and ``+word_bonus`` per completed word, as weighted scorers. A zero
    weight is left out of the list: it would add nothing but work to every search step."""
    out = []
    if cfg.insertion_bonus:
        out.append(WeightedScorer(head.unit_bonus(), cfg.insertion_bonus, "unit_bonus"))
    if cfg.word_bonus:
        out.append(WeightedScorer(head.word_bonus(), cfg.word_bonus, "word_bonus"))
    return out


def hotword_scorers(cfg: DecodeConfig, head: Head, hotwords: list[Hotword]) -> list[WeightedScorer]:
    """``--hotwords``: a context graph over the head's units (decoders/context_graph.py), whole words, weight
    ``hotword_weight`` per matched unit (on the CTC head, partial matches keep up to ``hotword_beam`` of
    the beam's slots). Every beam search takes it (both heads, every method's first pass)."""
    if not hotwords or not cfg.hotword_weight:
        return []
    words = head.word_bonus()  # the head's word rules, computed once per head
    boundary = unit_boundaries(head.tokenizer, words.starts.tolist(), words.wordish.tolist())
    graph = build_context_graph(hotwords, head.tokenizer, boundary=boundary)
    return [WeightedScorer(graph, cfg.hotword_weight, "hotwords")]


def hotword_check(cfg: DecodeConfig, head: Head, hotwords: list[Hotword]):
    """``--hotword-check`` / ``--hotword-reject``: the :class:`asrkit.inference.hotword_check.CtcHotwordCheck`
    of a CTC head, or None (off, or no hotwords). A speech LLM has no CTC emissions to read: refused in one
    line."""
    if not (cfg.hotword_check or cfg.hotword_reject) or not hotwords:
        return None
    if head.kind != "ctc":
        flag = "--hotword-check" if cfg.hotword_check else "--hotword-reject"
        raise UserError(f"{flag} reads CTC emissions: it works on CTC models, not on a speech LLM (use "
                        "--hotword-fuzzy there)")
    from asrkit.inference.hotword_aliases import read_known_words
    from asrkit.inference.hotword_check import CtcHotwordCheck

    return CtcHotwordCheck(hotwords, read_known_words(cfg.known_words), head.tokenizer, cfg.hotword_check,
                           cfg.hotword_reject)


class Decoder:
    """``Decoder(cfg, head)(acoustics) -> texts``, one per utterance of the batch."""

    def __init__(self, cfg: DecodeConfig, head: Head):
        self.cfg = cfg.check()
        self.head = head
        self.method = get_method(cfg.method)
        self.method.check_head(head)
        if cfg.ctc_weight and head.kind != "ar":
            raise UserError("--ctc-weight is joint CTC/attention decoding of a speech LLM; a CTC model's search "
                            "already is its CTC score")
        self.scorers: list[WeightedScorer] = []
        self.rescorers: list[WeightedScorer] = []
        self.graph = None
        search = self.method.search
        hotwords = read_hotwords(cfg.hotwords) if cfg.hotwords and search == "beam" else []
        # Word LMs of the search spare the list's words the OOV penalty (lm.ngram.word_fusion).
        res = Resources(cfg, head, sorted(spelling_words(hotwords)) if cfg.hotword_weight else ())
        # A hotword's aliases (the model's own spellings of it) are written as the phrase in every output text,
        # and with --hotword-fuzzy an unknown word spelled close to a hotword becomes it.
        self.rewrite = AliasRewriter(hotwords if cfg.hotword_weight else [])
        self.fuzzy = None
        if cfg.hotword_fuzzy and hotwords and cfg.hotword_weight:
            from asrkit.inference.hotword_aliases import read_known_words
            from asrkit.inference.hotword_fuzzy import FuzzyHotwords

            self.fuzzy = FuzzyHotwords(hotwords, read_known_words(cfg.known_words), cfg.hotword_fuzzy)
        # --hotword-check: unknown words the CTC emissions also spell as a hotword become it (before the alias
        # rewrite and the fuzzy step: it reads the words the model wrote).
        self.check = hotword_check(cfg, head, hotwords if cfg.hotword_weight else [])
        if search == "graph":
            self.graph = res.graph()
        elif search == "beam":
            self.scorers = (self.method.scorers(res, cfg) + bonus_scorers(cfg, head)
                            + hotword_scorers(cfg, head, hotwords))
            if self.method.rescorers is not None:
                self.rescorers = self.method.rescorers(res, cfg)
        # Hypotheses the search keeps (greedy: 1; TLG has a log-score margin instead, --search-beam).
        self.beam = 1 if search == "greedy" else None if search == "graph" else cfg.beam_or(head.default_beam)
        self.nbest = cfg.nbest if self.method.rescorers is not None else 1

    def hypotheses(self, acoustics) -> list[list[Hypothesis]]:
        """Per utterance, the beam search's n-best (re-ranked by ``rescore``), best first; the scores of each
        scorer (LMs and bonuses, unweighted) are in ``Hypothesis.lm_scores``."""
        if self.method.search != "beam":
            raise ValueError(f"--method {self.method.name} is not a beam search: it gives texts only")
        return self._beam(self.head.prepare(acoustics, self.cfg))

    def text(self, units, log_probs=None) -> str:
        """The text of a hypothesis's units: the head's detokenisation, hotword aliases written as their phrase
        (with ``hotword_check`` and the utterance's CTC ``log_probs`` (T, V), unknown words the emissions spell
        as a hotword become it; with ``hotword_fuzzy``, unknown words close to a hotword in letters do)."""
        return self.texts([units], None if log_probs is None else [log_probs])[0]

    def texts(self, units: Sequence, log_probs: Sequence | None = None) -> list[str]:
        """:meth:`text` of each of a batch's hypotheses (``log_probs``: one (T, V) array per hypothesis, or
        None). The same texts as one call each; the hotword steps look up the batch's garbled words together."""
        texts = [self.head.text(u) for u in units]
        if self.check and log_probs is not None:
            self.check.prepare(texts)
            texts = [self.check(t, lp) for t, lp in zip(texts, log_probs)]
        texts = [self.rewrite(t) for t in texts]
        if self.fuzzy:
            self.fuzzy.prepare(texts)
            texts = [self.fuzzy(t) for t in texts]
        return texts

    def _beam(self, acoustics) -> list[list[Hypothesis]]:
        head = self.head
        batch = head.beam_search(acoustics, self.scorers, self.cfg, max(self.beam, self.nbest), self.nbest)
        if self.rescorers:
            batch = [rescore_nbest(hyps, self.texts([h.units for h in hyps]), self.rescorers) for hyps in batch]
        return batch

    def __call__(self, acoustics) -> list[str]:
        head, search = self.head, self.method.search
        acoustics = head.prepare(acoustics, self.cfg)
        if search == "greedy":
            return [head.text(units) for units in head.greedy(acoustics, self.cfg)]
        if search == "graph":
            return head.graph_search(acoustics, self.graph, self.cfg)
        batch = self._beam(acoustics)
        found = [b for b, hyps in enumerate(batch) if hyps]
        log_probs = None
        if self.check:  # CTC acoustics: (log_probs (B, T, V), lengths)
            lp, lengths = acoustics
            log_probs = [lp[b, : int(lengths[b])] for b in found]
        out = [""] * len(batch)
        for b, text in zip(found, self.texts([batch[b][0].units for b in found], log_probs)):
            out[b] = text
        return out
