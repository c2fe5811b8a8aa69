"""Sentencepiece wrapper. Id 0 is the CTC blank (trained as sentencepiece's pad piece), id 1 is
``<unk>``; there are no BOS/EOS pieces, so model output ids and LM units are the same numbers."""

from __future__ import annotations

import io
from collections.abc import Iterable
from pathlib import Path

import sentencepiece as spm

from asrkit.errors import UserError

BLANK_PIECE = "<blk>"
WORD_START = "\u2581"  # sentencepiece's mark on the first piece of a word ("▁")
UNIT_TYPES = ("bpe", "char")


class Tokenizer:
    def __init__(self, model_file: str | Path):
        model_file = Path(model_file)
        if not model_file.exists():
            raise UserError(f"{model_file}: no such sentencepiece model")
        self.path = model_file
        try:
            self.sp = spm.SentencePieceProcessor(model_file=str(model_file))
        except Exception:
            raise UserError(f"{model_file}: not a sentencepiece model") from None
        if self.sp.id_to_piece(0) != BLANK_PIECE:
            raise UserError(f"{model_file}: id 0 is {self.sp.id_to_piece(0)!r}, expected the blank {BLANK_PIECE!r}")

    @property
    def vocab_size(self) -> int:
        return self.sp.get_piece_size()

    @property
    def blank_id(self) -> int:
        return 0

    def encode(self, text: str) -> list[int]:
        return self.sp.encode(text)

    def decode(self, ids: Iterable[int]) -> str:
        # One space between words: a lone word-start piece (``▁``) between two words decodes to two.
        return " ".join(self.sp.decode([i for i in ids if i != 0]).split())

    def pieces(self) -> list[str]:
        return [self.sp.id_to_piece(i) for i in range(self.vocab_size)]


def train_tokenizer(texts: Iterable[str], output: str | Path, vocab_size: int = 500, units: str = "bpe") -> Tokenizer:
    """Train a sentencepiece model on (already normalised) sentences; writes ``output`` (a .model file).

    ``units="bpe"``: BPE with ``vocab_size`` pieces. ``units="char"``: one piece per character of the corpus
    (character coverage 1.0; ``vocab_size`` only caps it), the units of Chinese ASR. Without sentencepiece's
    dummy prefix, so Chinese text (no spaces once normalised) has no ``▁`` pieces and a unit is exactly a Han
    character; a space between Latin words is a ``▁`` piece of its own.
    """
    if units not in UNIT_TYPES:
        raise UserError(f"unknown tokenizer units {units!r} (available: {', '.join(UNIT_TYPES)})")
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    data = "\n".join(t for t in texts if t.strip())
    if not data:
        raise UserError("cannot train a tokenizer on an empty corpus")
    buf = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(data.splitlines()),
        model_writer=buf,
        vocab_size=vocab_size,
        model_type=units,
        character_coverage=1.0,
        add_dummy_prefix=units == "bpe",
        pad_id=0, pad_piece=BLANK_PIECE, unk_id=1, bos_id=-1, eos_id=-1,
        hard_vocab_limit=False,  # tiny corpora get fewer units instead of an error
        num_threads=1,  # determinism: multi-threaded BPE training can break ties differently
        minloglevel=2,
    )
    output.write_bytes(buf.getvalue())
    return Tokenizer(output)
