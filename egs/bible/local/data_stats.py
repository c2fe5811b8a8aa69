"""Print utterances, hours and mean duration per manifest.  Usage: data_stats.py data/manifests"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def manifest_stats(path: Path) -> tuple[int, float, float]:
    """(utterances, hours, max duration in s) of one JSONL manifest."""
    durs = [json.loads(line)["duration"] for line in path.read_text(encoding="utf-8").splitlines() if line]
    return len(durs), sum(durs) / 3600, max(durs, default=0.0)


def main() -> None:
    total = 0.0
    print(f"{'manifest':<26}{'utts':>7}{'hours':>8}{'mean s':>8}{'max s':>8}")
    for path in sorted(Path(sys.argv[1]).glob("*.jsonl")):
        n, hours, longest = manifest_stats(path)
        total += hours
        print(f"{path.name:<26}{n:>7}{hours:>8.2f}{hours * 3600 / max(n, 1):>8.2f}{longest:>8.1f}")
    print(f"{'total':<26}{'':>7}{total:>8.2f}")


if __name__ == "__main__":
    main()
