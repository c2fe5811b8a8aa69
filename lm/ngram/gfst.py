"""A Kaldi-style grammar FST ``G.fst`` and its ``words.txt`` from a word-level ARPA LM, with ``kaldilm.arpa2fst``.

G is a weighted acceptor over word ids (tropical semiring, weights are ``-ln p``: arpa2fst converts
ARPA log10 values with ``ln(10)``). Backoff arcs carry the disambiguation symbol ``#0`` on the input
side (an epsilon on the output side), so that G stays determinizable after composition with L;
``<s>`` and ``</s>`` become epsilons / final weights, as in Kaldi and icefall.

``words.txt`` follows the Kaldi/icefall layout: ``<eps> 0``, ``<unk> 1`` (when the LM has it), the
other words sorted, then ``#0``, ``<s>``, ``</s>``.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from asrkit.errors import UserError
from lm.ngram.arpa import SPECIAL, is_kenlm_binary, read_unigrams

DISAMBIG = "#0"


def write_words_txt(arpa: str | Path, path: str | Path) -> list[str]:
    """Write the symbol table of ``arpa``'s unigrams to ``path``; returns the symbols, index = id."""
    unigrams = read_unigrams(arpa)
    words = sorted(set(unigrams) - {*SPECIAL, "<unk>"})
    symbols = ["<eps>"] + (["<unk>"] if "<unk>" in unigrams else []) + words + [DISAMBIG, *SPECIAL]
    Path(path).write_text("".join(f"{w} {i}\n" for i, w in enumerate(symbols)), encoding="utf-8")
    return symbols


def build_gfst(arpa: str | Path, output_dir: str | Path) -> tuple[Path, Path]:
    """Write ``OUTPUT_DIR/words.txt`` and ``OUTPUT_DIR/G.fst`` (binary OpenFst vector FST, readable with
    ``kaldifst.StdVectorFst.read``) for the ARPA file ``arpa``. Returns their paths."""
    arpa, output_dir = Path(arpa), Path(output_dir)
    if not arpa.is_file():
        raise UserError(f"{arpa}: no such ARPA file")
    if is_kenlm_binary(arpa):
        raise UserError(f"{arpa}: is a KenLM binary; G.fst needs the ARPA file")
    output_dir.mkdir(parents=True, exist_ok=True)
    words_txt, g_fst = output_dir / "words.txt", output_dir / "G.fst"
    write_words_txt(arpa, words_txt)  # validates the ARPA header first, with a one-line error
    # kaldilm's arpa2fst aborts the whole process on a malformed ARPA (a C++ FATAL, not an exception) and logs
    # every section it reads, so it runs in a child Python; its log is shown only when it fails.
    tmp_fst = output_dir / "G.fst.tmp"
    cmd = [sys.executable, "-m", "kaldilm", f"--disambig-symbol={DISAMBIG}", f"--read-symbol-table={words_txt}",
           "--max-arpa-warnings=0", str(arpa), str(tmp_fst)]
    proc = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, errors="replace")
    if proc.returncode != 0 or not tmp_fst.is_file():
        errors = [line for line in proc.stderr.splitlines() if line.startswith(("[E]", "[F]"))]
        detail = errors[-1] if errors else " ".join(proc.stderr.split()[-20:])
        tmp_fst.unlink(missing_ok=True)
        words_txt.unlink(missing_ok=True)
        raise UserError(f"{arpa}: arpa2fst failed ({detail.strip()[:300]})")
    tmp_fst.replace(g_fst)
    return g_fst, words_txt
