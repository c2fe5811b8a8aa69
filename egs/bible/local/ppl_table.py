#!/usr/bin/env python3
"""Markdown table of the perplexities stage 5 collected (one JSON object per line)."""

import json
import sys

rows = [json.loads(x) for x in open(sys.argv[1], encoding="utf-8") if x.strip()]
print("| LM | eval text | units | OOV % | ppl per unit | ppl per word |")
print("|---|---|---|---|---|---|")
for r in rows:
    res = r["result"]
    print(f"| {r['lm']} | {r['eval']} | {res['units']} | {100 * res['oov_rate']:.2f} | {res['ppl_token']:.1f} | "
          f"{res['ppl_word']:.1f} |")
