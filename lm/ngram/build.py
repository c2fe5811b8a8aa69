"""Build an n-gram LM over words or over the acoustic model's sentencepiece tokens with KenLM's ``lmplz``.

``lmplz`` estimates an interpolated, modified Kneser-Ney model (Chen & Goodman): for an n-gram
``h w`` with (adjusted) count ``c``,

    p(w | h) = (c(h w) - D_n(c)) / c(h) + gamma(h) * p(w | h')

where ``D_n(1), D_n(2), D_n(3+)`` are discounts estimated from the count-of-counts
``n_1..n_4`` of order ``n``, ``h'`` drops the oldest word of ``h``, and lower orders use
continuation counts (how many distinct words precede an n-gram) instead of raw counts.
Tiny corpora have count-of-counts of zero, which makes ``D`` undefined; ``--discount_fallback``
then uses lmplz's default discounts (0.5, 1, 1.5), so toy corpora build instead of aborting.

Every corpus line is passed through :func:`asrkit.text.normalize_text` (the same normalisation as
the acoustic model's targets) and empty lines are dropped. Words are :func:`asrkit.text.lm_words`: the
space-separated words, each Han character being a word of its own (a Chinese word LM is a character
LM). For ``unit="token"`` each line is encoded with the sentencepiece model and written as space-separated piece strings
(``▁the ▁c at``), so the LM's unigrams are tokenizer pieces and LM units equal acoustic token ids.

Besides the model, ``OUTPUT.meta.json`` records the unit, order and corpus counts; token LMs also
record the tokenizer's sha1 and piece count (checked when the LM is loaded), word LMs written as
KenLM binaries record their vocabulary (a binary file cannot list it).
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

from asrkit.errors import UserError
from asrkit.text.normalize import lm_words, normalize_text
from asrkit.tokenizer.spm import Tokenizer

UNITS = ("word", "token")


def find_kenlm_binary(name: str) -> str:
    """Path of KenLM's ``lmplz`` or ``build_binary``: next to the running Python (the venv's bin, where
    install.sh puts them) first, then ``PATH``."""
    local = Path(sys.executable).parent / name
    if local.is_file() and os.access(local, os.X_OK):
        return str(local)
    found = shutil.which(name)
    if found:
        return found
    raise UserError(f"{name}: KenLM program not found next to {sys.executable} or on PATH (run install.sh)")


def file_sha1(path: str | Path) -> str:
    """sha1 of a file's bytes: identifies the exact tokenizer a token LM was built with."""
    h = hashlib.sha1()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def meta_path(lm_path: str | Path) -> Path:
    """The sidecar of ``lm_path``: ``LM.arpa`` -> ``LM.arpa.meta.json``."""
    lm_path = Path(lm_path)
    return lm_path.with_name(lm_path.name + ".meta.json")


def _read_lines(path: Path) -> Iterator[str]:
    if not path.is_file():
        raise UserError(f"{path}: no such corpus file")
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rt", encoding="utf-8") as f:
            yield from f
    except UnicodeDecodeError as err:
        raise UserError(f"{path}: not UTF-8 text ({err.reason} at byte {err.start})") from None
    except (OSError, EOFError) as err:
        raise UserError(f"{path}: cannot read ({err})") from None


def _run(cmd: list[str], what: str, **kwargs) -> None:
    proc = subprocess.run(cmd, stderr=subprocess.PIPE, text=True, **kwargs)
    if proc.returncode != 0:
        # lmplz explains failures in its last stderr lines; keep the message on one line.
        tail = " ".join(line.strip() for line in proc.stderr.strip().splitlines()[-3:])
        raise UserError(f"{what}: {Path(cmd[0]).name} failed (exit {proc.returncode}): {tail}")


