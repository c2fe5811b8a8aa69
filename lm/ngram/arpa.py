"""Reading ARPA files without KenLM: the unigram vocabulary, the unit guess, and telling a KenLM binary
apart. Shared by the KenLM wrapper (:mod:`lm.ngram.kenlm_lm`), the builder (:mod:`lm.ngram.build`), G.fst
and TLG graph building."""

from __future__ import annotations

import gzip
from collections.abc import Iterable
from pathlib import Path

from asrkit.errors import UserError
from asrkit.tokenizer.spm import WORD_START

SPECIAL = ("<s>", "</s>")
_BINARY_MAGIC = b"mmap lm "


def is_kenlm_binary(path: str | Path) -> bool:
    """True for a KenLM binary (``build_binary`` output), which starts with ``mmap lm http://kheafield.com``."""
    with open(path, "rb") as f:
        return f.read(len(_BINARY_MAGIC)) == _BINARY_MAGIC


def guess_unit(vocabulary: Iterable[str]) -> str:
    """The unit of an n-gram LM without a ``.meta.json``: ``"token"`` when its vocabulary holds sentencepiece
    pieces (words never start with the word-start mark), else ``"word"``."""
    return "token" if any(w.startswith(WORD_START) for w in vocabulary) else "word"


def read_unigrams(path: str | Path) -> list[str]:
    """The words of an ARPA file's ``\\1-grams:`` section, in file order (``.gz`` files too).

    Stops at the next section, so a large ARPA is not read past its unigrams.
    """
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    words: list[str] = []
    try:
        with opener(path, "rt", encoding="utf-8") as f:
            seen_data = in_unigrams = False
            for line in f:
                line = line.strip()
                if not seen_data:
                    if not line:
                        continue
                    if line != "\\data\\":
                        raise UserError(f"{path}: not an ARPA file (first line is {line[:40]!r}, not \\data\\)")
                    seen_data = True
                elif line == "\\1-grams:":
                    in_unigrams = True
                elif in_unigrams:
                    if not line:
                        continue
                    if line.startswith("\\"):
                        break
                    fields = line.split()
                    if len(fields) < 2:
                        raise UserError(f"{path}: malformed unigram line {line[:40]!r}")
                    words.append(fields[1])
    except UnicodeDecodeError:
        raise UserError(f"{path}: not an ARPA file (not UTF-8 text)") from None
    except (OSError, EOFError) as err:
        raise UserError(f"{path}: cannot read ({err})") from None
    if not words:
        raise UserError(f"{path}: ARPA file has no \\1-grams: section")
    return words
