"""Peer benchmark: asrkit's CTC prefix beam search with n-gram fusion vs pyctcdecode and flashlight-text.

Every decoder reads the same CTC log-probabilities (computed once by the demo model and cached) and the
same KenLM files, on one CPU thread, and prints WER and utterances per second as a markdown table:

- token-level LM (``general_token4.arpa``, units = the model's sentencepiece pieces): asrkit
  ``ctc_prefix_beam_search_batch`` (the compiled core, decoders/csrc) + ``KenLM`` token scorer vs flashlight
  ``LexiconFreeDecoder``;
- word-level LM (``general_word3.bin``): asrkit ``ctc_prefix_beam_search_batch`` + ``TokenizedWordLM``
  (lm/ngram/word_fusion.py, a word is scored when it is complete) vs pyctcdecode ``build_ctcdecoder``
  and flashlight ``LexiconDecoder`` (lexicon = the LM's words spelled with the tokenizer, trie
  smeared with MAX);
- greedy CTC as the reference row; asrkit's plain beam search (no LM) and LODR (the token 4-gram minus
  ``source_token2.arpa`` with mu = 0.2) for the cost of the LM scorers relative to the search itself.

Install the peers (pyctcdecode 0.5.0 pins ``numpy<2``, which would downgrade numpy, so it goes in
without its dependencies; its only runtime dependency, pygtrie, comes with the ``bench`` extra)::

    .venv/bin/pip install -e .[bench]                       # flashlight-text, pygtrie
    .venv/bin/pip install --no-deps pyctcdecode==0.5.0

Run (one thread, low priority; the first run caches the emissions under --cache-dir)::

    OMP_NUM_THREADS=1 nice -n 19 .venv/bin/python bench/peer_ctc_lm.py --max-utts 200

Weights. All decoders rank a hypothesis W with per-frame CTC log-probabilities x by

    log p_CTC(W | x) + lambda * ln p_LM(W) + beta * |W|

with ``|W|`` counted in the LM's units (pieces for the token LM, words for the word LM). The scales differ
per tool, so one (lambda, beta) grid point is mapped as follows (checked in each tool's source):

- asrkit: ``WeightedScorer(lm, lambda)``; its LMs return natural logs. The bonus is a second scorer with
  weight ``beta``: :class:`decoders.bonus.UnitBonus` (1 per piece) with the token LM,
  :class:`decoders.bonus.WordBonus` (1 per completed word) with the word LM.
- pyctcdecode: ``alpha = lambda`` (it multiplies KenLM's log10 score by ``1/log10(e) = ln 10`` before
  ``alpha``: language_model.py, ``LOG_BASE_CHANGE_FACTOR``), ``beta = beta`` (added per scored word).
- flashlight: its ``KenLM`` returns KenLM's raw log10 score (KenLM.cpp, ``BaseScore``), so
  ``lm_weight = lambda * ln 10``. ``word_score = beta`` (lexicon decoder, per word); the lexicon-free
  decoder has no per-token bonus (only ``sil_score`` on the silence token), so it is tuned over lambda
  alone with beta = 0. ``sil_score = 0`` and silence = blank (the sentencepiece units have no
  word-separator token; this is fairseq's W2lKenLMDecoder convention); ``unk_score = -inf`` (only
  lexicon words, torchaudio's default).

Fairness: each (decoder, beam) gets the best point of the same grid on the dev set, then runs on the test
set. Pruning: asrkit uses pyctcdecode's two rules with pyctcdecode's values in its main rows: of the
``beam`` best pieces of a frame only those with log p >= -5 extend a prefix (``token_min_logp``), and
prefixes more than 10 below the frame's best are dropped (``beam_prune_logp``); pyctcdecode has the same
(its defaults); ``decode()`` also turns on pyctcdecode's history pruning (one beam per last n-1 words,
partial word and last character), as its users get, and asrkit recombines dominated prefixes
(``recombine=True``, decoders/recombination.py: same last piece and LM states, worse both blank- and
piece-ended), its counterpart; flashlight tries the ``beam`` best pieces (``beam_size_token = beam``).
``--ours-min-logp -8`` and ``--exact-rows`` (no recombination; no pruning at all) add asrkit rows,
``--python-rows`` the Python reference search, all at the weights tuned for the main rows. ``--reuse-tuned
JSON`` takes the weights from an earlier report instead of tuning again; the decoders of ``--decoders`` are
still timed in this run (speed ratios are only taken within one run: the machine load differs between runs),
and that report's rows of the other decoders are shown, labelled, without ratios. Other options are each
tool's defaults (flashlight ``beam_threshold=50``, ``log_add=False`` as in torchaudio; pyctcdecode
``beam_prune_logp=-10``, ``unk_score_offset=-10``).

Speed: CPU seconds of this process (``time.process_time``) over the decode calls only, including each
tool's own input conversion and the mapping of its output to text; LM loading and lexicon building are
reported separately as setup. One warm-up utterance is decoded first.
"""

from __future__ import annotations

import argparse
import itertools
import json
import logging
import math
import os
import platform
import re
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")

import torch  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from asrkit.errors import UserError  # noqa: E402
from asrkit.metrics import wer  # noqa: E402
from asrkit.tokenizer.spm import Tokenizer  # noqa: E402
from decoders.bonus import UnitBonus, WordBonus  # noqa: E402
from decoders.ctc_greedy import ctc_greedy_search  # noqa: E402
from decoders.ctc_prefix_beam import ctc_prefix_beam_search_batch, ctc_prefix_beam_search_reference  # noqa: E402
from decoders.scorer import WeightedScorer  # noqa: E402
from lm.interface import LanguageModel  # noqa: E402
from lm.ngram.kenlm_lm import KenLM  # noqa: E402

LN10 = math.log(10.0)
WORD_START = "\u2581"
EGS = ROOT / "egs" / "bible"
DEFAULT_MODEL = EGS / "exp" / "ctc_small" / "model"
DEFAULT_TEST = EGS / "data" / "manifests" / "test_en.jsonl"
DEFAULT_DEV = EGS / "data" / "manifests" / "dev_en.jsonl"
DEFAULT_TOKEN_LM = EGS / "exp" / "lm" / "general_token4.arpa"
DEFAULT_WORD_LM = EGS / "exp" / "lm" / "general_word3.bin"
DEFAULT_CACHE = EGS / "exp" / "peer_bench"
DEFAULT_OUT = ROOT / "bench" / "results" / "peer_ctc_lm.md"
DEFAULT_SOURCE_LM = EGS / "exp" / "lm" / "source_token2.arpa"
DECODERS = ("greedy", "ours-beam", "ours-token", "ours-lodr", "flashlight-lexfree", "ours-word", "pyctcdecode",
            "flashlight-lexicon")
# asrkit's pre-beam pruning in the main rows: pyctcdecode's defaults (token_min_logp -5, beam_prune_logp 10).
DEFAULT_MIN_LOGP = -5.0
DEFAULT_PRUNE_LOGP = 10.0
# and recombination of dominated prefixes (decoders/recombination.py), the counterpart of pyctcdecode's
# history pruning, which decode() turns on
DEFAULT_RECOMBINE = True
LODR_SOURCE_WEIGHT = 0.2  # mu of the source bigram in the LODR rows (fixed; lambda and beta are tuned)
INSTALL_HINT = {
    "pyctcdecode": ".venv/bin/pip install --no-deps pyctcdecode==0.5.0 pygtrie",
    "flashlight": ".venv/bin/pip install flashlight-text",
}


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------- emissions


