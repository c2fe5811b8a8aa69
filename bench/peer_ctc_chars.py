"""Peer benchmark, character-vocabulary rows: a character CTC model's emissions decoded by asrkit and by
pyctcdecode with the same n-gram, on one CPU thread. Two rows (``--row``):

``en`` (wav2vec2 style): the recipe's English character CTC model (``egs/bible/exp/ctc_char_en/model``:
letters, ``'`` and a word delimiter, blank 0, 30 ms frames; its encoder fine-tuned from the bundled
``bible-en-ctc-small``, egs/bible/RESULTS.md "An English character model") with the Bible word 3-gram
(``exp/lm/source_word3.arpa``). Its units are given to both tools as a wav2vec2 vocabulary lists them
(``<pad>`` blank, ``|`` between words, one letter per unit):

- asrkit: ``Vocabulary.from_chars(..., delimiter="|")`` (the bring-your-own-model path, docs/other_models.md)
  and the word 3-gram through ``TokenizedWordLM`` (a word's score when its delimiter comes), ``beta`` per word
  (``WordBonus``), in the compiled CTC prefix search with pyctcdecode's pruning (``token_min_logp -5``,
  ``beam_prune_logp 10``) and recombination, as in the main peer table (``peer_ctc_lm.ours_decoder``);
- pyctcdecode 0.5.0: ``build_ctcdecoder`` over the same labels (it reads ``|`` as its space and ``<pad>`` as
  its blank, as for a wav2vec2 processor's vocabulary) with the same ARPA file and its unigrams.

``zh``: the recipe's Mandarin CTC model (``egs/bible/exp/ctc_zh_gpu/model``: one unit per Chinese
character, 5667 units, blank 0; trained by ``egs/bible/run_zh.sh``) and its character 3-gram
(``exp/ctc_zh_gpu/lm/zh_char3.arpa``, a character per "word"); no word delimiter: every character is a unit
and an LM "word":

- asrkit: the compiled CTC prefix search (``peer_ctc_lm.ours_decoder``) with the char 3-gram as a token
  LM over the model's units (``KenLM.load(..., tokenizer=...)``), ``lambda`` on natural logs, ``beta``
  per character (``UnitBonus``); pyctcdecode's pruning and recombination, as in the main peer table;
- pyctcdecode 0.5.0: ``build_ctcdecoder`` with the same ARPA file. Each character label is written as
  ``▁c`` (its BPE mode: a label starting with ``▁`` starts a word), so every character is a word and the
  3-gram scores it as the LM was built; ``alpha = lambda`` (it converts log10 to natural logs),
  ``beta`` per word = per character. The spaces it puts between words are removed before scoring.

Emissions are computed once (``peer_ctc_lm.compute_emissions``, cached in ``egs/bible/exp/peer_bench``) and
given to both tools. Both get the same (lambda, beta) grid tuned on the dev manifest (WER on
``heldout_dev_en``, held-out training books / CER on ``dev_zh``), then decode the test manifest; in the ``en``
row also the out-of-vocabulary penalty (``--oov-penalties``: asrkit's ``--oov-penalty``, natural log, times
lambda, once where a spelling leaves the LM's words; pyctcdecode's ``unk_score_offset``, added to a partial
word's score, growing with its length, and to a finished unknown word's), the same values for both. Speed:
CPU seconds of the decode calls only (``time.process_time``), best of ``--timing-rounds`` passes.

    OMP_NUM_THREADS=1 nice -n 19 .venv/bin/python bench/peer_ctc_chars.py --row en --max-utts 200 --max-dev-utts 200
    OMP_NUM_THREADS=1 nice -n 19 .venv/bin/python bench/peer_ctc_chars.py --row zh --max-utts 200 --max-dev-utts 100
"""

from __future__ import annotations

import argparse
import itertools
import json
import logging
import sys
import time
from pathlib import Path

from peer_ctc_lm import (
    EGS,
    ROOT,
    WORD_START,
    Decoder,
    KenLM,
    Tokenizer,
    _native_setup,
    compute_emissions,
    log,
    ours_decoder,
    run_decoder,
)

from asrkit.metrics import cer, wer
from decoders.vocabulary import Vocabulary

