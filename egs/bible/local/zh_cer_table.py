#!/usr/bin/env python3
"""The Mandarin CER table of RESULTS.md from run_zh.sh's outputs (score JSONs, tuned configs, decode logs, LM
perplexities): one row per decoding method on test_zh, with the dev_zh CER its weights were tuned to."""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path


def _json(path: Path) -> dict | None:
    return json.loads(path.read_text()) if path.exists() else None


def _rtf(log: Path) -> str:
    m = re.search(r"RTF ([0-9.]+)", log.read_text()) if log.exists() else None
    return m.group(1) if m else "-"


def _best_dev(tune: Path) -> float | None:
    rows = [json.loads(x) for x in (tune / "tune.jsonl").read_text().splitlines() if x.strip()] \
        if (tune / "tune.jsonl").exists() else []
    return min((r["score"] for r in rows), default=None)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--exp", type=Path, default=Path("exp/ctc_zh"))
    args = ap.parse_args()
    exp, fusion = args.exp, args.exp / "fusion"
    greedy_dev = _json(exp / "decode_greedy" / "dev_zh" / "cer.json")
    greedy = _json(exp / "decode_greedy" / "test_zh" / "cer.json")
    base = greedy["value"] if greedy else None
    lines = ["| decoding | LM | weights (tuned on dev_zh) | dev_zh CER % | test_zh CER % | sub / del / ins | "
             "vs greedy | RTF |", "|---|---|---|---|---|---|---|---|"]

    def row(name: str, lm: str, weights: str, dev: float | None, s: dict, rtf: str) -> None:
        rel = f"{100 * (s['value'] - base) / base:+.1f} %" if base and name != "greedy" else "-"
        dev_s = f"{dev:.2f}" if dev is not None else "-"
        lines.append(f"| {name} | {lm} | {weights} | {dev_s} | {s['value']:.2f} | {s['substitutions']} / "
                     f"{s['deletions']} / {s['insertions']} | {rel} | {rtf} |")

    if greedy:
        row("greedy", "-", "-", greedy_dev["value"] if greedy_dev else None, greedy, "-")
    for method, lm in (("beam", "-"), ("shallow_fusion", "char 5-gram (token)"), ("tlg", "char 5-gram (TLG)")):
        s = _json(fusion / f"{method}.cer.json")
        if not s:
            continue
        cfg = _json(fusion / f"tune_{method}" / "best.json") or {}
        shown = ("lm_weight", "insertion_bonus", "word_bonus")
        weights = ", ".join(f"{k} {cfg[k]:g}" for k in shown if cfg.get(k)) or "-"
        if cfg.get("beam"):
            weights += f"; beam {cfg['beam']}"
        row(method, lm, weights, _best_dev(fusion / f"tune_{method}"), s, _rtf(fusion / f"{method}.log"))
    print("\n".join(lines))
    ppl = exp / "lm" / "ppl.jsonl"
    if ppl.exists():
        print("\n| LM (fortunes-zh text outside test_zh, dev_zh) | dev_zh perplexity / char | "
              "test_zh perplexity / char |\n|---|---|---|")
        res: dict[str, dict[str, float]] = {}
        for line in ppl.read_text().splitlines():
            r = json.loads(line)
            res.setdefault(r["lm"], {})[r["eval"]] = r["result"]["ppl_token"]
        for lm, v in res.items():
            print(f"| {lm} | {v.get('dev_zh', float('nan')):.1f} | {v.get('test_zh', float('nan')):.1f} |")


if __name__ == "__main__":
    main()
