"""Build a TLG decoding graph: TLG = T ∘ min(det(L ∘ G)) (Miao et al., 2015, "EESEN"; WeNet; Mohri et al., 2002).

- G (:mod:`lm.ngram.gfst`): the word n-gram LM as a weighted acceptor, weights ``-ln p``, backoff arcs on ``#0``.
- L (:mod:`decoders.tlg.lexicon`): words spelled with the acoustic model's BPE pieces, word-end ``#d``.
- ``LG = minimize_encoded(determinize_star(L ∘ G))``: Kaldi's determinization (epsilon removal and
  determinization in one step) and minimization of the label/weight-encoded acceptor. OpenFst's plain
  ``determinize`` + ``minimize`` refuses (a fatal abort) because LG keeps input epsilons.
- T (:mod:`decoders.tlg.topology`): CTC topology; its ``eps:#d`` self-loops consume the disambiguation
  symbols, so ``TLG = T ∘ LG`` has input labels = token id + 1 only (plus epsilons) and word ids out.

TLG is not determinized again: removing the backoff epsilons of a large G by determinization makes the
graph much larger, and kaldi-decoder's search handles epsilon arcs. A path through TLG reading frame
labels ``pi_1..pi_T`` and writing words ``W`` has weight ``-ln p_G(W)`` (including ``</s>``; the best
G path, which for a backoff LM is the n-gram probability or occasionally a cheaper backoff path).
"""

from __future__ import annotations

import json
import resource
import shutil
import tempfile
import time
from pathlib import Path

import kaldifst

from asrkit.errors import UserError
from asrkit.tokenizer import Tokenizer
from decoders.tlg.graph import (
    FORMAT,
    GRAPH_JSON,
    TLG_FST,
    TOKENS_TXT,
    VERSION,
    WORDS_TXT,
    read_symbols,
    token_symbols,
    write_symbols,
)
from decoders.tlg.lexicon import build_lexicon, lexicon_fst
from decoders.tlg.topology import TOPOLOGIES, ctc_topology
from lm.ngram.arpa import guess_unit, read_unigrams
from lm.ngram.build import file_sha1, meta_path
from lm.ngram.gfst import DISAMBIG, build_gfst


def _check_word_lm(arpa: Path) -> None:
    """Refuse token-level LMs: G's symbols must be words for L to spell them."""
    unit = None
    if meta_path(arpa).is_file():
        try:
            unit = json.loads(meta_path(arpa).read_text(encoding="utf-8")).get("unit")
        except (json.JSONDecodeError, UnicodeDecodeError, AttributeError):
            unit = None
    if unit is None:
        unit = guess_unit(read_unigrams(arpa))
    if unit != "word":
        raise UserError(f"{arpa}: is a {unit}-level LM; a TLG graph needs a word-level ARPA "
                        "(asrkit lm ngram --unit word)")


def _peak_rss_mb() -> dict[str, float]:
    # ru_maxrss is in KiB on Linux; the child is kaldilm's arpa2fst.
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    child = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {"self": round(own, 1), "arpa2fst": round(child, 1)}


def _size(fst) -> dict[str, int]:
    arcs = sum(fst.num_arcs(s) for s in range(fst.num_states))
    return {"states": fst.num_states, "arcs": arcs}


