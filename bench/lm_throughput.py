"""LM scoring throughput: states scored per second through the LanguageModel interface, as a markdown table.

For each ``--lm`` (anything :func:`lm.load.load_lm` opens: ARPA, KenLM binary, neural LM folders) and each
batch size, it times ``score(state)`` (full vocabulary, B x V) and ``score(state, candidates)``
(``--candidates`` ids per state, B x K), and ``advance`` by one unit (B new states), on states
reached by advancing real text units, so n-gram
lookups hit realistic contexts. ``states/s`` = B * calls / seconds; one state scored means a whole
row (V or K scores) computed.

    nice -n 19 python bench/lm_throughput.py --lm word.arpa --lm word.bin --lm token.arpa \
        --tokenizer spm.model --text held_out.txt
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from asrkit.text.normalize import normalize_text  # noqa: E402
from lm.interface import LanguageModel  # noqa: E402
from lm.load import load_lm  # noqa: E402

DEFAULT_TEXT = [
    "in the beginning god created the heaven and the earth",
    "and the earth was without form and void",
    "and god said let there be light and there was light",
]


def prefix_states(lm: LanguageModel, texts: list[str], batch: int, depth: int) -> object:
    """``batch`` states, each after up to ``depth`` units of one of ``texts`` (cycled), built by ``advance``."""
    seqs = [lm.encode_text(normalize_text(t)) for t in texts]
    seqs = [s for s in seqs if s] or [[0]]
    state = lm.init_state(batch)
    rows = torch.arange(batch)
    units = []
    for b in range(batch):
        # Row b reads sentence b mod n from offset b // n, so rows mostly hold different contexts.
        seq = seqs[b % len(seqs)]
        start = b // len(seqs)
        units.append([seq[(start + pos) % len(seq)] for pos in range(depth)])
    for pos in range(depth):
        state = lm.advance(state, rows, torch.tensor([u[pos] for u in units]))
    return state


def rate(fn, batch: int, min_seconds: float) -> float:
    """States per second of ``fn`` (one call scores ``batch`` states), timed for at least ``min_seconds``."""
    fn()  # warm-up (lazy init, caches, CUDA kernels)
    calls, start = 0, time.perf_counter()
    while True:
        fn()
        calls += 1
        elapsed = time.perf_counter() - start
        if elapsed >= min_seconds:
            return batch * calls / elapsed


def bench_lm(path: str, tokenizer: str | None, texts: list[str], batches: list[int], k: int,
             min_seconds: float) -> list[list[str]]:
    lm = load_lm(path, tokenizer=tokenizer)
    vocab = len(lm.vocab)
    kind = f"{type(lm).__name__} {lm.unit} ({Path(path).name}, V={vocab})"
    rows = []
    for batch in batches:
        state = prefix_states(lm, texts, batch, depth=3)
        gen = torch.Generator().manual_seed(0)
        # Candidates avoid id 0, the CTC blank for token LMs, as a CTC pre-beam would.
        cands = torch.randint(1, vocab, (batch, k), generator=gen)
        with torch.inference_mode():
            full = rate(lambda: lm.score(state), batch, min_seconds)  # noqa: B023 (called right away)
            sub = rate(lambda: lm.score(state, cands), batch, min_seconds)  # noqa: B023
            parents = torch.arange(batch)
            # Extending every state by one unit: where neural LMs spend their time (one forward step).
            adv = rate(lambda: lm.advance(state, parents, cands[:, 0]), batch, min_seconds)  # noqa: B023
        rows.append([kind, str(batch), f"{full:,.0f}", f"{sub:,.0f}", f"{adv:,.0f}"])
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lm", action="append", required=True, help="an LM path (repeat for several)")
    ap.add_argument("--tokenizer", help="sentencepiece model, for token-level LMs")
    ap.add_argument("--text", help="text file whose lines give the prefixes (default: three built-in lines)")
    ap.add_argument("--batch", type=int, nargs="+", default=[1, 64], help="batch sizes (default: 1 64)")
    ap.add_argument("--candidates", type=int, default=8, help="candidates per state (default: 8)")
    ap.add_argument("--min-seconds", type=float, default=0.5, help="time each measurement at least this long")
    args = ap.parse_args(argv)
    texts = Path(args.text).read_text(encoding="utf-8").splitlines() if args.text else DEFAULT_TEXT
    torch.set_num_threads(1)  # comparable numbers on a shared machine
    table = [["LM", "batch", "states/s full vocab", f"states/s {args.candidates} candidates", "states/s advance"]]
    for path in args.lm:
        table += bench_lm(path, args.tokenizer, texts, args.batch, args.candidates, args.min_seconds)
    widths = [max(len(r[i]) for r in table) for i in range(len(table[0]))]
    for i, row in enumerate(table):
        print("| " + " | ".join(c.ljust(w) for c, w in zip(row, widths)) + " |")
        if i == 0:
            print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return 0


if __name__ == "__main__":
    sys.exit(main())
