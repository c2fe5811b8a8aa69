"""Stage 0: plain text from the SWORD Bibles (WEB, RV1909), English fortunes and Mandarin fortunes.

Usage: text_prep.py OUTDIR   (writes web.tsv, rv1909.tsv, fortunes_en.tsv, zh.tsv)
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import DEUTEROCANON, SWORD2OSIS, split_of, write_tsv  # noqa: E402

FORTUNE_DIR = Path("/usr/share/games/fortunes")
ZH_FILES = ("chinese", "tang300", "song100")

# ---------------------------------------------------------------------------------------------------
# .imp parsing and OSIS markup stripping

_KEY_RE = re.compile(r"^(?P<book>.+) (?P<chap>\d+):(?P<verse>\d+)$")


def parse_imp(lines: Iterator[str] | list[str]) -> Iterator[tuple[str, int, int, str]]:
    """Yield (sword_book, chapter, verse, raw_markup) from mod2imp output (``$$$Book C:V`` headers)."""
    key: str | None = None
    body: list[str] = []
    for line in lines:
        line = line.rstrip("\n")
        if line.startswith("$$$"):
            if key is not None:
                m = _KEY_RE.match(key)
                if m:
                    yield m["book"], int(m["chap"]), int(m["verse"]), " ".join(body)
            key, body = line[3:], []
        else:
            body.append(line)
    if key is not None:
        m = _KEY_RE.match(key)
        if m:
            yield m["book"], int(m["chap"]), int(m["verse"]), " ".join(body)


# Enclitic pronouns that RV1909 sometimes puts in a <transChange> glued to the verb ("sáca</w><tc>lo").
_CLITIC_RE = re.compile(r"^(?:me|te|se|lo|la|los|las|le|les|nos|os)+$")
# Short imperatives/preterites that take an enclitic without a written accent ("di|les" -> "diles").
_SHORT_VERBS = frozenset({"di", "dí", "da", "haz", "ve", "vi", "ten", "pon", "sal", "ven", "oid", "dad"})
# Accented words that are not verbs and so never take an enclitic ("Jehová|los" stays two words).
_NOT_VERBS = frozenset({"jehová", "josué", "cuánto", "también", "así", "allí", "aquí", "más", "él", "sí",
                        "qué", "cómo", "dónde", "después", "además", "quién", "aún", "jesús", "por", "señor",
                        "mayor", "menor", "mejor", "peor", "lugar", "amor", "temor", "mar", "sed"})
_ACCENTED = set("áéíóú")

_BREAK = "\x00"  # stands for a removed element that separated text (note, line, paragraph...)


def _is_enclitic_host(word: str) -> bool:
    w = word.lower()
    if not w or w in _NOT_VERBS:
        return False
    if w in _SHORT_VERBS:
        return True
    # infinitives (sacar-la), plural imperatives (haced-lo) and accented verb forms (sáca-lo, oyéndo-lo)
    return w.endswith(("r", "d")) and len(w) >= 3 or any(c in _ACCENTED for c in w)


def _join_transchange(m: re.Match[str]) -> str:
    prev_word, tc_open, tc_text = m.group(1), m.group(2), m.group(3)
    if _CLITIC_RE.match(tc_text) and _is_enclitic_host(prev_word):
        return f"{prev_word}{tc_open}{tc_text}"
    return f"{prev_word} {tc_open}{tc_text}"


def strip_osis(raw: str) -> str:
    """Turn one verse of OSIS markup (as dumped by mod2imp) into plain text.

    Footnotes, headings, speakers and the WEB glossary are removed; word wrappers (<w>, <q>,
    <transChange>, <name>) are unwrapped; structural tags (<l>, <lg>, <lb>, <div>, <milestone>,
    <chapter>, <title>) become a separator that turns into a space only where two words would
    otherwise be glued together (e.g. "God<note>...</note>created" -> "God created").
    Canonical psalm titles are kept because RV1909 has them in the verse text as well.
    """
    # WEB appends its whole glossary to Rev 22:21; everything from the glossary div on is not verse text.
    cut = re.search(r'<div[^>]*type="glossary"', raw)
    if cut:
        raw = raw[: cut.start()]
    # RV1909: a supplied word glued to the preceding Strong's word is either an enclitic or a missing space.
    raw = re.sub(r"(\S*)</w>(<transChange[^>]*>)([^<]*)", _join_transchange, raw)
    raw = raw.replace("</transChange><w", "</transChange> <w")
    raw = re.sub(r"<note\b.*?</note>", _BREAK, raw, flags=re.S)
    raw = re.sub(r"<speaker\b.*?</speaker>", _BREAK, raw, flags=re.S)
    raw = re.sub(r'<title(?![^>]*canonical="true")[^>]*>.*?</title>', _BREAK, raw, flags=re.S)
    raw = re.sub(r"<rdg\b.*?</rdg>", "", raw, flags=re.S)
    raw = re.sub(r"</?(?:w|q|transChange|name|seg|hi|foreign|catchWord)\b[^>]*>", "", raw)
    raw = re.sub(r"<[^>]*>", _BREAK, raw)  # every other tag is structural
    raw = raw.replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"')

    def sep(m: re.Match[str]) -> str:
        before, after = m.group(1), m.group(2)
        if before.isalnum() and (after.isalnum() or after in "“‘(¿¡"):
            return before + " " + after
        if before in ".,;:!?”’)" and (after.isalnum() or after in "“‘(¿¡"):
            return before + " " + after
        return before + after

    raw = re.sub(f"(.?){_BREAK}+(?:\\s*{_BREAK})*(.?)", sep, raw)
    raw = raw.replace(_BREAK, " ")
    text = re.sub(r"\s+", " ", raw).strip()
    return re.sub(r"\s+([,.;:!?”’)])", r"\1", text)


def _fix_dropcap(text: str) -> str:
    """RV1909 prints the first word of a chapter (also after a psalm title) in capitals ("EN el
    principio", "¡OH Jehová"); espeak would read some of them as letters, so make them "En", "Oh"."""
    return re.sub(r"\b[A-ZÁÉÍÓÚÑÜ]{2,}\b", lambda m: m.group().capitalize(), text)


def extract_bible(module: str, spanish: bool = False, deuterocanon: bool = False) -> list[tuple[str, str]]:
    """Dump a SWORD module with mod2imp and return [(verse_id, text)] for the allowed canonical books (with
    ``deuterocanon``: for the deuterocanonical books instead, :data:`common.DEUTEROCANON`)."""
    proc = subprocess.run(["mod2imp", module], check=True, capture_output=True, text=True, encoding="utf-8")
    books = dict(DEUTEROCANON) if deuterocanon else SWORD2OSIS
    out: list[tuple[str, str]] = []
    for book, chap, verse, raw in parse_imp(proc.stdout.splitlines()):
        osis = books.get(book)
        if osis is None or verse == 0 or chap == 0:  # deuterocanon, intros and prefaces
            continue
        vid = f"{osis}.{chap}.{verse}"
        if split_of(vid) == "reserved":  # never written anywhere
            continue
        text = strip_osis(raw)
        if spanish:
            text = _fix_dropcap(text)
        if text:
            out.append((vid, text))
    return out


# ---------------------------------------------------------------------------------------------------
# English fortunes

def _fortune_entries(path: Path) -> list[str]:
    data = path.read_bytes().decode("utf-8", errors="replace")
    return re.split(r"^%\s*$", data, flags=re.M)


_ATTRIB_RE = re.compile(r"^\s*(--|—|~~)")
_BAD_CHARS = re.compile(r"[{}<>\[\]|\\_=#*^~@`\ufffd/+]")


def clean_fortune(entry: str) -> str | None:
    """Return a single-line speakable fortune, or None when it is code, art, a URL, too short/long..."""
    raw_lines = [ln for ln in entry.strip("\n").split("\n") if ln.strip()]
    lines: list[str] = []
    for ln in raw_lines:
        # "-- Author" lines are attributions, unless the previous line ran on into them mid-sentence
        # ("he is unbiased\n-- he hates all ..."), in which case the dash is part of the text. An
        # attribution may wrap onto further lines, so everything after it goes as well.
        if _ATTRIB_RE.match(ln) and (not lines or ln[0].isspace() or lines[-1].rstrip()[-1] in ".!?\"')"):
            break
        lines.append(ln)
    if not lines:
        return None
    # Indented multi-column lines are typical of ASCII art, tables and dialogue scripts.
    if any(re.search(r"\S {4,}\S", ln) for ln in lines):
        return None
    text = " ".join(ln.strip() for ln in lines)
    text = re.sub(r"\s*--+\s*", " — ", text)
    text = re.sub(r"\s+", " ", text).strip()
    if not text or re.search(r"https?:|www\.|\.com\b|\.org\b|\.edu\b", text, flags=re.I):
        return None
    if _BAD_CHARS.search(text) or any(ord(c) > 0x2FFF for c in text):
        return None
    text = text.replace("``", "“").replace("''", "”")
    n_words = len(text.split())
    if not 4 <= n_words <= 40:
        return None
    non_space = [c for c in text if not c.isspace()]
    letters = sum(c.isalpha() for c in non_space)
    if letters < 0.8 * len(non_space):
        return None
    # A line with shouting or Q:/A: labels is still fine; a lone "Q." is not worth reading out.
    if sum(c.isupper() for c in text) > 0.5 * letters:
        return None
    return text


def extract_fortunes() -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    seen: set[str] = set()
    for path in sorted(FORTUNE_DIR.iterdir()):
        # .dat are strfile indexes and .u8 are symlinks to the same text: read each plain file once.
        if path.suffix in (".dat", ".u8") or path.is_symlink() or not path.is_file() or path.name in ZH_FILES:
            continue
        for n, entry in enumerate(_fortune_entries(path)):
            text = clean_fortune(entry)
            if text is None:
                continue
            key = re.sub(r"[^a-z]", "", text.lower())
            if key in seen:
                continue
            seen.add(key)
            out.append((f"fortune-{path.name}-{n}", text))
    return out


# ---------------------------------------------------------------------------------------------------
# Mandarin fortunes

_ANSI_RE = re.compile(r"\x1b\[[0-9;]*m")
_HAN_RE = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_ZH_OK = re.compile(r"^[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff，、：“”‘’「」『』·—…《》（）〈〉]+[。！？；]?$")


def clean_zh_entry(entry: str) -> list[str]:
    """Split one fortunes-zh entry into sentences (5-60 Han chars) with titles/authors/Latin removed."""
    kept: list[str] = []
    for line in entry.split("\n"):
        if "\x1b" in line:  # coloured lines are the title, the author or the "-- 《source》" attribution
            continue
        line = line.strip()
        if not line or re.search(r"[A-Za-z0-9\u2500-\u257f]", line):
            continue
        if line.startswith(("--", "——")):
            continue
        kept.append(line.replace(" ", "").replace("\u3000", ""))
    # Prose is hard-wrapped: join the lines back before splitting into sentences.
    text = "".join(kept)
    out = []
    for sent in re.findall(r"[^。！？；]+[。！？；]?", text):
        sent = sent.strip("，、：”’」』）〉》 ").lstrip("“‘「『（〈《")
        if not sent:
            continue
        n_han = len(_HAN_RE.findall(sent))
        # An unbalanced bracket or quote means the sentence is a fragment of a longer construct.
        balanced = all(sent.count(a) == sent.count(b) for a, b in ("（）", "《》", "「」", "“”", "‘’", "『』", "〈〉"))
        if 5 <= n_han <= 60 and _ZH_OK.match(sent) and balanced:
            out.append(sent)
    return out


def extract_zh() -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    seen: set[str] = set()
    for name in ZH_FILES:
        data = (FORTUNE_DIR / name).read_text(encoding="utf-8", errors="replace")
        data = _ANSI_RE.sub("\x1b", data)  # keep a marker so coloured lines can still be recognised
        for entry in re.split(r"^%\s*$", data, flags=re.M):
            for sent in clean_zh_entry(entry):
                key = re.sub(r"[^\u3400-\u9fff]", "", sent)
                if key in seen:
                    continue
                seen.add(key)
                out.append((f"{len(out):06d}", sent))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("outdir", type=Path)
    args = ap.parse_args()
    args.outdir.mkdir(parents=True, exist_ok=True)
    for name, module, spanish in (("web", "engWEB2015eb", False), ("rv1909", "spaRV1909eb", True)):
        rows = extract_bible(module, spanish)
        n = write_tsv(args.outdir / f"{name}.tsv", rows)
        print(f"{name}: {n} verses, {sum(len(t.split()) for _, t in rows)} words", flush=True)
    rows = extract_fortunes()
    print(f"fortunes_en: {write_tsv(args.outdir / 'fortunes_en.tsv', rows)} fortunes", flush=True)
    rows = extract_zh()
    print(f"zh: {write_tsv(args.outdir / 'zh.tsv', rows)} sentences", flush=True)


if __name__ == "__main__":
    main()