@dataclass
class Utterance:
    id: str
    text: str
    duration: float
    log_probs: torch.Tensor  # (T, V) float32 CTC log-probabilities


def read_manifest(path: Path, max_utts: int | None) -> list[dict]:
    """Manifest rows; with ``max_utts``, that many rows evenly spaced over the file (so a subset spans
    every book and voice rather than the first chapter)."""
    if not path.is_file():
        raise UserError(f"{path}: no such manifest")
    rows = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError as err:
            raise UserError(f"{path}:{n}: invalid JSON ({err})") from None
    if max_utts is not None and 0 < max_utts < len(rows):
        rows = [rows[i * len(rows) // max_utts] for i in range(max_utts)]
    return rows


def compute_emissions(model_dir: Path, manifest: Path, max_utts: int | None, cache_dir: Path | None) -> list[Utterance]:
    """CTC log-probabilities of the manifest's utterances, from ``cache_dir`` when computed before."""
    rows = read_manifest(manifest, max_utts)
    ids = [r["id"] for r in rows]
    cache = None
    if cache_dir is not None:
        cache = cache_dir / f"emissions_{manifest.stem}_{len(rows)}.pt"
        if cache.is_file():
            blob = torch.load(cache, weights_only=True)  # tensors, lists, strings: no pickle code runs
            if blob.get("ids") == ids and blob.get("model") == str(model_dir.resolve()):
                log(f"emissions: {len(ids)} utterances from {cache}")
                return [Utterance(i, t, d, lp) for i, t, d, lp in
                        zip(blob["ids"], blob["texts"], blob["durations"], blob["log_probs"])]
    from asrkit.frontend import load_audio
    from asrkit.models import load_model

    model = load_model(str(model_dir)).eval()
    out = []
    start = time.perf_counter()
    with torch.inference_mode():
        for k, row in enumerate(rows, 1):
            wave = load_audio(manifest.parent / row["audio"])
            feats = model.frontend(wave)
            lp, _ = model(feats[None], torch.tensor([feats.size(0)]))
            out.append(Utterance(row["id"], row["text"], len(wave) / 16000.0, lp[0].float().contiguous().clone()))
            if k % 25 == 0 or k == len(rows):
                log(f"emissions {manifest.stem}: {k}/{len(rows)} ({time.perf_counter() - start:.1f} s)")
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        torch.save({"model": str(model_dir.resolve()), "ids": ids, "texts": [u.text for u in out],
                    "durations": [u.duration for u in out], "log_probs": [u.log_probs for u in out]}, cache)
    return out


# ---------------------------------------------------------------------------------------------- decoders


@dataclass
class Decoder:
    """One decoder configuration: ``prepare`` converts a (T, V) tensor to the tool's input (untimed);
    ``decode`` maps a prepared input to text (timed). ``set_weights(lambda, beta)`` applies a grid point.
    ``decode_batch`` (optional) decodes several prepared inputs at once."""

    name: str
    unit: str  # "token", "word" or "-"
    beam: int
    prepare: Callable[[torch.Tensor], Any]
    decode: Callable[[Any], str]
    set_weights: Callable[[float, float], None] = lambda lam, beta: None
    bonus_grid: Sequence[float] | None = None  # None: the unit's grid; [0.0]: no bonus (tool has none)
    setup_s: float = 0.0
    decode_batch: Callable[[list[Any]], list[str]] | None = None
    weights: tuple[float, float] = (0.0, 0.0)
    # asrkit only: the same decoder with other pre-beam pruning, variant(prune_topk=..., token_min_logp=...)
    variant: Callable[..., Decoder] | None = None
    # asrkit only: where the time of a decode call goes (see ours_decoder)
    breakdown: Callable[[list[torch.Tensor]], dict[str, float]] | None = None


def greedy_decoder(tokenizer: Tokenizer) -> Decoder:
    def decode(lp: torch.Tensor) -> str:
        return tokenizer.decode(ctc_greedy_search(lp[None], torch.tensor([lp.size(0)]))[0])

    return Decoder("greedy", "-", 1, lambda lp: lp, decode, bonus_grid=[0.0])


def ours_decoder(lm: LanguageModel | None, tokenizer: Tokenizer, beam: int, unit: str, batch: int = 1,
                 setup_s: float = 0.0, prune_topk: int | None = None, token_min_logp: float | None = DEFAULT_MIN_LOGP,
                 beam_prune_logp: float | None = DEFAULT_PRUNE_LOGP, python: bool = False,
                 extra: Sequence[WeightedScorer] = (), label: str = "asrkit",
                 recombine: bool = DEFAULT_RECOMBINE) -> Decoder:
    """asrkit's prefix beam search; ``lm`` scores pieces (a token KenLM, or a ``TokenizedWordLM``; None:
    plain beam search). Its bonus is a scorer: ``UnitBonus`` (beta per piece) with the token LM,
    ``WordBonus`` (beta per word) with the word LM. ``extra``: more scorers with fixed weights (LODR's).

    ``prune_topk``: pieces tried per frame (the search's default, None, tries ``beam``).
    ``token_min_logp``: of those, only pieces with log p >= this extend a prefix (pyctcdecode's rule);
    ``beam_prune_logp``: prefixes this far below a frame's best are dropped (pyctcdecode's, 10 there);
    ``recombine``: a prefix dominated by one with the same last piece and LM states is dropped.
    ``python``: the Python reference search instead of the compiled core (same results, for the speed-up)."""
    cfg: dict = {"scorers": []}
    pieces = tokenizer.pieces()
    bonus_lm = UnitBonus(pieces) if unit == "token" else WordBonus(pieces)
    search = ctc_prefix_beam_search_reference if python else ctc_prefix_beam_search_batch
    opts = {"prune_topk": prune_topk, "token_min_logp": token_min_logp, "beam_prune_logp": beam_prune_logp,
            "recombine": recombine}

    def set_weights(lam: float, beta: float) -> None:
        scorers = [] if lm is None else [WeightedScorer(lm, lam, "lm")]
        scorers += list(extra)
        if beta != 0.0:
            scorers.append(WeightedScorer(bonus_lm, beta, "bonus"))
        cfg["scorers"] = scorers

    def decode(lp: torch.Tensor) -> str:
        hyp = search(lp[None], None, beam, cfg["scorers"], **opts)[0][0]
        return tokenizer.decode(hyp.units)

    def decode_batch(lps: list[torch.Tensor]) -> list[str]:
        lengths = torch.tensor([x.size(0) for x in lps])
        padded = torch.nn.utils.rnn.pad_sequence(lps, batch_first=True)
        return [tokenizer.decode(h[0].units) for h in search(padded, lengths, beam, cfg["scorers"], **opts)]

    # The name says how this configuration differs from the main one (pyctcdecode's pruning, compiled core).
    name = label + (" (python)" if python else "") + ("" if batch == 1 else f" (batch {batch})")
    if prune_topk is not None:
        name += f" (prune_topk {prune_topk})"
    if token_min_logp != DEFAULT_MIN_LOGP:
        name += " (no token_min_logp)" if token_min_logp is None else f" (token_min_logp {token_min_logp:g})"
    if beam_prune_logp != DEFAULT_PRUNE_LOGP:
        name += " (no beam_prune_logp)" if beam_prune_logp is None else f" (beam_prune_logp {beam_prune_logp:g})"
    if recombine != DEFAULT_RECOMBINE:
        name += " (recombine)" if recombine else " (no recombine)"

    def variant(**changes) -> Decoder:
        kw = {"prune_topk": prune_topk, "token_min_logp": token_min_logp, "beam_prune_logp": beam_prune_logp,
              "python": python, "extra": extra, "label": label, "recombine": recombine, **changes}
        return ours_decoder(lm, tokenizer, beam, unit, batch, setup_s, **kw)

    def breakdown(lps: list[torch.Tensor]) -> dict[str, float]:
        """Microseconds per utterance, best of 3 passes: the whole ``decode`` call; the compiled search alone
        (one PrefixSearch + run on ready arrays); the same search without scorers. The scorers' share is
        core - no scorers (approximately: without the LM other prefixes survive)."""
        from decoders import _ctc_core as core
        from decoders.ctc_prefix_beam_native import native_scorer

        natives = [native_scorer(s.lm) for s in cfg["scorers"]]
        if python or any(n is None for n in natives):
            return {}
        weights = [float(s.weight) for s in cfg["scorers"]]
        ready = [(lp[None].contiguous().numpy(), torch.tensor([lp.size(0)]).numpy()) for lp in lps]

        def per_utt(run: Callable[[], None]) -> float:
            best = math.inf
            for _ in range(3):
                t = time.process_time()
                run()
                best = min(best, time.process_time() - t)
            return best / len(lps) * 1e6

        def search(nat: list, w: list[float]) -> None:
            for x, n in ready:
                core.PrefixSearch(x, n, min(prune_topk or beam, x.shape[-1]), beam, tokenizer.blank_id, 1,
                                  token_min_logp, beam_prune_logp, recombine, nat, w).run()

        return {"decode": per_utt(lambda: [decode(lp) for lp in lps]),
                "core": per_utt(lambda: search(natives, weights)), "core_no_scorers": per_utt(lambda: search([], []))}

    return Decoder(name, unit, beam, lambda lp: lp, decode, set_weights, setup_s=setup_s,
                   decode_batch=decode_batch if batch > 1 else None, variant=variant, breakdown=breakdown)


def _collapse(tokens: Sequence[int], blank: int) -> list[int]:
    """CTC output of a flashlight token path: merge repeats, drop blanks."""
    return [t for t, _ in itertools.groupby(tokens) if t != blank]


def flashlight_lexfree_decoder(token_lm: Path, tokenizer: Tokenizer, beam: int) -> Decoder:
    """flashlight ``LexiconFreeDecoder`` with the token ARPA; units = the tokenizer's pieces."""
    from flashlight.lib.text.decoder import CriterionType, LexiconFreeDecoder, LexiconFreeDecoderOptions
    from flashlight.lib.text.decoder.kenlm import KenLM as FlKenLM
    from flashlight.lib.text.dictionary import Dictionary

    start = time.perf_counter()
    pieces = tokenizer.pieces()
    tokens = Dictionary(pieces)
    if tokens.get_index(pieces[0]) != 0 or tokens.index_size() != len(pieces):
        raise RuntimeError("flashlight Dictionary does not keep the piece order")
    lm = FlKenLM(str(token_lm), tokens)
    blank = tokenizer.blank_id
    setup = time.perf_counter() - start
    cfg: dict = {}

    def set_weights(lam: float, beta: float) -> None:
        opts = LexiconFreeDecoderOptions(beam, beam, 50.0, lam * LN10, 0.0, False, CriterionType.CTC)
        cfg["dec"] = LexiconFreeDecoder(opts, lm, blank, blank, [])

    def decode(lp: torch.Tensor) -> str:
        res = cfg["dec"].decode(lp.data_ptr(), lp.size(0), lp.size(1))
        return tokenizer.decode(_collapse(res[0].tokens, blank))

    return Decoder("flashlight lexicon-free", "token", beam, lambda lp: lp.contiguous(), decode, set_weights,
                   bonus_grid=[0.0], setup_s=setup)


def flashlight_lexicon_decoder(word_lm: Path, words: Sequence[str], tokenizer: Tokenizer, beam: int) -> Decoder:
    """flashlight ``LexiconDecoder``: each LM word spelled with the tokenizer's pieces, in a trie whose
    nodes hold the best unigram log10 score below them (``SmearingMode.MAX``), as torchaudio builds it."""
    from flashlight.lib.text.decoder import (
        CriterionType,
        LexiconDecoder,
        LexiconDecoderOptions,
        SmearingMode,
        Trie,
    )
    from flashlight.lib.text.decoder.kenlm import KenLM as FlKenLM
    from flashlight.lib.text.dictionary import Dictionary

    start = time.perf_counter()
    word_dict = Dictionary(list(words))
    lm = FlKenLM(str(word_lm), word_dict)
    blank = tokenizer.blank_id
    unk_word = word_dict.get_index("<unk>")
    trie = Trie(tokenizer.vocab_size, blank)
    start_state = lm.start(False)
    for i, w in enumerate(words):
        if w == "<unk>":
            continue
        spelling = tokenizer.encode(w)
        if not spelling or 1 in spelling:  # a word the tokenizer cannot spell (<unk> piece) is unreachable
            continue
        trie.insert(spelling, i, lm.score(start_state, i)[1])
    trie.smear(SmearingMode.MAX)
    setup = time.perf_counter() - start
    cfg: dict = {}

    def set_weights(lam: float, beta: float) -> None:
        opts = LexiconDecoderOptions(beam, beam, 50.0, lam * LN10, beta, -math.inf, 0.0, False, CriterionType.CTC)
        cfg["dec"] = LexiconDecoder(opts, trie, lm, blank, blank, unk_word, [], False)

    def decode(lp: torch.Tensor) -> str:
        res = cfg["dec"].decode(lp.data_ptr(), lp.size(0), lp.size(1))
        return " ".join(words[w] for w in res[0].words if w >= 0)

    return Decoder("flashlight lexicon", "word", beam, lambda lp: lp.contiguous(), decode, set_weights, setup_s=setup)


def pyctcdecode_labels(pieces: Sequence[str], blank: int) -> list[str]:
    """The tokenizer's pieces as pyctcdecode labels: the blank becomes ``""`` (pyctcdecode recognises only
    ``<pad>`` as a blank name and would append its own); ``<unk>`` it maps to ``▁⁇▁`` itself; ``▁x``
    pieces start a word and other pieces continue it, as in sentencepiece (its BPE mode)."""
    return ["" if i == blank else p for i, p in enumerate(pieces)]


def pyctcdecode_decoder(word_lm: Path, words: Sequence[str], tokenizer: Tokenizer, beam: int) -> Decoder:
    """pyctcdecode ``build_ctcdecoder`` over the pieces with the word KenLM and its unigrams."""
    logging.getLogger("pyctcdecode").setLevel(logging.ERROR)  # its "small vocabulary" notes are noise here
    from pyctcdecode import build_ctcdecoder

    start = time.perf_counter()
    labels = pyctcdecode_labels(tokenizer.pieces(), tokenizer.blank_id)
    dec = build_ctcdecoder(labels, kenlm_model_path=str(word_lm), unigrams=[w for w in words if w != "<unk>"])
    setup = time.perf_counter() - start

    def set_weights(lam: float, beta: float) -> None:
        dec.reset_params(alpha=float(lam), beta=float(beta))

    def decode(x: Any) -> str:
        return dec.decode(x, beam_width=beam)

    return Decoder("pyctcdecode", "word", beam, lambda lp: lp.numpy(), decode, set_weights, setup_s=setup)


# ---------------------------------------------------------------------------------------------- running


@dataclass
class RunResult:
    hyps: list[str]
    wer: float
    n: int
    audio_s: float
    pass_cpu: list[float] = field(default_factory=list)  # CPU seconds of each timed pass over all utterances
    wall_s: float = 0.0  # wall seconds of all timed passes

    @property
    def cpu_s(self) -> float:
        """The fastest pass: on a shared machine, the least disturbed estimate of the decoder's own cost."""
        return min(self.pass_cpu)

    @property
    def utts_per_s(self) -> float:
        return self.n / self.cpu_s if self.cpu_s > 0 else math.inf

    @property
    def x_real_time(self) -> float:
        return self.audio_s / self.cpu_s if self.cpu_s > 0 else math.inf


def _timed_passes(dec: Decoder, inputs: list[Any], batch: int,
                  min_seconds: float) -> tuple[list[str], list[float], float]:
    """Passes over ``inputs`` until their CPU time adds up to ``min_seconds`` (at least one)."""
    batched = dec.decode_batch is not None and batch > 1
    times: list[float] = []
    wall = 0.0
    hyps: list[str] = []
    while not times or sum(times) < min_seconds:
        hyps = []
        cpu0, wall0 = time.process_time(), time.perf_counter()
        if batched:
            for i in range(0, len(inputs), batch):
                hyps += dec.decode_batch(inputs[i : i + batch])
        else:
            for x in inputs:
                hyps.append(dec.decode(x))
        times.append(time.process_time() - cpu0)
        wall += time.perf_counter() - wall0
    return hyps, times, wall


def run_decoder(dec: Decoder, utts: Sequence[Utterance], batch: int = 1, warmup: bool = True,
                min_seconds: float = 0.0) -> RunResult:
    """Decode ``utts``, timing only the decode calls; returns hypotheses, WER (%) and times.

    A decoder whose pass over ``utts`` takes less than ``min_seconds`` of CPU time runs more passes, so
    that fast decoders are not timed on a few milliseconds.
    """
    inputs = [dec.prepare(u.log_probs) for u in utts]
    if warmup and inputs:
        dec.decode(inputs[0])
    hyps, times, wall = _timed_passes(dec, inputs, batch, min_seconds)
    score = wer([u.text for u in utts], hyps).value
    return RunResult(hyps, score, len(utts), sum(u.duration for u in utts), times, wall)


def retime(dec: Decoder, utts: Sequence[Utterance], res: RunResult, batch: int = 1, min_seconds: float = 0.0) -> None:
    """More timed passes of ``dec`` (weights as set) added to ``res``; the output must not change."""
    inputs = [dec.prepare(u.log_probs) for u in utts]
    hyps, times, wall = _timed_passes(dec, inputs, batch, min_seconds)
    if hyps != res.hyps:
        raise RuntimeError(f"{dec.name} beam {dec.beam}: a second pass gave different hypotheses")
    res.pass_cpu += times
    res.wall_s += wall


@dataclass
class TuneResult:
    best: tuple[float, float]
    dev_wer: float
    grid: list[tuple[float, float, float]] = field(default_factory=list)  # (lambda, beta, dev WER)


def tune(dec: Decoder, dev: Sequence[Utterance], lm_weights: Sequence[float], bonuses: Sequence[float]) -> TuneResult:
    """The grid point with the lowest dev WER (ties: the first in grid order)."""
    grid = []
    best = None
    for lam, beta in itertools.product(lm_weights, dec.bonus_grid if dec.bonus_grid is not None else bonuses):
        dec.set_weights(lam, beta)
        res = run_decoder(dec, dev, warmup=False)
        grid.append((lam, beta, res.wer))
        if best is None or res.wer < best[2]:
            best = (lam, beta, res.wer)
    return TuneResult((best[0], best[1]), best[2], grid)


@dataclass
class Tuned:
    """What a previous run's JSON report holds: its tuned weights, its dev grid and its main-table rows."""

    path: Path
    argv: list[str]
    best: dict[tuple[str, str, int], TuneResult]  # (decoder, unit, beam) -> tuning of that run
    rows: list[dict]  # that run's main-table rows (not its sweeps)
    grid: list[dict]  # the dev grid as stored
    tuned_by: list[str]  # argv of the run that tuned the weights (an earlier one when that run reused them)
    n_test: int
    audio_s: float


def load_tuned(path: Path) -> Tuned:
    """Read a report JSON written by this script (``--out`` with ``.json``) for ``--reuse-tuned``."""
    if not path.is_file():
        raise UserError(f"{path}: no such file (a JSON report of an earlier peer_ctc_lm.py run)")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        grid: dict[tuple[str, str, int], list[tuple[float, float, float]]] = {}
        for g in data["grid"]:
            grid.setdefault((g["decoder"], g["unit"], int(g["beam"])), []).append(
                (float(g["lambda"]), float(g["beta"]), float(g["dev_wer"])))
        best, rows = {}, []
        for r in data["rows"]:
            # Reports before the "section" field: the sweep rows are the ones with no dev WER.
            section = r.get("section", "main" if r["dev_wer"] is not None or r["unit"] == "-" else "sweep")
            if section != "main":
                continue
            rows.append(r)
            if r["dev_wer"] is not None:
                key = (r["decoder"], r["unit"], int(r["beam"]))
                best[key] = TuneResult((float(r["lambda"]), float(r["beta"])), float(r["dev_wer"]), grid.get(key, []))
        argv = [str(a) for a in data["argv"]]
        n_test, audio_s = int(data["n_test"]), float(data["audio_s"])
    except (json.JSONDecodeError, KeyError, TypeError, ValueError) as err:
        raise UserError(f"{path}: not a peer_ctc_lm.py JSON report ({type(err).__name__}: {err})") from None
    return Tuned(path, argv, best, rows, data["grid"], [str(a) for a in data.get("tuned_by", argv)], n_test, audio_s)


@dataclass
class Row:
    decoder: str
    unit: str
    beam: int
    weights: tuple[float, float]
    dev_wer: float | None
    result: RunResult
    setup_s: float
    previous: bool = False  # copied from the --reuse-tuned JSON (another run, other machine load): no ratios


def _fmt_ratio(a: float, b: float | None) -> str:
    return "-" if b is None or b <= 0 else f"{a / b:.2f}x"


def format_table(rows: Sequence[Row], show: Sequence[Row] | None = None) -> str:
    """Markdown table of ``show`` (default: all ``rows``); speed ratios are against the pyctcdecode and
    flashlight (same LM unit) rows of ``rows`` at the same beam that were timed in this run."""
    def speed_of(name_prefix: str, unit: str | None, beam: int) -> float | None:
        for r in rows:
            if (r.decoder.startswith(name_prefix) and (unit is None or r.unit == unit) and r.beam == beam
                    and not r.previous):
                return r.result.utts_per_s
        return None

    lines = [
        "| decoder | LM unit | beam | lambda, beta (dev) | dev WER % | test WER % | utts/s | x real time "
        "| vs pyctcdecode | vs flashlight (same LM) | setup s |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows if show is None else show:
        res = r.result
        if r.unit == "-" or r.previous:
            beam, wts, vs_py, vs_fl = str(r.beam), f"{r.weights[0]:g}, {r.weights[1]:g}", "-", "-"
            if r.unit == "-":  # greedy (beam 1) and plain beam search: no weights
                beam, wts = ("-" if r.beam == 1 else str(r.beam)), "-"
        else:
            beam, wts = str(r.beam), f"{r.weights[0]:g}, {r.weights[1]:g}"
            vs_py = _fmt_ratio(res.utts_per_s, speed_of("pyctcdecode", None, r.beam))
            vs_fl = _fmt_ratio(res.utts_per_s, speed_of("flashlight", r.unit, r.beam))
        dev = "-" if r.dev_wer is None else f"{r.dev_wer:.2f}"
        lines.append(f"| {r.decoder} | {r.unit} | {beam} | {wts} | {dev} | {res.wer:.2f} | {res.utts_per_s:.1f} "
                     f"| {res.x_real_time:.0f} | {vs_py} | {vs_fl} | {r.setup_s:.1f} |")
    return "\n".join(lines)


def target_lines(rows: Sequence[Row]) -> list[str]:
    """The issue's targets, per beam: WER <= best peer's, speed >= 3x pyctcdecode and ~1x flashlight."""
    out = []
    rows = [r for r in rows if not r.previous]
    for beam in sorted({r.beam for r in rows if r.unit != "-"}):
        for unit in ("token", "word"):
            ours = [r for r in rows if r.beam == beam and r.unit == unit and r.decoder == "asrkit"]
            peers = [r for r in rows if r.beam == beam and r.unit == unit and not r.decoder.startswith("asrkit")]
            if not ours or not peers:
                continue
            o = ours[0]
            best_peer = min(peers, key=lambda r: r.result.wer)
            py = next((r for r in rows if r.beam == beam and r.decoder == "pyctcdecode"), None)
            fl = next((r for r in peers if r.decoder.startswith("flashlight")), None)
            parts = [f"beam {beam}, {unit} LM: WER {o.result.wer:.2f} vs best peer {best_peer.result.wer:.2f} "
                     f"({best_peer.decoder}) -> {'met' if o.result.wer <= best_peer.result.wer else 'NOT met'}"]
            if py is not None:
                ratio = o.result.utts_per_s / py.result.utts_per_s
                parts.append(f"speed {ratio:.2f}x pyctcdecode (target >= 3x: {'met' if ratio >= 3 else 'NOT met'})")
            if fl is not None:
                ratio = o.result.utts_per_s / fl.result.utts_per_s
                parts.append(f"{ratio:.2f}x {fl.decoder} (target ~1x: {'met' if ratio >= 0.8 else 'NOT met'})")
            out.append("- " + "; ".join(parts))
    return out


def speedup_table(rows: Sequence[Row], python_rows: Sequence[Row]) -> str:
    """Compiled core vs the Python reference at the same (LM, beam)."""
    lines = ["| LM unit | beam | Python utts/s | compiled utts/s | speed-up | same hypotheses |",
             "|---|---|---|---|---|---|"]
    for p in python_rows:
        main_row = next((m for m in rows if (m.decoder, m.unit, m.beam) == ("asrkit", p.unit, p.beam)), None)
        if main_row is None:
            continue
        same = "yes" if p.result.hyps == main_row.result.hyps else "NO"
        lines.append(f"| {p.unit} | {p.beam} | {p.result.utts_per_s:.1f} | {main_row.result.utts_per_s:.1f} "
                     f"| {main_row.result.utts_per_s / p.result.utts_per_s:.1f}x | {same} |")
    return "\n".join(lines)


def overhead_table(rows: Sequence[Row], suffix: str = "") -> str:
    """Per beam: plain beam search, shallow fusion (token, word) and LODR, time relative to plain beam; the
    rows of the configuration whose decoder names end in ``suffix`` (e.g. " (no recombine)")."""
    lines = ["| method | beam | test WER % | utts/s | time / plain beam | target |", "|---|---|---|---|---|---|"]
    found = False
    for beam in sorted({r.beam for r in rows}):
        plain = next((r for r in rows if r.decoder == "asrkit beam (no LM)" + suffix and r.beam == beam), None)
        if plain is None:
            continue
        found = True
        lines.append(f"| beam search, no LM | {beam} | {plain.result.wer:.2f} | {plain.result.utts_per_s:.1f} | 1.00x "
                     "| - |")
        for name, unit, label, target in (("asrkit", "token", "shallow fusion, token 4-gram", 1.3),
                                           ("asrkit", "word", "shallow fusion, word 3-gram", 1.3),
                                           ("asrkit LODR", "token", "LODR, token 4-gram - token 2-gram", 1.5)):
            r = next((r for r in rows if (r.decoder, r.unit, r.beam) == (name + suffix, unit, beam)), None)
            if r is None:
                continue
            ratio = plain.result.utts_per_s / r.result.utts_per_s
            lines.append(f"| {label} | {beam} | {r.result.wer:.2f} | {r.result.utts_per_s:.1f} | {ratio:.2f}x "
                         f"| <= {target}x: {'met' if ratio <= target else 'NOT met'} |")
    return "\n".join(lines) if found else ""


def profile_table(decs: Sequence[Decoder], utts: Sequence[Utterance]) -> str:
    """Where the time of asrkit's decode calls goes, per utterance (``Decoder.breakdown``)."""
    lines = ["| decoder | LM unit | beam | decode call µs | compiled search µs | search without scorers µs "
             "| scorers µs (difference) | Python around the search µs |", "|---|---|---|---|---|---|---|---|"]
    lps = [u.log_probs for u in utts]
    for dec in decs:
        if dec.breakdown is None:
            continue
        log(f"profiling {dec.name} ({dec.unit}) beam {dec.beam} on {len(lps)} utterances")
        t = dec.breakdown(lps)
        if t:
            lines.append(f"| {dec.name} | {dec.unit} | {dec.beam} | {t['decode']:.0f} | {t['core']:.0f} "
                         f"| {t['core_no_scorers']:.0f} | {t['core'] - t['core_no_scorers']:.0f} "
                         f"| {t['decode'] - t['core']:.0f} |")
    return "\n".join(lines)


def _glue_negative_lists(argv: list[str]) -> list[str]:
    """``--flag -8,-5`` -> ``--flag=-8,-5``: argparse takes a value that starts with ``-`` and is not a
    single number for an option name, and log-probability thresholds are negative lists."""
    out: list[str] = []
    for i, a in enumerate(argv):
        if i > 0 and argv[i - 1] == "--ours-min-logp" and re.fullmatch(r"-[0-9.,\s+-]+", a):
            out[-1] = f"{out[-1]}={a}"
        else:
            out.append(a)
    return out


def _floats(text: str) -> list[float]:
    try:
        return [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers, got {text!r}") from None


def _native_setup(lm: LanguageModel) -> float:
    """Seconds the compiled core takes to load its own copy of ``lm`` (counted as setup, not decoding)."""
    t = time.perf_counter()
    try:
        from decoders.ctc_prefix_beam_native import native_scorer
    except ImportError:
        return 0.0
    native_scorer(lm)
    return time.perf_counter() - t


def build_decoders(names: Sequence[str], beams: Sequence[int], tokenizer: Tokenizer, token_lm: Path, word_lm: Path,
                   ours_batch: int, source_lm: Path | None = None) -> list[Decoder]:
    """Every requested decoder at every beam; peers that are not installed are skipped with a note."""
    out: list[Decoder] = []
    if "greedy" in names:
        out.append(greedy_decoder(tokenizer))
    tok_lm = word_kenlm = words = wrapped = src_lm = None
    t_tok = t_word = t_src = 0.0
    if {"ours-token", "ours-lodr"} & set(names):
        t = time.perf_counter()
        tok_lm = KenLM.load(token_lm, tokenizer=tokenizer)
        t_tok = time.perf_counter() - t + _native_setup(tok_lm)
    if "ours-lodr" in names:
        if source_lm is None:
            raise UserError("ours-lodr needs --source-lm (a low-order token LM of the acoustic training text)")
        t = time.perf_counter()
        src_lm = KenLM.load(source_lm, tokenizer=tokenizer)
        t_src = time.perf_counter() - t + _native_setup(src_lm)
    if {"ours-word", "pyctcdecode", "flashlight-lexicon"} & set(names):
        t = time.perf_counter()
        word_kenlm = KenLM.load(word_lm)
        t_word = time.perf_counter() - t
        if word_kenlm.unit != "word":
            raise UserError(f"{word_lm}: expected a word-level LM, got unit {word_kenlm.unit!r}")
        words = word_kenlm.vocab
    if "ours-word" in names:
        from lm.ngram.word_fusion import TokenizedWordLM

        t = time.perf_counter()
        wrapped = TokenizedWordLM(word_kenlm, tokenizer)
        t_word += time.perf_counter() - t + _native_setup(wrapped)
    missing: dict[str, str] = {}
    for beam in beams:
        if "ours-beam" in names:
            out.append(ours_decoder(None, tokenizer, beam, "-", label="asrkit beam (no LM)"))
        if "ours-token" in names:
            out.append(ours_decoder(tok_lm, tokenizer, beam, "token", setup_s=t_tok))
            if ours_batch > 1:
                out.append(ours_decoder(tok_lm, tokenizer, beam, "token", batch=ours_batch, setup_s=t_tok))
        if "ours-lodr" in names:
            extra = [WeightedScorer(src_lm, -LODR_SOURCE_WEIGHT, "source")]
            out.append(ours_decoder(tok_lm, tokenizer, beam, "token", setup_s=t_tok + t_src, extra=extra,
                                    label="asrkit LODR"))
        if "flashlight-lexfree" in names:
            try:
                out.append(flashlight_lexfree_decoder(token_lm, tokenizer, beam))
            except ImportError:
                missing["flashlight"] = INSTALL_HINT["flashlight"]
        if "ours-word" in names:
            out.append(ours_decoder(wrapped, tokenizer, beam, "word", setup_s=t_word))
            if ours_batch > 1:
                out.append(ours_decoder(wrapped, tokenizer, beam, "word", batch=ours_batch, setup_s=t_word))
        if "pyctcdecode" in names:
            try:
                out.append(pyctcdecode_decoder(word_lm, words, tokenizer, beam))
            except ImportError:
                missing["pyctcdecode"] = INSTALL_HINT["pyctcdecode"]
        if "flashlight-lexicon" in names:
            try:
                out.append(flashlight_lexicon_decoder(word_lm, words, tokenizer, beam))
            except ImportError:
                missing["flashlight"] = INSTALL_HINT["flashlight"]
    for tool, hint in missing.items():
        log(f"note: {tool} is not installed, its rows are skipped ({hint})")
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL, help="CTC model folder")
    parser.add_argument("--manifest", type=Path, default=DEFAULT_TEST, help="test manifest (JSONL)")
    parser.add_argument("--dev-manifest", type=Path, default=DEFAULT_DEV, help="dev manifest for weight tuning")
    parser.add_argument("--max-utts", type=int, default=200, help="test utterances, evenly spaced (0: all)")
    parser.add_argument("--max-dev-utts", type=int, default=0, help="dev utterances (0: all)")
    parser.add_argument("--token-lm", type=Path, default=DEFAULT_TOKEN_LM)
    parser.add_argument("--word-lm", type=Path, default=DEFAULT_WORD_LM)
    parser.add_argument("--source-lm", type=Path, default=DEFAULT_SOURCE_LM,
                        help=f"LODR rows: low-order token LM of the AM's training text (mu = {LODR_SOURCE_WEIGHT})")
    parser.add_argument("--beams", type=lambda s: [int(x) for x in _floats(s)], default=[8, 32])
    parser.add_argument("--lm-weights", type=_floats, default=[0.3, 0.5, 0.8, 1.2], help="lambda grid (natural log)")
    parser.add_argument("--token-bonuses", type=_floats, default=[0.0, 1.0, 2.0], help="beta grid, per piece")
    parser.add_argument("--word-bonuses", type=_floats, default=[0.0, 1.0, 2.0], help="beta grid, per word")
    parser.add_argument("--decoders", type=lambda s: s.split(","), default=list(DECODERS),
                        help=f"comma-separated subset of {','.join(DECODERS)}")
    parser.add_argument("--ours-batch", type=int, default=0,
                        help="also time asrkit's batched search with this many utterances per call")
    parser.add_argument("--topk-sweep", type=lambda s: [int(x) for x in _floats(s)], default=[],
                        help="also time asrkit with these prune_topk values (< beam) at the tuned weights")
    parser.add_argument("--ours-min-logp", type=_floats, default=[],
                        help="also time asrkit with these token_min_logp values (pyctcdecode's pre-beam rule, "
                        "e.g. -8,-5) at the tuned weights")
    parser.add_argument("--exact-rows", action="store_true",
                        help="also time asrkit without recombination, and without any pruning rule, at the tuned "
                        "weights")
    parser.add_argument("--python-rows", action="store_true",
                        help="also time asrkit's Python reference search (same hypotheses) at the tuned weights")
    parser.add_argument("--reuse-tuned", type=Path, default=None, metavar="JSON",
                        help="take the tuned weights (and dev grid) from this earlier JSON report instead of "
                        "tuning on dev; its rows of decoders not run now are shown, labelled, without ratios")
    parser.add_argument("--min-seconds", type=float, default=2.0,
                        help="repeat a decoder's timed pass over the test set until this much CPU time")
    parser.add_argument("--timing-rounds", type=int, default=1,
                        help="extra round-robin timing passes over all configurations (rows keep the fastest)")
    parser.add_argument("--cache-dir", type=Path, default=DEFAULT_CACHE, help="emission cache folder")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="markdown report")
    parser.add_argument("--profile", type=int, default=200,
                        help="time the parts of asrkit's decode calls on this many test utterances (0: no profile)")
    args = parser.parse_args(_glue_negative_lists(list(sys.argv[1:] if argv is None else argv)))
    unknown = set(args.decoders) - set(DECODERS)
    if unknown:
        raise UserError(f"unknown decoder(s) {', '.join(sorted(unknown))} (available: {', '.join(DECODERS)})")
    torch.set_num_threads(1)
    reuse = load_tuned(args.reuse_tuned) if args.reuse_tuned is not None else None

    model_dir = args.model if (args.model / "config.json").is_file() else args.model / "model"
    tokenizer = Tokenizer(model_dir / "tokenizer.model")
    test = compute_emissions(model_dir, args.manifest, args.max_utts or None, args.cache_dir)
    dev = compute_emissions(model_dir, args.dev_manifest, args.max_dev_utts or None, args.cache_dir)
    decs = build_decoders(args.decoders, args.beams, tokenizer, args.token_lm, args.word_lm, args.ours_batch,
                          args.source_lm)
    if reuse is not None:  # fail before any decoding, not after an hour of it
        for dec in decs:
            if dec.unit != "-" and dec.decode_batch is None and (dec.name, dec.unit, dec.beam) not in reuse.best:
                raise UserError(f"{reuse.path}: no tuned weights for {dec.name} ({dec.unit} LM, beam {dec.beam}); "
                                "run without --reuse-tuned to tune it")

    rows: list[Row] = []
    timed: list[tuple[Decoder, Row]] = []  # every timed configuration, for the extra timing rounds
    tuning: list[tuple[Decoder, TuneResult]] = []
    ours_tuned: dict[tuple[str, int], TuneResult] = {}  # (unit, beam) -> asrkit's tuning
    for dec in decs:
        t0 = time.perf_counter()
        if dec.unit == "-":
            dev_wer = None
        else:
            if dec.decode_batch is not None and (dec.unit, dec.beam) in ours_tuned:
                tr = ours_tuned[(dec.unit, dec.beam)]  # the batched search is the same search: same weights
            elif reuse is not None:
                tr = reuse.best[(dec.name, dec.unit, dec.beam)]
                tuning.append((dec, tr))
                if dec.name == "asrkit":
                    ours_tuned[(dec.unit, dec.beam)] = tr
            else:
                bonuses = args.token_bonuses if dec.unit == "token" else args.word_bonuses
                tr = tune(dec, dev, args.lm_weights, bonuses)
                tuning.append((dec, tr))
                if dec.name == "asrkit":
                    ours_tuned[(dec.unit, dec.beam)] = tr
            dec.set_weights(*tr.best)
            dec.weights = tr.best
            dev_wer = tr.dev_wer
        res = run_decoder(dec, test, batch=args.ours_batch if dec.decode_batch is not None else 1,
                          min_seconds=args.min_seconds)
        rows.append(Row(dec.name, dec.unit, dec.beam, dec.weights, dev_wer, res, dec.setup_s))
        timed.append((dec, rows[-1]))
        log(f"[{len(rows)}/{len(decs)}] {dec.name} ({dec.unit} LM) beam {dec.beam}: lambda,beta={dec.weights} "
            f"dev {dev_wer if dev_wer is None else round(dev_wer, 2)} test WER {res.wer:.2f}, "
            f"{res.utts_per_s:.1f} utts/s (best of {len(res.pass_cpu)} passes: cpu {res.cpu_s:.2f} s; "
            f"wall {res.wall_s:.1f} s in all); {time.perf_counter() - t0:.0f} s with tuning")

    def run_variants(options: Sequence[dict], names: Sequence[str] = ("asrkit",)) -> list[Row]:
        """asrkit's decoders (those named ``names``) again with other pruning, at the weights tuned without it."""
        out: list[Row] = []
        for dec in decs:
            if dec.name not in names or dec.variant is None:
                continue
            for opts in options:
                if opts.get("prune_topk") is not None and opts["prune_topk"] >= dec.beam:
                    continue
                var = dec.variant(**opts)
                var.set_weights(*dec.weights)
                res = run_decoder(var, test, min_seconds=args.min_seconds)
                out.append(Row(var.name, var.unit, var.beam, dec.weights, None, res, var.setup_s))
                timed.append((var, out[-1]))
                log(f"[variant] {var.name} ({var.unit} LM) beam {var.beam}: test WER {res.wer:.2f}, "
                    f"{res.utts_per_s:.1f} utts/s")
        return out

    sweep_rows = run_variants([{"prune_topk": k} for k in args.topk_sweep])
    min_logp_rows = run_variants([{"token_min_logp": v} for v in args.ours_min_logp])
    if args.exact_rows:
        min_logp_rows += run_variants([{"recombine": False}], ("asrkit", "asrkit LODR", "asrkit beam (no LM)"))
        min_logp_rows += run_variants([{"token_min_logp": None, "beam_prune_logp": None, "recombine": False}])
    python_rows = run_variants([{"python": True}] if args.python_rows else [])
    for r in python_rows:  # the reference must read exactly what the compiled core reads
        main_row = next(m for m in rows if (m.decoder, m.unit, m.beam) == ("asrkit", r.unit, r.beam))
        if r.result.hyps != main_row.result.hyps:
            log(f"WARNING: {r.decoder} ({r.unit} LM, beam {r.beam}) differs from the compiled search")

    # More timing passes, round-robin over all configurations, so that a burst of load from other
    # processes on a shared machine does not hit one decoder only; each row keeps its fastest pass.
    for rnd in range(args.timing_rounds):
        for dec, row in timed:
            retime(dec, test, row.result, batch=args.ours_batch if dec.decode_batch is not None else 1,
                   min_seconds=args.min_seconds)
        log(f"timing round {rnd + 1}/{args.timing_rounds} done")

    previous_rows: list[Row] = []
    if reuse is not None:
        run_now = {(r.decoder, r.unit, r.beam) for r in rows}
        if reuse.n_test != len(test):
            log(f"note: {reuse.path} is from {reuse.n_test} test utterances, not {len(test)}: its rows are not shown")
        else:
            for r in reuse.rows:
                if (r["decoder"], r["unit"], int(r["beam"])) in run_now:
                    continue
                passes = [float(x) for x in r["pass_cpu_s"]]
                res = RunResult([], float(r["test_wer"]), reuse.n_test, reuse.audio_s, passes)
                previous_rows.append(Row(f"{r['decoder']} (previous run)", r["unit"], int(r["beam"]),
                                         (float(r["lambda"]), float(r["beta"])), r["dev_wer"], res,
                                         float(r["setup_s"]), previous=True))
    table = format_table([*rows, *previous_rows])
    targets = target_lines(rows)
    print(table)
    print("\n".join(targets))
    sweep_table = format_table([*rows, *sweep_rows], show=sweep_rows) if sweep_rows else ""
    if sweep_table:
        print(sweep_table)
    min_logp_table = format_table([*rows, *min_logp_rows], show=min_logp_rows) if min_logp_rows else ""
    if min_logp_table:
        print(min_logp_table)
    python_table = speedup_table(rows, python_rows) if python_rows else ""
    if python_table:
        print(python_table)
    overhead = overhead_table(rows)
    overhead_plain = overhead_table(min_logp_rows, " (no recombine)")
    for table_text in (overhead, overhead_plain):
        if table_text:
            print(table_text)

    profile = ""
    if args.profile > 0:
        profile = profile_table([d for d in decs if d.name in ("asrkit", "asrkit LODR")], test[: args.profile])
        print(profile)

    def grid_values(field: str, unit: str | None, given: list[float]) -> list[float]:
        """The grid the weights were tuned on: this run's, or the reused report's."""
        if reuse is None:
            return given
        return sorted({float(g[field]) for g in reuse.grid if (unit is None or g["unit"] == unit)
                       and g["decoder"] == "asrkit"}) or given

    audio = sum(u.duration for u in test)
    cpu = platform.processor() or platform.machine()
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                   if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    md = [
        "# Peer benchmark: CTC + n-gram fusion (bench/peer_ctc_lm.py)",
        "",
        f"`{' '.join(['python', 'bench/peer_ctc_lm.py', *(argv if argv is not None else sys.argv[1:])])}`",
        "",
        f"- test: {len(test)} utterances of {args.manifest.name} (evenly spaced), {audio:.0f} s of audio; "
        f"dev (tuning): {len(dev)} utterances of {args.dev_manifest.name}",
        f"- model: {model_dir}; token LM: {args.token_lm.name}; word LM: {args.word_lm.name}",
        f"- one CPU thread ({cpu}); utts/s from the process CPU time of the decode calls, fastest of "
        f"{1 + args.timing_rounds}+ passes (round-robin over decoders; a pass repeats until {args.min_seconds:g} "
        "CPU s); x real time = audio s / CPU s",
        f"- grid: lambda in {grid_values('lambda', None, args.lm_weights)}; beta per piece in "
        f"{grid_values('beta', 'token', args.token_bonuses)} (token LM), per word in "
        f"{grid_values('beta', 'word', args.word_bonuses)} (word LM); flashlight lexicon-free has no per-token "
        "bonus (beta = 0)",
        "- weight mapping: asrkit lambda = pyctcdecode alpha = flashlight lm_weight / ln(10); beta = pyctcdecode "
        "beta = flashlight word_score (see the script's docstring)",
        "- versions: " + ", ".join(_versions()),
        *([f"- weights not tuned in this run: taken from {_rel(reuse.path)}, tuned by "
           f"`python bench/peer_ctc_lm.py {' '.join(reuse.tuned_by)}`"
           + ("; rows marked (previous run) are copied from that file: other run, other machine load, so no "
              "speed ratios are computed against them" if previous_rows else "")] if reuse is not None else []),
        "",
        table,
        "",
        "Targets of the issue (WER no worse than the best peer; throughput >= 3x pyctcdecode and on par with "
        "flashlight's C++ decoder):",
        "",
        *targets,
        "",
        *([
            "## asrkit with fewer pieces tried per frame (prune_topk < beam; weights tuned at prune_topk = beam)",
            "",
            "Not a tuned peer comparison: it shows how much of the speed gap is the number of (prefix, piece) "
            "expansions per frame, which pyctcdecode cuts with its log p >= -5 rule.",
            "",
            sweep_table,
            "",
        ] if sweep_table else []),
        *([
            "## asrkit with other pruning (weights tuned for the main rows)",
            "",
            "The main rows use token_min_logp -5 (of the `beam` best pieces of a frame only those with log p >= "
            "-5 extend a prefix; a frame where none passes makes no LM call), beam_prune_logp 10 and "
            "recombination; each row here leaves out what its name says. Ratios are against the peers timed in "
            "this run, at the same beam.",
            "",
            min_logp_table,
            "",
        ] if min_logp_table else []),
        *([
            "## Cost of the LM scorers: time per utterance relative to plain beam search (no LM)",
            "",
            "Same search, same pruning; shallow fusion (token / word n-gram, with its bonus scorer) and LODR "
            f"(token 4-gram and the source token 2-gram with mu = {LODR_SOURCE_WEIGHT}). Targets of the issue: "
            "shallow fusion <= 1.3x, LODR <= 1.5x.",
            "",
            overhead,
            "",
            *([
                "Without recombination (the prefix search of decoders/ctc_prefix_beam.py as the issue defines "
                "it): with no LM, recombination merges every pair of prefixes with the same last piece, so it "
                "makes plain beam search itself several times cheaper and the ratios above larger.",
                "",
                overhead_plain,
                "",
            ] if overhead_plain else []),
        ] if overhead else []),
        *([
            "## Compiled core vs the Python reference search (same weights, same hypotheses)",
            "",
            python_table,
            "",
        ] if python_table else []),
        "## Dev-set grid (WER %)" + (f" (from {_rel(reuse.path)})" if reuse is not None else ""),
        "",
        "| decoder | LM unit | beam | lambda | beta | dev WER % |",
        "|---|---|---|---|---|---|",
    ]
    grid = ([{"decoder": d.name, "unit": d.unit, "beam": d.beam, "lambda": lam, "beta": beta, "dev_wer": w}
             for d, tr in tuning for lam, beta, w in tr.grid] if reuse is None else reuse.grid)
    best_of = {(d.name, d.unit, d.beam): tr.best for d, tr in tuning}
    if reuse is not None:
        best_of.update({k: tr.best for k, tr in reuse.best.items()})
    for g in grid:
        mark = " **" if (g["lambda"], g["beta"]) == best_of.get((g["decoder"], g["unit"], g["beam"])) else ""
        md.append(f"| {g['decoder']} | {g['unit']} | {g['beam']} | {g['lambda']:g} | {g['beta']:g} "
                  f"| {g['dev_wer']:.2f}{mark} |")
    if profile:
        md += ["", f"## Where asrkit's time goes (per utterance, {min(args.profile, len(test))} test utterances)", "",
               "A decode call = Python around the search (tensor to array, scorer lookup, hypotheses, text) + the "
               "compiled search; the search = its own work (pre-beam top-k, prefix expansion, sorting) + the "
               "scorers (n-gram lookups, cached per (state, unit)). CPU time, best of 3 passes.", "", profile, ""]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(md) + "\n", encoding="utf-8")
    sections = [("main", rows), ("topk", sweep_rows), ("min_logp", min_logp_rows), ("python", python_rows),
                ("previous", previous_rows)]
    run_argv = list(argv if argv is not None else sys.argv[1:])
    data = {
        "argv": run_argv,
        "tuned_by": run_argv if reuse is None else reuse.tuned_by,
        "n_test": len(test), "n_dev": len(dev), "audio_s": audio, "versions": _versions(),
        "rows": [{"decoder": r.decoder, "unit": r.unit, "beam": r.beam, "lambda": r.weights[0], "beta": r.weights[1],
                  "dev_wer": r.dev_wer, "test_wer": r.result.wer, "utts_per_s": r.result.utts_per_s,
                  "pass_cpu_s": r.result.pass_cpu, "setup_s": r.setup_s, "section": section}
                 for section, part in sections for r in part],
        "grid": grid,
    }
    args.out.with_suffix(".json").write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    log(f"wrote {args.out} and {args.out.with_suffix('.json').name}")
    return 0


def _rel(path: Path) -> str:
    """``path`` relative to the repository when inside it (reports should not carry this machine's paths)."""
    try:
        return str(path.resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


def _versions() -> list[str]:
    from importlib.metadata import PackageNotFoundError, version

    out = []
    for pkg in ("torch", "numpy", "kenlm", "pyctcdecode", "flashlight-text"):
        try:
            out.append(f"{pkg} {version(pkg)}")
        except PackageNotFoundError:
            out.append(f"{pkg} (not installed)")
    return out


if __name__ == "__main__":
    try:
        sys.exit(main())
    except UserError as err:
        print(f"peer_ctc_lm: error: {err}", file=sys.stderr)
        sys.exit(2)
