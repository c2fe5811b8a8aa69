"""The one text normalisation asrkit uses, for training targets and for scoring alike.

Using the same function on both sides means a model is never penalised for a difference it was
never asked to learn (case, punctuation, quote style). :func:`normalize_text` applies, in order:

1. Unicode NFKC, so full-width forms, ligatures and compatibility characters become their plain
   equivalents (``ＡＢＣ`` -> ``ABC``, ``ﬁ`` -> ``fi``, ``，`` -> ``,``).
2. Case folding (:meth:`str.casefold`, a stronger ``lower``: ``ß`` -> ``ss``).
3. Curly and typographic single quotes (``‘ ’ ‛ ′ ʼ``) become the ASCII apostrophe ``'``;
   curly double quotes (``“ ” „ ‟ ″``) become ``"``.
4. Every punctuation or symbol character (Unicode categories ``P*`` and ``S*``) is replaced by a
   space, except an apostrophe with a letter on both sides, which is kept (``don't``, ``israel's``).
   A leading or trailing apostrophe (``'tis``, ``dogs'``) is removed like other punctuation, and so
   is one next to a Han character: Chinese has no contractions, so there it is a quotation mark
   (``‘过去’`` -> ``过去``).
5. Runs of whitespace become one space; leading and trailing spaces are stripped.
6. Chinese (``lang`` ``zh``/``cmn``/``yue``, with any region suffix such as ``zh-CN``, or text
   that is mostly Han, see :func:`is_mostly_han`): spaces between two Han characters are removed,
   so ``你 好`` and ``你好`` score alike. Spaces between Han and other characters stay.

Letters keep their accents and marks (``canción`` stays ``canción``; combining marks of Indic
scripts are not punctuation), digits stay digits (no number verbalisation).

:func:`chars_for_cer` gives the units of the character error rate: the characters of a normalised
text, without its spaces. :func:`lm_words` gives the words a word-level LM counts: the space-separated
words, except that each Han character is a word of its own (Chinese writes no spaces between words and
asrkit has no word segmenter, so a Chinese "word LM" is a character LM, and its lexicon for TLG decoding
spells each character with one unit).
"""

from __future__ import annotations

import re
import unicodedata

# Typographic quotes: single ones are apostrophes in running text, double ones are plain quotes.
_QUOTE_MAP = str.maketrans(
    {
        "\u2018": "'",  # left single quotation mark
        "\u2019": "'",  # right single quotation mark (the usual typographic apostrophe)
        "\u201b": "'",  # single high-reversed-9 quotation mark
        "\u2032": "'",  # prime, often typed for an apostrophe
        "\u02bc": "'",  # modifier letter apostrophe (a letter, so it would otherwise survive)
        "\u201c": '"',
        "\u201d": '"',
        "\u201e": '"',
        "\u201f": '"',
        "\u2033": '"',
    }
)

# CJK unified ideographs, extension A, compatibility ideographs, ideographic zero, extensions B+.
_HAN = "\u3007\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f"
_HAN_CHAR = re.compile(f"[{_HAN}]")
_WORD = re.compile(f"[{_HAN}]|[^\\s{_HAN}]+")
_SPACE_BETWEEN_HAN = re.compile(f"(?<=[{_HAN}]) +(?=[{_HAN}])")

_CHINESE_LANGS = {"zh", "cmn", "yue"}


def is_mostly_han(text: str) -> bool:
    """True when Han characters make up more than half of the words of ``text``.

    Each Han character counts as one word, as does each run of other non-space characters, so a
    Chinese sentence with a few Latin words (``我 爱 NLP``) is still mostly Han.
    """
    words = _WORD.findall(text)
    han = sum(1 for w in words if _HAN_CHAR.fullmatch(w))
    return 2 * han > len(words)


def _is_chinese_lang(lang: str | None) -> bool:
    if not lang:
        return False
    # "zh-CN", "zh_Hans", "cmn-Hans-CN" all start with the base code.
    return re.split(r"[-_]", lang.strip().lower(), maxsplit=1)[0] in _CHINESE_LANGS


def _in_word(char: str) -> bool:
    """A letter that can stand next to a word-internal apostrophe: alphabetic and not Han."""
    return char.isalpha() and not _HAN_CHAR.match(char)


def _strip_punctuation(text: str) -> str:
    out = []
    last = len(text) - 1
    for i, char in enumerate(text):
        if char == "'":
            # Kept only inside a word: a letter must stand on both sides, and neither may be Han
            # (Han characters are letters to str.isalpha, but ' between them is a quotation mark).
            if 0 < i < last and _in_word(text[i - 1]) and _in_word(text[i + 1]):
                out.append(char)
            else:
                out.append(" ")
        elif unicodedata.category(char)[0] in "PS":
            out.append(" ")
        else:
            out.append(char)
    return "".join(out)


def normalize_text(text: str, lang: str | None = None) -> str:
    """Normalise ``text`` for training targets and scoring (rules in the module docstring).

    ``lang`` is an ISO 639 code such as ``en``, ``es`` or ``zh``; only Chinese changes the rules,
    and mostly-Han text is treated as Chinese whatever ``lang`` says.
    """
    text = unicodedata.normalize("NFKC", text)
    text = text.casefold().translate(_QUOTE_MAP)
    text = _strip_punctuation(text)
    text = " ".join(text.split())
    if _is_chinese_lang(lang) or is_mostly_han(text):
        text = _SPACE_BETWEEN_HAN.sub("", text)
    return text


def chars_for_cer(text: str) -> list[str]:
    """The characters of ``text`` without whitespace: the units a character error rate counts.

    Pass text already through :func:`normalize_text`; this function does not normalise.
    """
    return [c for c in text if not c.isspace()]


def lm_words(text: str) -> list[str]:
    """The words of a normalised text for word-level LMs: split on spaces, and each Han character is a word.

    Text without Han characters gives exactly ``text.split()``; ``我爱 nlp`` gives ``["我", "爱", "nlp"]``.
    """
    return _WORD.findall(text)
