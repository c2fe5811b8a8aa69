"""Hotword aliases: the spellings a model writes for a phrase it has never seen written.

A model trained on some text spells an unseen name the way its units sound (``torvalds`` -> ``tveleds``), and
a context graph over the name's own units can only lift hypotheses that are already close to that spelling.
So each phrase is read aloud (espeak-ng, :mod:`asrkit.inference.espeak_tts`) in a few voices and speeds,
alone and inside a few carrier sentences (``and then {} said``: a model trained on sentences reads a name in
running speech differently, and usually closer to how it reads it in real utterances, than a name said
alone), decoded by the same model and decoding settings without hotwords (a carrier's own words must come
out exactly, and what lies between them is the reading), and the model's frequent readings become
*aliases*: more paths of the context graph (with the phrase's weight) that are written as the phrase in the
output (:class:`asrkit.inference.hotwords.AliasRewriter`). Alternative transcriptions per word are what
NeMo's CTC word spotter context files hold (Andrusenko et al., 2024, "Fast context-biasing for CTC and
Transducer ASR models with CTC-based word spotter", arXiv:2406.07096); here they come from the model itself.

Which readings are kept, and why:

- at least ``min_letters`` letters: a one- or two-letter reading (``y`` for ``york``) would match everywhere;
- not made of known words only (``known_words``, e.g. the LM's or the training text's vocabulary): ``your``
  for ``york`` or ``know`` for ``gnome`` would turn every ``your`` into ``York``;
- not nearer than ``min_known_distance`` (normalised edit distance) to a known word: ``tre`` for ``tyre`` is
  one letter from ``tree`` and would turn a misheard ``tree`` into Tyre;
- never a phrase of the list, and a reading two phrases share is dropped from both (the output could not
  say which was spoken);
- the ``max_aliases`` most frequent readings per phrase (ties: alphabetical), at least ``min_count`` times.

The readings are only as good as the synthetic voice is like the speakers: on espeak-ng test speech they raised
name recall from 39 % to 53 % (egs/bible RESULTS, "Hotword aliases"); from another synthesizer's voice,
which the model there hears as noise, they were useless.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from rapidfuzz import process
from rapidfuzz.distance import Levenshtein

from asrkit.errors import UserError
from asrkit.inference.hotwords import Hotword
from asrkit.text import normalize_text
from lm.ngram.arpa import read_unigrams

DEFAULT_VOICES = ("en-us", "en-us+m3", "en-us+f3")
DEFAULT_SPEEDS = (150, 175)
DEFAULT_CARRIERS = ("{}", "and then {} said", "we saw {} there")
# espeak-ng processes at once: each is one short single-threaded run, so one per core (at most 8).
_SPEAK_WORKERS = max(1, min(8, os.cpu_count() or 1))


def reading_in(carrier: str, text: str) -> str | None:
    """What the model wrote for the phrase in ``carrier`` (a template with one ``{}``): the words of ``text``
    between the carrier's words, which must come out exactly; None when they do not (the phrase merged
    with a carrier word, or the model misheard the carrier)."""
    left, _, right = carrier.partition("{}")
    lw, rw, words = normalize_text(left).split(), normalize_text(right).split(), normalize_text(text).split()
    if len(words) <= len(lw) + len(rw) or words[: len(lw)] != lw or words[len(words) - len(rw):] != rw:
        return None
    return " ".join(words[len(lw): len(words) - len(rw)])


def check_carriers(carriers: Sequence[str]) -> None:
    """One UserError line for a carrier sentence without exactly one ``{}``."""
    for c in carriers:
        if c.count("{}") != 1:
            raise UserError(f"--carriers {c!r}: a carrier sentence needs exactly one {{}} where the phrase goes")


def model_readings(decode: Callable[[list[np.ndarray]], list[str]], phrases: Sequence[str],
                   speak: Callable[[str, str, int], np.ndarray], voices: Sequence[str] = DEFAULT_VOICES,
                   speeds: Sequence[int] = DEFAULT_SPEEDS, carriers: Sequence[str] = DEFAULT_CARRIERS,
                   on_phrase: Callable[[int], None] | None = None) -> dict[str, Counter]:
    """Per phrase, how often the model (``decode``: waveforms -> texts) read each normalised text when
    ``speak(carrier with the phrase, voice, speed)`` said it, over every carrier x voice x speed.

    The readings of a phrase are synthesized in worker threads while the previous phrase is decoded
    (espeak-ng runs as a subprocess; it was 60 % of the time, one reading after another); the answers are
    those of one call after another, in the same order."""
    check_carriers(carriers)
    said = [(c, v, s) for c in carriers for v in voices for s in speeds]
    out: dict[str, Counter] = {}
    with ThreadPoolExecutor(max_workers=_SPEAK_WORKERS) as pool:
        def start(phrase: str) -> list:
            return [pool.submit(speak, c.replace("{}", phrase), v, s) for c, v, s in said]

        pending = start(phrases[0]) if phrases else []
        for i, phrase in enumerate(phrases):
            waves = [f.result() for f in pending]  # a speak() error is raised here, in phrase order
            pending = start(phrases[i + 1]) if i + 1 < len(phrases) else []
            texts = decode(waves)
            readings = (reading_in(c, t) for (c, _, _), t in zip(said, texts))
            out[phrase] = Counter(r for r in readings if r)
            if on_phrase is not None:
                on_phrase(i + 1)
    return out


def choose_aliases(hotwords: Sequence[Hotword], readings: dict[str, Counter], known_words: set[str] | None = None,
                   max_aliases: int = 3, min_count: int = 1, min_letters: int = 3,
                   min_known_distance: float = 0.3) -> list[Hotword]:
    """``hotwords`` with the model's readings that pass the filters of the module docstring added to their
    aliases (aliases already in the list are kept first)."""
    phrases = {h.phrase for h in hotwords}
    candidates: dict[str, list[str]] = {}
    for h in hotwords:
        counts = readings.get(h.phrase, Counter())
        keep = []
        for text, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
            if n < min_count or not text or text == h.phrase or text in phrases or text in h.aliases:
                continue
            if sum(c.isalpha() for c in text) < min_letters:
                continue
            if known_words is not None and all(w in known_words for w in text.split()):
                continue
            if known_words and min_known_distance > 0:
                near = process.extractOne(text, known_words, scorer=Levenshtein.normalized_distance,
                                          score_cutoff=min_known_distance)
                if near is not None and near[1] < min_known_distance:
                    continue  # a near-spelling of a real word: it would fire where that word is misspelt
            keep.append(text)
        candidates[h.phrase] = keep
    # A reading of two phrases is ambiguous however rare it is for either: counted before the cut.
    owners = Counter(a for h in hotwords for a in set(h.aliases) | set(candidates[h.phrase]))
    out = []
    for h in hotwords:
        new = tuple(a for a in candidates[h.phrase] if owners[a] == 1)[: max(0, max_aliases)]
        out.append(h._replace(aliases=h.aliases + new))
    return out


def read_known_words(path: str | Path) -> set[str]:
    """The normalised words of a text file (one sentence per line), or the unigrams of an ARPA file
    (:func:`lm.ngram.arpa.read_unigrams`, without ``<s>``, ``</s>``, ``<unk>``)."""
    path = Path(path)
    try:
        with open(path, "rb") as f:
            head = f.read(64)
        arpa = path.suffix == ".gz" or head.lstrip().startswith(b"\\data\\")
        lines: Iterable[str] = () if arpa else path.read_text(encoding="utf-8", errors="replace").splitlines()
    except FileNotFoundError:
        raise UserError(f"--known-words {path}: no such file") from None
    except (IsADirectoryError, OSError) as err:
        raise UserError(f"--known-words {path}: cannot read ({getattr(err, 'strerror', None) or err})") from None
    if arpa:
        try:
            lines = [w for w in read_unigrams(path) if not w.startswith("<")]
        except UserError as err:
            raise UserError(f"--known-words {err}") from None
    words = {w for line in lines for w in normalize_text(line).split()}
    if not words:
        raise UserError(f"--known-words {path}: no words in it")
    return words


def format_hotwords(hotwords: Sequence[Hotword]) -> str:
    """The hotword file of ``hotwords``: ``phrase<TAB>weight<TAB>alias|alias`` (weight and aliases only when
    needed), as :func:`asrkit.inference.hotwords.read_hotwords` reads it back."""
    lines = []
    for h in hotwords:
        line = h.display or h.phrase
        if h.aliases:
            line += f"\t{h.weight:g}\t" + "|".join(h.aliases)
        elif h.weight != 1.0:
            line += f"\t{h.weight:g}"
        lines.append(line)
    return "\n".join(lines) + "\n"
