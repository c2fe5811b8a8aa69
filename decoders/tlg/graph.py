"""The graph folder written by :func:`decoders.tlg.build.build_tlg`, and the checks made before decoding with it.

Files: ``TLG.fst`` (OpenFst const FST), ``words.txt`` (Kaldi symbol table of TLG's output labels),
``tokens.txt`` (symbol table of its input labels: ``<eps> 0``, then piece ``k`` of the tokenizer at
``k + 1``, then ``#0``, ``#1``, ...), ``graph.json`` (how it was built: tokenizer sha1 and piece count,
LM path and sha1, sizes, settings, the sha1 of each of the other three files).

A TLG graph is only meaningful with the exact tokenizer it was built with: its input labels are that
tokenizer's ids and its lexicon spells words with that tokenizer's pieces. Decoding a model whose units
differ, or mapping output ids through a ``words.txt`` of another graph, gives fluent-looking garbage
(WeNet's ~100% WER reports). :func:`check_graph` refuses those cases with one :class:`UserError` line
naming the graph folder and the problem.
"""

from __future__ import annotations

import json
from pathlib import Path

from asrkit.errors import UserError
from asrkit.tokenizer import Tokenizer
from lm.ngram.build import file_sha1

FORMAT = "asrkit-tlg"
VERSION = 1
GRAPH_JSON, TLG_FST, WORDS_TXT, TOKENS_TXT = "graph.json", "TLG.fst", "words.txt", "tokens.txt"
FILES = (GRAPH_JSON, TLG_FST, WORDS_TXT, TOKENS_TXT)


def token_symbols(pieces: list[str], num_disambig: int) -> list[str]:
    """tokens.txt symbols, index = FST label: ``<eps>``, the pieces (label = id + 1), ``#0`` .. ``#D``."""
    return ["<eps>", *pieces, *(f"#{d}" for d in range(num_disambig))]


def write_symbols(symbols: list[str], path: Path) -> None:
    """Write a Kaldi symbol table (``symbol id`` a line, ids 0..n-1)."""
    path.write_text("".join(f"{s} {i}\n" for i, s in enumerate(symbols)), encoding="utf-8")


def read_symbols(path: Path) -> list[str]:
    """Read a Kaldi symbol table whose ids are 0..n-1 in order; UserError on anything else."""
    symbols: list[str] = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError:
        raise UserError(f"{path}: not a UTF-8 symbol table") from None
    for n, line in enumerate(lines, 1):
        fields = line.split()
        if not fields:
            continue
        if len(fields) != 2 or not fields[1].isdigit() or int(fields[1]) != len(symbols):
            raise UserError(f"{path}: line {n} is {line[:60]!r}, expected 'SYMBOL {len(symbols)}'")
        symbols.append(fields[0])
    if not symbols:
        raise UserError(f"{path}: empty symbol table")
    return symbols


def read_graph_info(graph_dir: str | Path) -> dict:
    """``graph.json`` of a graph folder, after checking that the folder holds all graph files."""
    graph_dir = Path(graph_dir)
    if not graph_dir.is_dir():
        raise UserError(f"{graph_dir}: no such TLG graph folder")
    missing = [name for name in FILES if not (graph_dir / name).is_file()]
    if missing:
        raise UserError(f"{graph_dir}: not a TLG graph folder (missing {', '.join(missing)}; "
                        "build it with asrkit lm tlg)")
    try:
        info = json.loads((graph_dir / GRAPH_JSON).read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise UserError(f"{graph_dir / GRAPH_JSON}: invalid JSON ({err})") from None
    if not isinstance(info, dict) or info.get("format") != FORMAT:
        raise UserError(f"{graph_dir / GRAPH_JSON}: not an asrkit TLG graph description (format != {FORMAT!r})")
    if info.get("version") != VERSION:
        raise UserError(f"{graph_dir / GRAPH_JSON}: graph format version {info.get('version')!r}, this asrkit reads "
                        f"{VERSION}; rebuild the graph with asrkit lm tlg")
    return info


def check_graph(graph_dir: str | Path, tokenizer: Tokenizer) -> tuple[dict, list[str]]:
    """Check that the graph in ``graph_dir`` is intact and was built for ``tokenizer``.

    Returns ``(graph.json, words)``; raises :class:`UserError` (one line naming ``graph_dir``) when the
    tokenizer's sha1 or piece list differs from the one the graph was built with, when ``tokens.txt``
    is not that piece list, or when ``words.txt`` / ``TLG.fst`` are not the files the build wrote.
    """
    graph_dir = Path(graph_dir)
    info = read_graph_info(graph_dir)
    rebuild = f"rebuild it with: asrkit lm tlg --lm LM.arpa --tokenizer {tokenizer.path} --out DIR"
    sha1 = file_sha1(tokenizer.path)
    if sha1 != info.get("tokenizer_sha1") or tokenizer.vocab_size != info.get("num_pieces"):
        raise UserError(
            f"{graph_dir}: graph was built for tokenizer {info.get('tokenizer')} "
            f"(sha1 {str(info.get('tokenizer_sha1'))[:12]}, "
            f"{info.get('num_pieces')} pieces) but the model's tokenizer {tokenizer.path} has sha1 {sha1[:12]}, "
            f"{tokenizer.vocab_size} pieces; its labels would mean other pieces ({rebuild})"
        )
    symbols = read_symbols(graph_dir / TOKENS_TXT)
    pieces = tokenizer.pieces()
    expected = token_symbols(pieces, int(info.get("num_disambig", 0)))
    if symbols != expected:
        bad = next((i for i, (a, b) in enumerate(zip(symbols, expected)) if a != b), min(len(symbols), len(expected)))
        got = symbols[bad] if bad < len(symbols) else "(end of file)"
        want = expected[bad] if bad < len(expected) else "(end of file)"
        raise UserError(f"{graph_dir / TOKENS_TXT}: label {bad} is {got!r} but the tokenizer {tokenizer.path} "
                        f"gives {want!r}; tokens.txt does not match the model's pieces ({rebuild})")
    for name, key in ((WORDS_TXT, "words_txt_sha1"), (TLG_FST, "tlg_sha1")):
        if file_sha1(graph_dir / name) != info.get(key):
            raise UserError(f"{graph_dir / name}: not the file this graph was built with (sha1 differs from "
                            f"{GRAPH_JSON}); output ids would map to the wrong words ({rebuild})")
    words = read_symbols(graph_dir / WORDS_TXT)
    if len(words) != info.get("num_words"):
        raise UserError(f"{graph_dir / WORDS_TXT}: {len(words)} symbols, {GRAPH_JSON} says {info.get('num_words')}")
    return info, words
