"""Peer benchmark, character-vocabulary row: a character CTC model's emissions decoded by asrkit and by
pyctcdecode with the same character n-gram, on one CPU thread.

The model is the recipe's Mandarin CTC model (``egs/bible/exp/ctc_zh_gpu/model``: one unit per Chinese
character, 5667 units, blank 0; trained by ``egs/bible/run_zh.sh``) and the LM its character 3-gram
(``exp/ctc_zh_gpu/lm/zh_char3.arpa``, a character per "word"). It is the only character-unit CTC model
in the tree; no English character (wav2vec2-style, ``|`` between words) model was available to run here,
so this row has no word delimiter: every character is a unit and an LM "word". Emissions are computed
once (``peer_ctc_lm.compute_emissions``, cached in ``egs/bible/exp/peer_bench``) and given to both tools:

- asrkit: the compiled CTC prefix search (``peer_ctc_lm.ours_decoder``) with the char 3-gram as a token
  LM over the model's units (``KenLM.load(..., tokenizer=...)``), ``lambda`` on natural logs, ``beta``
  per character (``UnitBonus``); pyctcdecode's pruning (``token_min_logp -5``, ``beam_prune_logp 10``)
  and recombination, as in the main peer table;
- pyctcdecode 0.5.0: ``build_ctcdecoder`` with the same ARPA file. Each character label is written as
  ``▁c`` (its BPE mode: a label starting with ``▁`` starts a word), so every character is a word and the
  3-gram scores it as the LM was built; ``alpha = lambda`` (it converts log10 to natural logs),
  ``beta`` per word = per character. The spaces it puts between words are removed before scoring.

Both get the same (lambda, beta) grid tuned on ``dev_zh`` (CER), then decode ``test_zh``. Speed: CPU seconds
of the decode calls only (``time.process_time``), best of ``--timing-rounds`` passes.

    OMP_NUM_THREADS=1 nice -n 19 .venv/bin/python bench/peer_ctc_chars.py --max-utts 200 --max-dev-utts 100
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
    Decoder,
    KenLM,
    Tokenizer,
    _native_setup,
    compute_emissions,
    log,
    ours_decoder,
    run_decoder,
)

from asrkit.metrics import cer

ZH = EGS / "exp" / "ctc_zh_gpu"


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


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", type=Path, default=ZH / "model")
    ap.add_argument("--lm", type=Path, default=ZH / "lm" / "zh_char3.arpa")
    ap.add_argument("--manifest", type=Path, default=EGS / "data" / "manifests" / "test_zh.jsonl")
    ap.add_argument("--dev-manifest", type=Path, default=EGS / "data" / "manifests" / "dev_zh.jsonl")
    ap.add_argument("--max-utts", type=int, default=200)
    ap.add_argument("--max-dev-utts", type=int, default=100)
    ap.add_argument("--beams", default="8,32")
    ap.add_argument("--lm-weights", default="0.1,0.2,0.3,0.5,0.8")
    ap.add_argument("--bonuses", default="0,0.5,1,2")
    ap.add_argument("--timing-rounds", type=int, default=2)
    ap.add_argument("--cache-dir", type=Path, default=EGS / "exp" / "peer_bench")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "peer_ctc_chars.md")
    args = ap.parse_args(argv)

    tokenizer = Tokenizer(args.model / "tokenizer.model")
    test = compute_emissions(args.model, args.manifest, args.max_utts, args.cache_dir)
    dev = compute_emissions(args.model, args.dev_manifest, args.max_dev_utts, args.cache_dir)
    refs, dev_refs = [u.text for u in test], [u.text for u in dev]
    t = time.perf_counter()
    lm = KenLM.load(args.lm, tokenizer=tokenizer)
    lm_setup = time.perf_counter() - t + _native_setup(lm)
    words = arpa_unigrams(args.lm)  # the ARPA's characters, as pyctcdecode's unigrams
    lams = [float(x) for x in args.lm_weights.split(",")]
    betas = [float(x) for x in args.bonuses.split(",")]
    rows = []
    for beam in [int(b) for b in args.beams.split(",")]:
        decs = [ours_decoder(None, tokenizer, beam, "-", label="asrkit beam (no LM)"),
                ours_decoder(lm, tokenizer, beam, "token", setup_s=lm_setup),
                pyctcdecode_chars(args.lm, tokenizer, words, beam)]
        for dec in decs:
            best = (0.0, 0.0, float("nan"))
            if dec.unit != "-":
                for lam, beta in itertools.product(lams, betas):
                    dec.set_weights(lam, beta)
                    score = cer(dev_refs, run_decoder(dec, dev, warmup=False).hyps, "zh").value
                    if best[2] != best[2] or score < best[2]:
                        best = (lam, beta, score)
                dec.set_weights(best[0], best[1])
            res = run_decoder(dec, test)
            for _ in range(max(0, args.timing_rounds - 1)):
                res.pass_cpu.append(_time(dec, test))
            row = {"decoder": dec.name, "beam": beam, "lambda": best[0], "beta": best[1], "dev_cer": best[2],
                   "cer": cer(refs, res.hyps, "zh").value, "cpu_s": res.cpu_s, "utts_per_s": res.utts_per_s,
                   "setup_s": dec.setup_s}
            rows.append(row)
            log(json.dumps(row))
    audio = sum(u.duration for u in test)
    lines = [f"# Character-vocabulary peer row ({len(test)} test_zh utterances, {audio:.0f} s of audio)", "",
             "Command: `OMP_NUM_THREADS=1 nice -n 19 .venv/bin/python bench/peer_ctc_chars.py "
             + " ".join(argv if argv is not None else sys.argv[1:]) + "`", "",
             f"Model `{args.model.relative_to(ROOT)}` (character units, no word delimiter), LM "
             f"`{args.lm.relative_to(ROOT)}` (a character per word); (lambda, beta) tuned on {len(dev)} dev_zh "
             "utterances (CER); speed = CPU seconds of the decode calls, one thread, best pass.", "",
             "| beam | decoder | lambda | beta | dev CER % | test CER % | utts/s | vs pyctcdecode | setup s |",
             "|---|---|---|---|---|---|---|---|---|"]
    for beam in sorted({r["beam"] for r in rows}):
        peer = next((r for r in rows if r["beam"] == beam and r["decoder"] == "pyctcdecode"), None)
        for r in (r for r in rows if r["beam"] == beam):
            ratio = f"{r['utts_per_s'] / peer['utts_per_s']:.1f}x" if peer else "-"
            dev_cer = "-" if r["dev_cer"] != r["dev_cer"] else f"{r['dev_cer']:.2f}"
            lam = "-" if r["decoder"].startswith("asrkit beam") else f"{r['lambda']:g}"
            beta = "-" if r["decoder"].startswith("asrkit beam") else f"{r['beta']:g}"
            lines.append(f"| {beam} | {r['decoder']} | {lam} | {beta} | {dev_cer} | {r['cer']:.2f} "
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
