"""An ARPA or KenLM-binary n-gram LM behind :class:`lm.interface.LanguageModel`, scored with the ``kenlm`` module.

Scores are natural logs. KenLM stores and returns log10 probabilities, so every score is multiplied by
``ln 10``: ``ln p = log10 p * ln(10)``.

State: a batched state is a Python ``list`` of ``kenlm.State`` objects, one per hypothesis (the
last ``order - 1`` units KenLM needs, as its own opaque context). ``advance`` writes each child's
context into a fresh ``kenlm.State`` through ``Model.BaseScore(parent, unit, child)``; states are
never modified after they are made, so several hypotheses may share one object.

Units:

- ``unit == "token"``: the vocabulary is the acoustic model's sentencepiece piece list, so unit id ==
  acoustic token id. Id 0 is the CTC blank ``<blk>``, which is not an LM unit: it scores
  :data:`BLANK_LOGPROB` (a large finite negative number rather than ``-inf``, so that ``0 * score``
  stays 0 when an LM weight of zero is tried), and advancing with it keeps the parent's state.
  Id 1 is ``<unk>``, which KenLM scores as its ``<unk>``; pieces of the tokenizer that never occur
  in the LM's corpus are also scored as ``<unk>`` by KenLM (:attr:`KenLM.unk_ids` lists them).
- ``unit == "word"``: the vocabulary is the LM's unigrams without ``<s>`` and ``</s>`` (``<unk>``
  included; ARPA order, so ``<unk>`` is id 0 for lmplz models). For an ARPA file it is read from
  the ``\\1-grams:`` section. A KenLM binary cannot list its vocabulary through the Python module,
  so it comes from ``LM.bin.meta.json`` (``"vocab"``, written by ``asrkit lm ngram``) or else from a
  Kaldi ``words.txt`` next to the binary (``<eps>``, ``#0``, ``<s>`` and ``</s>`` skipped).
  :meth:`KenLM.encode_text` maps words outside the vocabulary to ``<unk>``.

The unit (when ``LM.meta.json`` does not say it) is guessed: ``token`` when the LM's unigrams
contain sentencepiece word-start pieces (``▁...``), else ``word``.
"""

from __future__ import annotations

import json
import math
import re
import sys
from collections.abc import Sequence
from pathlib import Path

import torch

from asrkit.errors import UserError
from asrkit.text import lm_words
from asrkit.tokenizer.spm import Tokenizer
from asrkit.utils.native_stderr import captured_stderr
from lm.ngram.arpa import SPECIAL, guess_unit, is_kenlm_binary, read_unigrams  # noqa: F401  (re-exported)
from lm.ngram.build import file_sha1, meta_path

LN10 = math.log(10.0)
BLANK_LOGPROB = -1.0e10
def _read_words_txt(path: Path) -> list[str]:
    words = []
    for line in path.read_text(encoding="utf-8").splitlines():
        fields = line.split()
        if not fields:
            continue
        word = fields[0]
        if word in ("<eps>", *SPECIAL) or word.startswith("#"):
            continue  # FST-only symbols, not LM units
        words.append(word)
    return words


