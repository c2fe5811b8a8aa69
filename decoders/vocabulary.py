"""The units of any CTC model, as the tokenizer interface the decoding engine reads.

Three sources: a sentencepiece model, a token list (``tokens.txt`` as icefall/k2/sherpa write it: ``piece id``
per line), or a character list with a word delimiter (wav2vec2's ``|``). The blank id is configurable (icefall:
0, wav2vec2: its pad token).

The engine finds word boundaries from unit strings: a unit starting with ``▁`` starts a word (sentencepiece).
A character vocabulary's delimiter is therefore shown to the engine as the unit ``▁`` (it starts a word and
adds no letter), so word LMs (``lm/ngram/word_fusion.py``), the word bonus and hotwords work on character
models unchanged: the word boundary is the delimiter. Units are case-folded (``casefold=True``) so that
they meet normalised text (:func:`asrkit.text.normalize_text`), the form of every LM and hotword; wav2vec2's
English vocabulary is upper case.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from asrkit.errors import UserError
from asrkit.tokenizer.spm import WORD_START

_UNKS = ("<unk>", "[UNK]", "<UNK>")


class Vocabulary:
    """Unit strings (id = index), the blank, the unknown unit and, for characters, the word delimiter."""

    def __init__(self, pieces: Sequence[str], blank_id: int = 0, unk_id: int | None = None,
                 word_delimiter_id: int | None = None, casefold: bool = True, sp=None, path: Path | None = None):
        if not pieces:
            raise UserError("the vocabulary is empty")
        if not 0 <= blank_id < len(pieces):
            raise UserError(f"blank id {blank_id} is outside the vocabulary (0..{len(pieces) - 1})")
        self._pieces = [p.casefold() if casefold and p not in _UNKS else p for p in pieces]
        self.blank_id = blank_id
        self.unk_id = unk_id if unk_id is not None else next((i for i, p in enumerate(pieces) if p in _UNKS), None)
        self.word_delimiter_id = word_delimiter_id
        if word_delimiter_id is not None:
            self._pieces[word_delimiter_id] = WORD_START
        self.sp = sp
        self.path = path  # a sentencepiece model's path (token-level LMs built with it are loaded against it)
        self._index: dict[str, int] = {}
        for i, p in enumerate(self._pieces):
            if i != blank_id:
                self._index.setdefault(p, i)
        self._longest = max(len(p) for p in self._pieces)

    # ---- constructors -------------------------------------------------------------------------------------
    @classmethod
    def from_sentencepiece(cls, path: str | Path, blank_id: int = 0) -> Vocabulary:
        import sentencepiece as spm

        path = Path(path)
        if not path.is_file():
            raise UserError(f"{path}: no such sentencepiece model")
        try:
            sp = spm.SentencePieceProcessor(model_file=str(path))
        except Exception:
            raise UserError(f"{path}: not a sentencepiece model") from None
        pieces = [sp.id_to_piece(i) for i in range(sp.get_piece_size())]
        unk = sp.unk_id()
        return cls(pieces, blank_id, unk if unk >= 0 else None, casefold=False, sp=sp, path=path)

    @classmethod
    def from_tokens_txt(cls, path: str | Path, blank_id: int | None = None) -> Vocabulary:
        """``piece id`` per line (icefall/k2/sherpa ``tokens.txt``); the blank is ``<blk>``/``<blank>``/``<eps>``
        when present, else id 0, unless ``blank_id`` is given."""
        path = Path(path)
        try:
            lines = path.read_text(encoding="utf-8-sig").splitlines()
        except FileNotFoundError:
            raise UserError(f"--tokens {path}: no such file") from None
        except (OSError, UnicodeDecodeError) as err:
            raise UserError(f"--tokens {path}: cannot read as UTF-8 text ({err})") from None
        table: dict[int, str] = {}
        for no, line in enumerate(lines, 1):
            if not line.strip():
                continue
            parts = line.rsplit(maxsplit=1)
            if len(parts) != 2 or not parts[1].lstrip("-").isdigit():
                raise UserError(f"--tokens {path}:{no}: expected 'piece id', got {line.strip()[:40]!r}")
            i = int(parts[1])
            if i < 0 or i in table:
                raise UserError(f"--tokens {path}:{no}: id {i} is negative or repeated")
            table[i] = parts[0]
        if not table:
            raise UserError(f"--tokens {path}: no tokens")
        if sorted(table) != list(range(len(table))):
            raise UserError(f"--tokens {path}: ids must be 0..{len(table) - 1} without gaps")
        pieces = [table[i] for i in range(len(table))]
        if blank_id is None:
            blank_id = next((i for i, p in enumerate(pieces) if p in ("<blk>", "<blank>", "<eps>", "<pad>")), 0)
        delim = None
        if not any(p.startswith(WORD_START) for p in pieces) and "|" in pieces:  # a character list (wav2vec2)
            delim = pieces.index("|")
        return cls(pieces, blank_id, word_delimiter_id=delim)

    @classmethod
    def from_chars(cls, chars: Sequence[str], blank_id: int = 0, delimiter: str = "|",
                   unk_id: int | None = None) -> Vocabulary:
        """A character list, ``delimiter`` between words (wav2vec2: ``|``)."""
        if delimiter not in chars:
            raise UserError(f"the word delimiter {delimiter!r} is not in the character list")
        return cls(list(chars), blank_id, unk_id, word_delimiter_id=list(chars).index(delimiter))

    # ---- the tokenizer interface of the engine ------------------------------------------------------------
    @property
    def vocab_size(self) -> int:
        return len(self._pieces)

    def pieces(self) -> list[str]:
        return list(self._pieces)

    def encode(self, text: str) -> list[int]:
        """Normalised text -> unit ids. Sentencepiece: its own segmentation; characters: letters with the
        delimiter between words; other token lists: the longest known piece first, each word starting with
        ``▁`` (the greedy spelling; a model may spell some words otherwise). Unknown text -> ``unk_id``
        (or -1 without one)."""
        if self.sp is not None:
            return list(self.sp.encode(text))
        unk = -1 if self.unk_id is None else self.unk_id
        out: list[int] = []
        for k, word in enumerate(text.split()):
            if self.word_delimiter_id is not None:
                if k:
                    out.append(self.word_delimiter_id)
                out += [self._index.get(ch, unk) for ch in word]
                continue
            rest = WORD_START + word
            while rest:
                for n in range(min(len(rest), self._longest), 0, -1):
                    hit = self._index.get(rest[:n])
                    if hit is not None:
                        out.append(hit)
                        rest = rest[n:]
                        break
                else:
                    out.append(unk)
                    rest = rest[1:]
        return out

    def decode(self, ids: Iterable[int]) -> str:
        if self.sp is not None:
            # One space between words, as below: a lone word-start piece decodes to a second space.
            return " ".join(self.sp.decode([i for i in ids if i != self.blank_id]).split())
        text = "".join(self._pieces[i] for i in ids if i != self.blank_id and not _special(self._pieces[i]))
        return " ".join(text.replace(WORD_START, " ").split())


def _special(piece: str) -> bool:
    """``<s>``, ``</s>``, ``<unk>``, ``<sos/eos>``, ``[PAD]``: control units, not text."""
    return len(piece) > 2 and ((piece[0] == "<" and piece[-1] == ">") or (piece[0] == "[" and piece[-1] == "]"))
