"""Markdown table of the speech-LLM fusion experiment: score, RTF and tuned weights per method and task.

    python local/speech_llm_fusion_table.py exp/speech_llm/fusion > exp/speech_llm/fusion/table.md
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

METHODS = ["greedy", "beam", "shallow_fusion", "rescore", "density_ratio", "lodr", "ilme",
           "beam+ctc", "shallow_fusion+ctc", "density_ratio+ctc", "lodr+ctc", "ilme+ctc"]
TASKS = [("asr_bible", "wer", "Mark+Jude ASR WER %"), ("ast_bible", "bleu", "Mark+Jude es→en BLEU"),
         ("asr_fortunes", "wer", "fortunes ASR WER %")]
SHORT = {"lm_weight": "λ", "source_weight": "μ_src", "ilm_weight": "μ_ilm", "insertion_bonus": "β",
         "word_bonus": "β_word", "eos_bias": "eos", "ctc_weight": "ctc"}
USED = {"shallow_fusion": ["lm_weight", "eos_bias"], "rescore": ["lm_weight", "word_bonus"],
        "density_ratio": ["lm_weight", "source_weight", "eos_bias"], "lodr": ["lm_weight", "source_weight", "eos_bias"],
        "ilme": ["lm_weight", "ilm_weight", "eos_bias"]}
# Joint CTC/attention rows: the method's own weights plus the CTC weight (tuned once, in beam+ctc).
USED.update({f"{m}+ctc": [*USED.get(m, []), "ctc_weight"] for m in ("beam", *list(USED))})


def cell(d: Path, method: str, metric: str) -> tuple[str, str, str]:
    score_file = d / f"{method}.{metric}.json"
    if not score_file.exists():
        return "", "", ""
    value = json.loads(score_file.read_text().strip().splitlines()[-1])["value"]
    log = d / f"{method}.log"
    m = re.search(r"RTF ([0-9.]+)", log.read_text()) if log.exists() else None
    best = d / f"tune_{method}" / "best.json"
    weights = ""
    if best.exists():
        cfg = json.loads(best.read_text())
        weights = ", ".join(f"{SHORT[w]}={cfg[w]:g}" for w in USED.get(method, []) if w in cfg)
    return f"{value:.2f}", m.group(1) if m else "", weights


def main() -> None:
    out = Path(sys.argv[1])
    head = "| method |" + "".join(f" {title} | RTF | tuned weights |" for _, _, title in TASKS)
    print(head)
    print("|---" * (1 + 3 * len(TASKS)) + "|")
    for method in METHODS:
        if not any((out / name / f"{method}.{metric}.json").exists() for name, metric, _ in TASKS):
            continue
        cells = []
        for name, metric, _ in TASKS:
            cells += cell(out / name, method, metric)
        print(f"| {method} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
