"""Shared constants and helpers for the bible recipe: book names, the split rule, digit expansion, IO."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator
from pathlib import Path

from num2words import num2words

# The 66 canonical books: (name used by mod2imp / SWORD, OSIS abbreviation), in canonical order.
BOOKS: list[tuple[str, str]] = [
    ("Genesis", "Gen"), ("Exodus", "Exod"), ("Leviticus", "Lev"), ("Numbers", "Num"),
    ("Deuteronomy", "Deut"), ("Joshua", "Josh"), ("Judges", "Judg"), ("Ruth", "Ruth"),
    ("I Samuel", "1Sam"), ("II Samuel", "2Sam"), ("I Kings", "1Kgs"), ("II Kings", "2Kgs"),
    ("I Chronicles", "1Chr"), ("II Chronicles", "2Chr"), ("Ezra", "Ezra"), ("Nehemiah", "Neh"),
    ("Esther", "Esth"), ("Job", "Job"), ("Psalms", "Ps"), ("Proverbs", "Prov"),
    ("Ecclesiastes", "Eccl"), ("Song of Solomon", "Song"), ("Isaiah", "Isa"), ("Jeremiah", "Jer"),
    ("Lamentations", "Lam"), ("Ezekiel", "Ezek"), ("Daniel", "Dan"), ("Hosea", "Hos"), ("Joel", "Joel"),
    ("Amos", "Amos"), ("Obadiah", "Obad"), ("Jonah", "Jonah"), ("Micah", "Mic"), ("Nahum", "Nah"),
    ("Habakkuk", "Hab"), ("Zephaniah", "Zeph"), ("Haggai", "Hag"), ("Zechariah", "Zech"),
    ("Malachi", "Mal"), ("Matthew", "Matt"), ("Mark", "Mark"), ("Luke", "Luke"), ("John", "John"),
    ("Acts", "Acts"), ("Romans", "Rom"), ("I Corinthians", "1Cor"), ("II Corinthians", "2Cor"),
    ("Galatians", "Gal"), ("Ephesians", "Eph"), ("Philippians", "Phil"), ("Colossians", "Col"),
    ("I Thessalonians", "1Thess"), ("II Thessalonians", "2Thess"), ("I Timothy", "1Tim"),
    ("II Timothy", "2Tim"), ("Titus", "Titus"), ("Philemon", "Phlm"), ("Hebrews", "Heb"),
    ("James", "Jas"), ("I Peter", "1Pet"), ("II Peter", "2Pet"), ("I John", "1John"), ("II John", "2John"),
    ("III John", "3John"), ("Jude", "Jude"), ("Revelation of John", "Rev"),
]
SWORD2OSIS = dict(BOOKS)
# The deuterocanon of the WEB module (engWEB2015eb), English only (RV1909 has none), OSIS-style ids. Training
# text only: none of it is a test, dev or reserved book, and no LM of the recipe is built from it.
DEUTEROCANON: list[tuple[str, str]] = [
    ("Tobit", "Tob"), ("Judith", "Jdt"), ("Esther (Greek)", "AddEsth"), ("Wisdom", "Wis"), ("Sirach", "Sir"),
    ("Baruch", "Bar"), ("Prayer of Azariah", "PrAzar"), ("Susanna", "Sus"), ("Bel and the Dragon", "Bel"),
    ("I Maccabees", "1Macc"), ("II Maccabees", "2Macc"), ("I Esdras", "1Esd"), ("Prayer of Manasses", "PrMan"),
    ("Additional Psalm", "AddPs"), ("III Maccabees", "3Macc"), ("II Esdras", "2Esd"), ("IV Maccabees", "4Macc"),
]
BOOK_ORDER = {osis: i for i, (_, osis) in enumerate(BOOKS + DEUTEROCANON)}

# Held-out books. RESERVED books are kept for a later, untouched evaluation: they must not appear in
# any file this recipe writes, so they are dropped right at extraction time.
TEST_BOOKS = frozenset({"Mark", "Jude"})
DEV_BOOKS = frozenset({"Titus"})
RESERVED_BOOKS = frozenset({"Ruth", "Phlm", "3John"})


def book_of(verse_id: str) -> str:
    """OSIS book of a verse id such as ``Mark.1.1`` or a range id such as ``Job.39.27-40.5``."""
    return verse_id.split(".", 1)[0]


def split_of(verse_id: str) -> str:
    """Which split a verse belongs to: 'test', 'dev', 'reserved' or 'train' (decided by book only)."""
    book = book_of(verse_id)
    if book in RESERVED_BOOKS:
        return "reserved"
    if book in TEST_BOOKS:
        return "test"
    if book in DEV_BOOKS:
        return "dev"
    if book not in BOOK_ORDER:
        raise ValueError(f"not a book of the recipe: {verse_id}")
    return "train"


def verse_key(verse_id: str) -> tuple[int, int, int]:
    """Sort key (book, chapter, verse) for a plain or range verse id (range: its first verse)."""
    book, rest = verse_id.split(".", 1)
    chap, verse = rest.split("-", 1)[0].split(".")[:2]
    return BOOK_ORDER[book], int(chap), int(verse)


def stable_hash(s: str) -> int:
    """64-bit hash that, unlike hash(), is the same in every process and on every run."""
    return int.from_bytes(hashlib.sha256(s.encode("utf-8")).digest()[:8], "little")


# ---------------------------------------------------------------------------------------------------
# Digit expansion: the synthesized text and the stored reference must be the same string, and espeak
# would otherwise read digits its own way, so every digit sequence is spelled out before synthesis.
_NUM_RE = re.compile(
    r"(?P<cur>[$£])?(?P<num>\d{1,3}(?:,\d{3})+|\d+)(?P<dec>\.\d+)?(?P<ord>st|nd|rd|th|º|ª|o|a)?(?P<pct>\s?%)?"
    r"(?![\w])",
)


def _spell(match: re.Match[str], lang: str) -> str:
    num_s = match.group("num").replace(",", "")
    dec = match.group("dec")
    ordinal = match.group("ord")
    cur = match.group("cur")
    value = int(num_s)
    if ordinal in ("st", "nd", "rd", "th") and lang == "en" or ordinal in ("º", "ª", "o", "a") and lang == "es":
        words = num2words(value, lang=lang, to="ordinal")
    elif ordinal:  # a letter glued to a number that is not an ordinal suffix of this language: keep it
        words = num2words(value, lang=lang) + " " + ordinal
    elif dec:
        words = num2words(float(num_s + dec), lang=lang)
    elif lang == "en" and len(num_s) == 4 and "," not in match.group("num") and 1100 <= value <= 2099:
        words = num2words(value, lang=lang, to="year")  # "in 1984" is read as a year
    else:
        words = num2words(value, lang=lang)
    if match.group("pct"):
        words += " percent" if lang == "en" else " por ciento"
    if cur:
        unit = {"$": ("dollar", "dólar"), "£": ("pound", "libra")}[cur][lang == "es"]
        words += f" {unit}" + ("" if value == 1 and not dec else ("es" if unit == "dólar" else "s"))
    return words


def expand_digits(text: str, lang: str) -> str:
    """Spell out every number in ``text`` (lang 'en' or 'es'), e.g. '3 men' -> 'three men'."""
    if not any(c.isdigit() for c in text):
        return text
    # "5:23" (chapter:verse style references) and "3-4" ranges read naturally as two numbers.
    text = re.sub(r"(?<=\d)[:\u2013-](?=\d)", " ", text)
    text = re.sub(r"(?<=[^\W\d_])-(?=\d)", " ", text)  # "RSX-11M" -> "RSX 11M"
    text = _NUM_RE.sub(lambda m: _spell(m, lang), text)
    # Whatever the pattern above left (digits glued to letters, e.g. "10am") is spelled plainly.
    text = re.sub(r"\d+", lambda m: f" {num2words(int(m.group()), lang=lang)} ", text)
    return re.sub(r"\s+", " ", text).strip()


_LONE_ACCENTED = {"á": "a", "é": "e", "í": "i", "ó": "o", "ú": "u", "Á": "A", "É": "E", "Í": "I", "Ó": "O", "Ú": "U"}


def spoken_es(text: str) -> str:
    """RV1909's old orthography writes the one-letter words with an accent ("á Moisés", "vino ó agua");
    espeak-ng reads a lone "á"/"é" as the letter name ("a acentuada"), so such words get the modern
    spelling. Digits are spelled out as well. The result is both synthesized and stored as the text."""
    text = re.sub(r"(?<!\w)[áéíóúÁÉÍÓÚ](?!\w)", lambda m: _LONE_ACCENTED[m.group()], text)
    return expand_digits(text, "es")


# ---------------------------------------------------------------------------------------------------
def read_tsv(path: str | Path) -> Iterator[list[str]]:
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if line:
                yield line.split("\t")


def write_tsv(path: str | Path, rows: Iterable[Iterable[str]]) -> int:
    """Write rows atomically (tmp file + rename) so an interrupted run never leaves a half file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    n = 0
    with open(tmp, "w", encoding="utf-8") as f:
        for row in rows:
            f.write("\t".join(row) + "\n")
            n += 1
    tmp.replace(path)
    return n