def _load_meta(path: Path) -> dict:
    mp = meta_path(path)
    if not mp.exists():
        return {}
    try:
        meta = json.loads(mp.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise UserError(f"{mp}: invalid JSON ({err})") from None
    if not isinstance(meta, dict):
        raise UserError(f"{mp}: expected a JSON object")
    return meta


def _load_model(path: Path):
    import kenlm

    config = kenlm.Config()
    config.show_progress = False  # no progress bar on stderr for every load
    config.arpa_complain = kenlm.ARPALoadComplain.NONE
    # KenLM's C++ also writes to fd 2 directly; that text is folded into our one line, never passed through.
    with captured_stderr() as native:
        try:
            model = kenlm.Model(str(path), config)
        except (OSError, RuntimeError, ValueError) as err:
            error = kenlm_message(str(err))
        else:
            error = None
    if error is not None:
        raise UserError(f"{path}: cannot load n-gram LM: {error}") from None
    if native:
        print(f"warning: {path}: {' '.join(native)[:200]}", file=sys.stderr)
    return model


def kenlm_message(text: str) -> str:
    """KenLM's exception text (source file, C++ signature, failed condition, message, byte offset, over
    several lines) -> its message alone, on one line: "Expected tab after probability in the 1-gram at byte 43"."""
    text = " ".join(text.split())
    m = re.search(r"threw \w+(?: because `.*?')?\.\s*(.*)$", text)
    if m:
        text = m.group(1)
    else:
        text = re.sub(r"^Cannot read model '.*?' \(", "", text)
    text = re.sub(r"\s*Byte: \d+\)?$", "", text).rstrip(")").strip()
    return text or "unreadable file"


class KenLM:
    """A KenLM model (ARPA or binary) as a :class:`lm.interface.LanguageModel` (see the module docstring)."""

    def __init__(self, model, unit: str, vocab: Sequence[str], path: Path, tokenizer: Tokenizer | None = None):
        import kenlm

        self._kenlm = kenlm
        self.model = model
        self.unit = unit
        self.path = path
        self.tokenizer = tokenizer
        self.order: int = model.order
        self._vocab = list(vocab)
        # The string KenLM looks up for each unit id. For token LMs the blank never reaches KenLM.
        self._blank = 0 if unit == "token" else None
        self._index = {w: i for i, w in enumerate(self._vocab)}
        if unit == "token":
            self.unk_id = 1
        else:
            if "<unk>" not in self._index:
                # lmplz always writes <unk>; other toolkits may not. KenLM still scores <unk> (its default).
                self._vocab.insert(0, "<unk>")
                self._index = {w: i for i, w in enumerate(self._vocab)}
            self.unk_id = self._index["<unk>"]
        # Units KenLM scores as <unk>: <unk> itself and, for token LMs, pieces absent from the LM.
        self.unk_ids: set[int] = {self.unk_id} | {
            i for i, w in enumerate(self._vocab) if i != self._blank and w != "<unk>" and w not in model
        }

    # ------------------------------------------------------------------ loading

    @classmethod
    def load(cls, path: str | Path, tokenizer: str | Path | Tokenizer | None = None) -> KenLM:
        """Open an ARPA (``.arpa``/``.arpa.gz``) or KenLM binary file.

        ``tokenizer`` (the acoustic model's sentencepiece model) is required for token-level LMs and
        checked against the LM: against the tokenizer sha1 in ``LM.meta.json`` when there is one,
        and, for ARPA files, every unigram must be one of its pieces. It is ignored for word LMs.
        """
        path = Path(path)
        if not path.is_file():
            raise UserError(f"{path}: no such language model file")
        try:
            binary = is_kenlm_binary(path)
        except OSError as err:
            raise UserError(f"{path}: cannot read ({err})") from None
        meta = _load_meta(path)
        unigrams = None if binary else read_unigrams(path)  # also rejects non-ARPA text with a clear message
        tok = tokenizer if isinstance(tokenizer, Tokenizer) or tokenizer is None else Tokenizer(tokenizer)
        model = _load_model(path)

        unit = meta.get("unit")
        if unit is None:
            if unigrams is not None:
                unit = guess_unit(unigrams)
            elif tok is not None:
                unit = guess_unit(p for p in tok.pieces() if p in model)
            else:
                unit = "word"
        if unit not in ("token", "word"):
            raise UserError(f"{meta_path(path)}: unknown unit {unit!r} (expected token or word)")

        if unit == "token":
            if tok is None:
                raise UserError(f"{path}: a token-level LM needs the acoustic model's tokenizer (--tokenizer SPM)")
            mismatch = f"{path}: tokenizer {tok.path} does not match the LM's vocabulary"
            want = meta.get("tokenizer_sha1")
            if want is not None and want != file_sha1(tok.path):
                raise UserError(f"{mismatch} (the LM was built with a tokenizer of sha1 {want[:12]})")
            if unigrams is not None:
                pieces = set(tok.pieces())
                foreign = [w for w in unigrams if w not in pieces and w not in (*SPECIAL, "<unk>")]
                if foreign:
                    raise UserError(f"{mismatch} ({len(foreign)} LM units are not pieces, e.g. {foreign[0]!r})")
            return cls(model, "token", tok.pieces(), path, tok)

        if unigrams is not None:
            vocab = [w for w in unigrams if w not in SPECIAL]
        elif isinstance(meta.get("vocab"), list):
            vocab = meta["vocab"]
        elif (path.parent / "words.txt").is_file():
            vocab = _read_words_txt(path.parent / "words.txt")
        else:
            raise UserError(
                f"{path}: cannot list the vocabulary of a KenLM binary; build it with `asrkit lm ngram` "
                f"(writes {meta_path(path).name}) or put a words.txt next to it"
            )
        return cls(model, "word", vocab, path, None)

    # ------------------------------------------------------------------ LanguageModel

    @property
    def vocab(self) -> list[str]:
        """Unit strings, index = unit id (tokenizer pieces for token LMs, LM words for word LMs)."""
        return self._vocab

    def init_state(self, batch: int) -> list:
        """``batch`` states after ``<s>``."""
        state = self._kenlm.State()
        self.model.BeginSentenceWrite(state)
        return [state] * batch  # shared: states are never modified in place

    def _row(self, state, units: Sequence[int]) -> list[float]:
        base, scratch, words, blank = self.model.BaseScore, self._kenlm.State(), self._vocab, self._blank
        return [BLANK_LOGPROB if u == blank else base(state, words[u], scratch) * LN10 for u in units]

    def score(self, state: list, candidates: torch.Tensor | None = None) -> torch.Tensor:
        """ln p(unit | prefix) for every unit, shape (B, V), or for ``candidates`` (B, K) of unit ids, shape (B, K).

        Each entry is one ``BaseScore`` call (a hash lookup per order), so full-vocabulary scoring costs
        B * V lookups; rows of identical states in a batch are computed once.
        """
        if candidates is None:
            full = range(len(self._vocab))
            rows: dict = {}
            out = []
            for s in state:
                if s not in rows:
                    rows[s] = self._row(s, full)
                out.append(rows[s])
            return torch.tensor(out, dtype=torch.float32).reshape(len(state), len(self._vocab))
        if candidates.dim() != 2 or candidates.shape[0] != len(state):
            raise ValueError(f"candidates must have shape (B={len(state)}, K), got {tuple(candidates.shape)}")
        self._check_ids(candidates)
        out = [self._row(s, c) for s, c in zip(state, candidates.tolist())]
        return torch.tensor(out, dtype=torch.float32).reshape(candidates.shape)

    def advance(self, state: list, parents: torch.Tensor, units: torch.Tensor) -> list:
        """New states: ``state[parents[i]]`` extended by ``units[i]`` (the blank keeps the parent's state)."""
        self._check_ids(units)
        base, words, blank, new_state = self.model.BaseScore, self._vocab, self._blank, self._kenlm.State
        out = []
        for p, u in zip(parents.tolist(), units.tolist()):
            if u == blank:
                out.append(state[p])
                continue
            child = new_state()
            base(state[p], words[u], child)
            out.append(child)
        return out

    def select_states(self, state: list, rows: torch.Tensor) -> list:
        """Rows ``rows`` of ``state``, unchanged (states are immutable, so rows are shared)."""
        return [state[i] for i in rows.tolist()]

    def concat_states(self, states: Sequence[list]) -> list:
        """One batch holding the rows of ``states`` in order."""
        return [s for batch in states for s in batch]

    def final_score(self, state: list) -> torch.Tensor:
        """ln p(``</s>`` | prefix), shape (B,)."""
        scratch = self._kenlm.State()
        return torch.tensor([self.model.BaseScore(s, "</s>", scratch) * LN10 for s in state], dtype=torch.float32)

    def score_sentences(self, sentences: Sequence[Sequence[int]]) -> torch.Tensor:
        """ln p(w_1..w_n ``</s>`` | ``<s>``) = ln(10) * sum_i log10 p(w_i | w_{i-n+1}..w_{i-1}), shape (N,), float64.

        Sums in float64 (perplexity adds many of them); blanks (token LMs) are skipped.
        """
        base, words, blank = self.model.BaseScore, self._vocab, self._blank
        totals = []
        for sent in sentences:
            if isinstance(sent, torch.Tensor):
                sent = sent.tolist()
            state, nxt = self._kenlm.State(), self._kenlm.State()
            self.model.BeginSentenceWrite(state)
            total = 0.0
            for u in sent:
                if u == blank:
                    continue
                total += base(state, words[u], nxt)
                state, nxt = nxt, state
            total += base(state, "</s>", nxt)
            totals.append(total * LN10)
        return torch.tensor(totals, dtype=torch.float64)

    def encode_text(self, text: str) -> list[int]:
        """Normalised text -> unit ids: sentencepiece ids (token LM) or word ids with unknown words -> ``<unk>``."""
        if self.unit == "token":
            return self.tokenizer.encode(text)
        return [self._index.get(w, self.unk_id) for w in lm_words(text)]

    # ------------------------------------------------------------------ helpers

    def _check_ids(self, ids: torch.Tensor) -> None:
        if ids.numel() and (int(ids.min()) < 0 or int(ids.max()) >= len(self._vocab)):
            raise ValueError(f"unit ids must be in [0, {len(self._vocab)}), got {int(ids.min())}..{int(ids.max())}")

    def __repr__(self) -> str:
        return f"KenLM({str(self.path)!r}, unit={self.unit!r}, order={self.order}, vocab={len(self._vocab)})"
