#!/usr/bin/env python3
"""The streaming latency table of RESULTS.md from local/bench_streaming.py's JSON files.

    python local/streaming_table.py exp/streaming/greedy.json exp/streaming/beam.json ...
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def fmt(v) -> str:
    return "" if v is None else str(v)


def main() -> int:
    print("| run | mode, chunk + lookahead | concurrency | utts (audio min) | WER % offline | WER % streamed | "
          "streamed / offline | end -> final ms median / p95 | first partial ms median / p95 | compute RTF | "
          "streams per core (1 / RTF) |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for path in sys.argv[1:]:
        b = json.loads(Path(path).read_text())
        s = b["settings"]
        name = s["method"] + (f" {Path(s['lm']).name} λ={s.get('lm_weight')} β_u={s.get('insertion_bonus')}"
                              if s.get("lm") else "")
        print(f"| {Path(path).stem}: {name} | {b.get('mode')}, {b['chunk_ms']} + {b.get('lookahead_ms', 0)} ms "
              f"(algorithmic {b['algorithmic_latency_ms']} ms) | {b['concurrency']} | {b['utts']} ({b['audio_min']}) | "
              f"{fmt(b.get('offline_wer'))} | {b['stream_wer']} | {fmt(b.get('stream_vs_offline'))} | "
              f"{b['end_to_final_ms_median']} / {b['end_to_final_ms_p95']} | "
              f"{fmt(b['first_partial_ms_median'])} / {fmt(b['first_partial_ms_p95'])} | {b['compute_rtf']} | "
              f"{b['streams_per_core_from_rtf']} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