def build_tlg(arpa: str | Path, tokenizer: str | Path | Tokenizer, out: str | Path, topology: str = "standard",
              log=None) -> dict:
    """Build ``out/{TLG.fst, words.txt, tokens.txt, graph.json}`` from a word ARPA and a sentencepiece model.

    ``topology`` is ``standard`` (exact CTC) or ``compact`` (see :mod:`decoders.tlg.topology`). ``log``,
    if given, is called with one progress line per step. Returns the graph.json dict. Files are written to
    a temporary folder next to ``out`` and moved in at the end, so a failed build leaves no partial graph.
    """
    arpa, out = Path(arpa), Path(out)
    if topology not in TOPOLOGIES:
        raise UserError(f"unknown CTC topology {topology!r}; expected one of {', '.join(TOPOLOGIES)}")
    tok = tokenizer if isinstance(tokenizer, Tokenizer) else Tokenizer(tokenizer)
    if not arpa.is_file():
        raise UserError(f"{arpa}: no such ARPA file")
    if out.exists() and not out.is_dir():
        raise UserError(f"{out}: exists and is not a folder")
    _check_word_lm(arpa)
    say = log or (lambda line: None)
    t_start = time.perf_counter()
    times: dict[str, float] = {}

    def lap(name: str, t0: float) -> float:
        times[name] = round(time.perf_counter() - t0, 2)
        return time.perf_counter()

    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f".{out.name}.tmp-", dir=out.parent) as tmp_name:
        tmp = Path(tmp_name)
        t0 = time.perf_counter()
        say(f"G: arpa2fst {arpa}")
        g_path, words_path = build_gfst(arpa, tmp)
        words = read_symbols(words_path)
        G = kaldifst.StdVectorFst.read(str(g_path))
        kaldifst.arcsort(G, sort_type="ilabel")
        g_size = _size(G)
        t0 = lap("G", t0)

        lexicon = build_lexicon(words, tok)
        if not lexicon.spellings:
            raise UserError(f"{arpa}: no LM word can be spelled with {tok.path}")
        L = lexicon_fst(lexicon, words.index(DISAMBIG))
        say(f"L: {len(lexicon.spellings)} words, {lexicon.num_disambig} disambiguation symbols")
        t0 = lap("L", t0)

        LG = kaldifst.compose(L, G)
        del G
        say(f"LG: compose {_size(LG)}")
        t0 = lap("LG_compose", t0)
        kaldifst.determinize_star(LG)
        t0 = lap("LG_determinize_star", t0)
        kaldifst.minimize_encoded(LG)
        kaldifst.arcsort(LG, sort_type="ilabel")
        lg_size = _size(LG)
        say(f"LG: determinized and minimized {lg_size}")
        t0 = lap("LG_minimize", t0)

        T = ctc_topology(tok.vocab_size, lexicon.num_disambig, topology, tok.blank_id)
        TLG = kaldifst.compose(T, LG)
        del LG
        kaldifst.connect(TLG)
        kaldifst.arcsort(TLG, sort_type="ilabel")
        tlg_size = _size(TLG)
        if tlg_size["states"] == 0:
            raise UserError(f"{arpa}: the TLG graph is empty (no LM sentence can be spelled with {tok.path})")
        say(f"TLG: {tlg_size}")
        t0 = lap("TLG", t0)

        # A ConstFst loads with one read and is what the decoder searches.
        kaldifst.StdConstFst(TLG).write(str(tmp / TLG_FST))
        del TLG
        write_symbols(token_symbols(tok.pieces(), lexicon.num_disambig), tmp / TOKENS_TXT)
        lap("write", t0)
        info = {
            "format": FORMAT,
            "version": VERSION,
            "topology": topology,
            "tokenizer": str(tok.path),
            "tokenizer_sha1": file_sha1(tok.path),
            "num_pieces": tok.vocab_size,
            "lm": str(arpa),
            "lm_sha1": file_sha1(arpa),
            "num_words": len(words),
            "words_in_lexicon": len(lexicon.spellings),
            "words_unspellable": lexicon.unspellable,
            "words_with_unk_piece": lexicon.with_unk_piece,
            "num_disambig": lexicon.num_disambig,
            "sizes": {"G": g_size, "LG": lg_size, "TLG": tlg_size},
            "tlg_bytes": (tmp / TLG_FST).stat().st_size,
            "build_seconds": round(time.perf_counter() - t_start, 2),
            "step_seconds": times,
            "peak_rss_mb": _peak_rss_mb(),
            "words_txt_sha1": file_sha1(words_path),
            "tokens_txt_sha1": file_sha1(tmp / TOKENS_TXT),
            "tlg_sha1": file_sha1(tmp / TLG_FST),
        }
        (tmp / GRAPH_JSON).write_text(json.dumps(info, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        out.mkdir(parents=True, exist_ok=True)
        (out / GRAPH_JSON).unlink(missing_ok=True)  # an old description must not vouch for new files
        # graph.json last: a folder is only a graph once its description names the other files' sha1.
        for name in (TLG_FST, WORDS_TXT, TOKENS_TXT, GRAPH_JSON):
            shutil.move(str(tmp / name), str(out / name))
    return info