ZH = EGS / "exp" / "ctc_zh_gpu"
EN = EGS / "exp" / "ctc_char_en"
ROWS = {  # --row: model, LM, test and dev manifests
    "zh": (ZH / "model", ZH / "lm" / "zh_char3.arpa", "test_zh", "dev_zh"),
    "en": (EN / "model", EGS / "exp" / "lm" / "source_word3.arpa", "test_en", "heldout_dev_en"),
}


def arpa_unigrams(path: Path) -> list[str]:
    """The words of an ARPA file's 1-gram section (``<s>``/``</s>``/``<unk>`` left out)."""
    out, inside = [], False
    with path.open(encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if line.startswith("\\"):
                inside = line == "\\1-grams:"
                continue
            parts = line.split("\t")
            if inside and len(parts) >= 2 and parts[1] not in ("<s>", "</s>", "<unk>"):
                out.append(parts[1])
    return out


def pyctcdecode_chars(lm_path: Path, tokenizer: Tokenizer, words: list[str], beam: int) -> Decoder:
    """pyctcdecode over a character vocabulary, every character its own word (``▁c`` labels)."""
    logging.getLogger("pyctcdecode").setLevel(logging.ERROR)
    from pyctcdecode import build_ctcdecoder

    start = time.perf_counter()
    pieces = tokenizer.pieces()
    labels = ["" if i == tokenizer.blank_id else (p if p.startswith("<") else "\u2581" + p)
              for i, p in enumerate(pieces)]
    dec = build_ctcdecoder(labels, kenlm_model_path=str(lm_path), unigrams=[w for w in words if w != "<unk>"])
    setup = time.perf_counter() - start

    def set_weights(lam: float, beta: float) -> None:
        dec.reset_params(alpha=float(lam), beta=float(beta))

    def decode(x) -> str:
        return dec.decode(x, beam_width=beam).replace(" ", "")

    return Decoder("pyctcdecode", "char", beam, lambda lp: lp.numpy(), decode, set_weights, setup_s=setup)


def wav2vec2_labels(tokenizer: Tokenizer) -> list[str]:
    """A character model's units as a wav2vec2 vocabulary lists them: ``<pad>`` for the blank, ``|`` for the
    word delimiter (sentencepiece's lone ``▁``), the letters as they are."""
    return ["<pad>" if i == tokenizer.blank_id else "|" if p == WORD_START else p
            for i, p in enumerate(tokenizer.pieces())]


def pyctcdecode_wav2vec2(lm_path: Path, labels: list[str], words: list[str], beam: int,
                         unk_score_offset: float = -10.0) -> Decoder:
    """pyctcdecode over wav2vec2-style labels (``|`` its space, ``<pad>`` its blank) with a word LM;
    ``unk_score_offset`` its out-of-vocabulary penalty (-10 by default)."""
    logging.getLogger("pyctcdecode").setLevel(logging.ERROR)
    from pyctcdecode import build_ctcdecoder

    start = time.perf_counter()
    dec = build_ctcdecoder(labels, kenlm_model_path=str(lm_path), unigrams=[w for w in words if w != "<unk>"],
                           unk_score_offset=unk_score_offset)
    setup = time.perf_counter() - start

    def set_weights(lam: float, beta: float) -> None:
        dec.reset_params(alpha=float(lam), beta=float(beta))

    def decode(x) -> str:
        return dec.decode(x, beam_width=beam)

    return Decoder("pyctcdecode", "word", beam, lambda lp: lp.numpy(), decode, set_weights, setup_s=setup)


def en_decoders(lm_path: Path, tokenizer: Tokenizer, beams: list[int],
                oov_penalties: list[float]) -> dict[int, list[list[tuple[float, Decoder]]]]:
    """The ``en`` row's decoders per beam, over the model's units as a wav2vec2 vocabulary: plain beam search,
    then asrkit and pyctcdecode with the word LM, one variant per out-of-vocabulary penalty (asrkit's
    ``--oov-penalty``, pyctcdecode's ``unk_score_offset``), which the tuning chooses among."""
    from lm.ngram.word_fusion import TokenizedWordLM

    labels = wav2vec2_labels(tokenizer)
    vocab = Vocabulary.from_chars(labels, blank_id=tokenizer.blank_id, delimiter="|")
    t = time.perf_counter()
    word_lm = KenLM.load(lm_path)
    setup = time.perf_counter() - t
    out: dict[int, list[list[tuple[float, Decoder]]]] = {}
    for beam in beams:
        ours = []
        for oov in oov_penalties:
            t = time.perf_counter()
            wrapped = TokenizedWordLM(word_lm, vocab, oov_penalty=oov)
            cost = setup + time.perf_counter() - t + _native_setup(wrapped)
            ours.append((oov, ours_decoder(wrapped, vocab, beam, "word", setup_s=cost)))
        peer = [(oov, pyctcdecode_wav2vec2(lm_path, labels, word_lm.vocab, beam, oov)) for oov in oov_penalties]
        out[beam] = [[(float("nan"), ours_decoder(None, vocab, beam, "-", label="asrkit beam (no LM)"))], ours, peer]
    return out


def zh_decoders(lm_path: Path, tokenizer: Tokenizer, beams: list[int]) -> dict[int, list[list[tuple[float, Decoder]]]]:
    """The ``zh`` row's decoders per beam: the character 3-gram as a token LM, and as pyctcdecode's words (one
    variant each: no out-of-vocabulary penalty to choose, every character being a unit)."""
    t = time.perf_counter()
    lm = KenLM.load(lm_path, tokenizer=tokenizer)
    lm_setup = time.perf_counter() - t + _native_setup(lm)
    words = arpa_unigrams(lm_path)  # the ARPA's characters, as pyctcdecode's unigrams
    nan = float("nan")
    return {beam: [[(nan, ours_decoder(None, tokenizer, beam, "-", label="asrkit beam (no LM)"))],
                   [(nan, ours_decoder(lm, tokenizer, beam, "token", setup_s=lm_setup))],
                   [(nan, pyctcdecode_chars(lm_path, tokenizer, words, beam))]] for beam in beams}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--row", choices=sorted(ROWS), default="zh", help="which model and LM (module doc)")
    ap.add_argument("--model", type=Path, default=None, help="[the row's]")
    ap.add_argument("--lm", type=Path, default=None, help="[the row's]")
    ap.add_argument("--manifest", type=Path, default=None, help="test manifest [the row's]")
    ap.add_argument("--dev-manifest", type=Path, default=None, help="[the row's]")
    ap.add_argument("--max-utts", type=int, default=200)
    ap.add_argument("--max-dev-utts", type=int, default=100)
    ap.add_argument("--beams", default="8,32")
    ap.add_argument("--lm-weights", default="0.1,0.2,0.3,0.5,0.8")
    ap.add_argument("--bonuses", default="0,0.5,1,2")
    ap.add_argument("--oov-penalties", default="-10,-20,-40",
                    help="en: out-of-vocabulary penalties tuned for both tools (asrkit --oov-penalty, pyctcdecode "
                         "unk_score_offset; -10 is both defaults)")
    ap.add_argument("--timing-rounds", type=int, default=2)
    ap.add_argument("--cache-dir", type=Path, default=EGS / "exp" / "peer_bench")
    ap.add_argument("--out", type=Path, default=None,
                    help="[bench/results/peer_ctc_chars.md for zh, peer_ctc_chars_en.md for en]")
    args = ap.parse_args(argv)
    model, lm_path, test_set, dev_set = ROWS[args.row]
    manifests = EGS / "data" / "manifests"
    args.model = args.model or model
    args.lm = args.lm or lm_path
    args.manifest = args.manifest or manifests / f"{test_set}.jsonl"
    args.dev_manifest = args.dev_manifest or manifests / f"{dev_set}.jsonl"
    args.out = args.out or ROOT / "bench" / "results" / ("peer_ctc_chars.md" if args.row == "zh"
                                                          else f"peer_ctc_chars_{args.row}.md")
    # The error rate each row is scored by (the references are normalised by the metric).
    score = (lambda refs, hyps: cer(refs, hyps, "zh").value) if args.row == "zh" else (
        lambda refs, hyps: wer(refs, hyps).value)
    metric = "CER" if args.row == "zh" else "WER"

    tokenizer = Tokenizer(args.model / "tokenizer.model")
    test = compute_emissions(args.model, args.manifest, args.max_utts, args.cache_dir)
    dev = compute_emissions(args.model, args.dev_manifest, args.max_dev_utts, args.cache_dir)
    refs, dev_refs = [u.text for u in test], [u.text for u in dev]
    lams = [float(x) for x in args.lm_weights.split(",")]
    betas = [float(x) for x in args.bonuses.split(",")]
    beams = [int(b) for b in args.beams.split(",")]
    by_beam = (en_decoders(args.lm, tokenizer, beams, [float(x) for x in args.oov_penalties.split(",")])
               if args.row == "en" else zh_decoders(args.lm, tokenizer, beams))
    rows = []
    for beam, groups in by_beam.items():
        for variants in groups:
            # (lambda, beta) and, among a tool's variants, the out-of-vocabulary penalty: the lowest dev error.
            oov, dec = variants[0]
            best = (0.0, 0.0, float("nan"))
            for v_oov, v_dec in variants:
                if v_dec.unit == "-":
                    break
                for lam, beta in itertools.product(lams, betas):
                    v_dec.set_weights(lam, beta)
                    err = score(dev_refs, run_decoder(v_dec, dev, warmup=False).hyps)
                    if best[2] != best[2] or err < best[2]:
                        best, oov, dec = (lam, beta, err), v_oov, v_dec
            if dec.unit != "-":
                dec.set_weights(best[0], best[1])
            res = run_decoder(dec, test)
            for _ in range(max(0, args.timing_rounds - 1)):
                res.pass_cpu.append(_time(dec, test))
            row = {"decoder": dec.name, "beam": beam, "lambda": best[0], "beta": best[1], "oov": oov,
                   "dev_err": best[2], "err": score(refs, res.hyps), "metric": metric, "cpu_s": res.cpu_s,
                   "utts_per_s": res.utts_per_s, "setup_s": dec.setup_s}
            rows.append(row)
            log(json.dumps(row))
    audio = sum(u.duration for u in test)
    units = ("character units, no word delimiter), LM" if args.row == "zh"
             else "letters and `|`, as a wav2vec2 vocabulary), word LM")
    lm_note = " (a character per word)" if args.row == "zh" else ""
    lines = [f"# Character-vocabulary peer row, {args.row} ({len(test)} {args.manifest.stem} utterances, "
             f"{audio:.0f} s of audio)", "",
             "Command: `OMP_NUM_THREADS=1 nice -n 19 .venv/bin/python bench/peer_ctc_chars.py "
             + " ".join(argv if argv is not None else sys.argv[1:]) + "`", "",
             f"Model `{args.model.relative_to(ROOT)}` ({units} `{args.lm.relative_to(ROOT)}`{lm_note}; "
             f"(lambda, beta) tuned on {len(dev)} {args.dev_manifest.stem} utterances ({metric}); speed = CPU "
             "seconds of the decode calls, one thread, best pass.", "",
             f"| beam | decoder | lambda | beta | OOV penalty | dev {metric} % | test {metric} % | utts/s "
             "| vs pyctcdecode | setup s |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for beam in sorted({r["beam"] for r in rows}):
        peer = next((r for r in rows if r["beam"] == beam and r["decoder"] == "pyctcdecode"), None)
        for r in (r for r in rows if r["beam"] == beam):
            ratio = f"{r['utts_per_s'] / peer['utts_per_s']:.1f}x" if peer else "-"
            dev_err = "-" if r["dev_err"] != r["dev_err"] else f"{r['dev_err']:.2f}"
            lam = "-" if r["decoder"].startswith("asrkit beam") else f"{r['lambda']:g}"
            beta = "-" if r["decoder"].startswith("asrkit beam") else f"{r['beta']:g}"
            oov = "-" if r["oov"] != r["oov"] else f"{r['oov']:g}"
            lines.append(f"| {beam} | {r['decoder']} | {lam} | {beta} | {oov} | {dev_err} | {r['err']:.2f} "
                         f"| {r['utts_per_s']:.1f} | {ratio} | {r['setup_s']:.1f} |")
    args.out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    args.out.with_suffix(".json").write_text(json.dumps(rows, indent=1) + "\n", encoding="utf-8")
    print("\n".join(lines))
    return 0


def _time(dec: Decoder, utts) -> float:
    inputs = [dec.prepare(u.log_probs) for u in utts]
    t = time.process_time()
    for x in inputs:
        dec.decode(x)
    return time.process_time() - t


if __name__ == "__main__":
    sys.exit(main())