def build_ngram(
    texts_paths: Sequence[str | Path],
    order: int,
    unit: str,
    output: str | Path,
    tokenizer: str | Path | Tokenizer | None = None,
    prune: Sequence[int] | None = None,
    memory: str = "1G",
) -> dict:
    """Estimate an ``order``-gram modified Kneser-Ney LM on ``texts_paths`` and write it to ``output``.

    ``output`` ending in ``.bin`` gives a KenLM binary (probing hash tables, via ``build_binary``),
    anything else an ARPA file. ``unit`` is ``"word"`` or ``"token"`` (the latter needs
    ``tokenizer``, the acoustic model's sentencepiece model). ``prune`` is lmplz's ``--prune``:
    one count threshold per order (``0 1 1`` drops singleton bigrams and trigrams; unigrams
    cannot be pruned). ``memory`` is lmplz's ``-S`` (sort memory, e.g. ``1G`` or ``10%``):
    without it lmplz reserves 80% of RAM. Returns the metadata also written to ``OUTPUT.meta.json``.
    """
    if unit not in UNITS:
        raise UserError(f"unit must be one of {', '.join(UNITS)}, not {unit!r}")
    if order < 1:
        raise UserError(f"order must be at least 1, not {order}")
    if not texts_paths:
        raise UserError("no corpus file given")
    tok: Tokenizer | None = None
    if unit == "token":
        if tokenizer is None:
            raise UserError("a token-level LM needs the acoustic model's tokenizer (--tokenizer SPM.model)")
        tok = tokenizer if isinstance(tokenizer, Tokenizer) else Tokenizer(tokenizer)
    output = Path(output)
    lmplz = find_kenlm_binary("lmplz")
    build_binary = find_kenlm_binary("build_binary") if output.suffix == ".bin" else None
    output.parent.mkdir(parents=True, exist_ok=True)

    n_lines = n_words = n_units = 0
    with tempfile.TemporaryDirectory(prefix="asrkit-ngram-") as tmp:
        corpus = Path(tmp) / "corpus.txt"
        with open(corpus, "w", encoding="utf-8") as out:
            for path in texts_paths:
                for line in _read_lines(Path(path)):
                    text = normalize_text(line)
                    if not text:
                        continue
                    words = lm_words(text)  # Chinese: characters (see asrkit.text.normalize)
                    if tok is not None:
                        # Ids, not surface strings: characters the tokenizer lacks would otherwise become
                        # pieces outside its vocabulary. Those <unk> units are left out (lmplz forbids <unk>).
                        ids = tok.encode(text)
                        units = [tok.sp.id_to_piece(i) for i in ids if i != tok.sp.unk_id()]
                    else:
                        units = words
                    out.write(" ".join(units) + "\n")
                    n_lines += 1
                    n_words += len(words)
                    n_units += len(units)
        if n_lines == 0:
            raise UserError(f"{', '.join(str(p) for p in texts_paths)}: corpus is empty after normalisation")

        # Written in the temporary folder and moved at the end: a failed build leaves no half-written LM.
        arpa = Path(tmp) / "lm.arpa"
        cmd = [lmplz, "-o", str(order), "-S", memory, "-T", tmp, "--discount_fallback"]
        if prune:
            cmd += ["--prune", *(str(int(p)) for p in prune)]
        with open(corpus, "rb") as stdin, open(arpa, "wb") as stdout:
            _run(cmd, str(output), stdin=stdin, stdout=stdout)

        meta: dict = {
            "unit": unit,
            "order": order,
            "corpus": [str(p) for p in texts_paths],
            "lines": n_lines,
            "words": n_words,
            "units": n_units,
            "prune": list(prune) if prune else None,
        }
        if tok is not None:
            meta["tokenizer_sha1"] = file_sha1(tok.path)
            meta["tokenizer_pieces"] = tok.vocab_size
        if build_binary is not None:
            if unit == "word":
                from lm.ngram.arpa import read_unigrams

                # kenlm.Model cannot enumerate a binary's vocabulary, so keep it here.
                meta["vocab"] = [w for w in read_unigrams(arpa) if w not in ("<s>", "</s>")]
            binary = Path(tmp) / "lm.bin"
            _run([build_binary, "-S", memory, "-T", tmp, str(arpa), str(binary)], str(output),
                 stdout=subprocess.DEVNULL)
            shutil.move(binary, output)
        else:
            shutil.move(arpa, output)
    meta_path(output).write_text(json.dumps(meta, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return meta
