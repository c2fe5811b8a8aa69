"""Markdown table of the cross-domain experiment: WER and RTF per method and domain, with tuned weights.

    python local/cross_domain_table.py exp/cross_domain > exp/cross_domain/table.md
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

METHODS = ["greedy", "beam", "shallow_fusion", "shallow_fusion_word", "rescore", "density_ratio", "lodr", "ilme",
           "tlg"]
WEIGHTS = ["lm_weight", "source_weight", "ilm_weight", "insertion_bonus", "word_bonus", "blank_penalty"]
SHORT = {"lm_weight": "λ", "source_weight": "μ_src", "ilm_weight": "μ_ilm", "insertion_bonus": "β",
         "word_bonus": "β_word", "blank_penalty": "blank"}


def cell(d: Path, method: str) -> tuple[str, str, str, float | None]:
    wer_file, log = d / f"{method}.wer.json", d / f"{method}.log"
    if not wer_file.exists():
        return "", "", "", None
    wer = json.loads(wer_file.read_text().strip().splitlines()[-1])["value"]
    timed = d.parent / "timing" / f"{d.name}_{method}.log"  # an idle-machine timing run, when there is one
    log = timed if timed.exists() else log
    m = re.search(r"RTF ([0-9.]+)", log.read_text()) if log.exists() else None
    best = d / f"tune_{method}" / "best.json"
    weights = ""
    if best.exists():
        cfg = json.loads(best.read_text())
        used = [w for w in WEIGHTS if (w == "insertion_bonus" and method not in ("tlg", "rescore")) or
                (w == "word_bonus" and method == "rescore") or (w == "lm_weight") or
                (w == "source_weight" and method in ("density_ratio", "lodr")) or
                (w == "ilm_weight" and method == "ilme") or (w == "blank_penalty" and method == "tlg")]
        weights = ", ".join(f"{SHORT[w]}={cfg[w]:g}" for w in used if w in cfg)
    return f"{wer:.2f}", m.group(1) if m else "", weights, wer


def main() -> None:
    out = Path(sys.argv[1])
    domains = [("bible", "Mark+Jude (in-domain)"), ("fortunes", "fortunes (target domain)")]
    print("| method | " + " | ".join(f"{name} WER % | RTF | tuned weights" for _, name in domains) + " |")
    print("|---|" + "---|---|---|" * len(domains))
    base = {dom: cell(out / dom, "shallow_fusion")[3] for dom, _ in domains}
    for method in METHODS:
        cells = [cell(out / dom, method) for dom, _ in domains]
        if all(c[3] is None for c in cells):
            continue
        row = []
        for (dom, _), (wer, rtf, weights, value) in zip(domains, cells):
            rel = ""
            if value is not None and base[dom] and method not in ("greedy", "beam", "shallow_fusion"):
                rel = f" ({100 * (value - base[dom]) / base[dom]:+.1f}% vs SF)"
            row += [wer + rel, rtf, weights]
        print(f"| {method} | " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
