"""Weight search on a dev set: every point of a grid of DecodeConfig values, scored by WER/CER/BLEU.

The acoustic pass runs once where the head allows it (``Head.cache_acoustics``): CTC log-probabilities of
the dev set are computed once and every grid point only re-runs the search; a speech LLM's head gives a
conditioned LM holding the LLM's KV cache of every utterance, too large to keep, so it is rebuilt per point.
Each finished point is appended to ``tune.jsonl`` at once, so an interrupted search resumes where it was.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

from asrkit.data.results import ResultWriter, read_results
from asrkit.errors import UserError
from asrkit.inference.decode_config import DecodeConfig

NUMERIC = {"beam": int, "nbest": int, "prune_topk": int, "max_active": int, "max_new_tokens": int,
           "lm_weight": float, "source_weight": float, "ilm_weight": float, "insertion_bonus": float,
           "word_bonus": float, "search_beam": float, "hotword_weight": float, "hotword_beam": int,
           "hotword_fuzzy": float, "hotword_check": float, "hotword_reject": float,
           "ctc_weight": float,
           "oov_penalty": float, "blank_penalty": float, "token_min_logp": float, "beam_prune_logp": float,
           "length_penalty": float,
           "eos_bias": float}


def parse_grid(specs: Sequence[str]) -> dict[str, list]:
    """``["lm_weight=0.2,0.4", "word_bonus=0:2:0.5"]`` -> values per field (``a:b:step`` includes b)."""
    grid: dict[str, list] = {}
    for spec in specs:
        name, sep, values = spec.partition("=")
        name = name.strip().replace("-", "_")
        if not sep or name not in NUMERIC:
            raise UserError(f"--grid {spec!r}: expected NAME=VALUES with NAME one of {', '.join(sorted(NUMERIC))}")
        kind = NUMERIC[name]
        try:
            if ":" in values:
                lo, hi, step = (float(v) for v in values.split(":"))
                if step <= 0:
                    raise ValueError("step must be positive")
                n = int(round((hi - lo) / step)) + 1
                vals = [kind(round(lo + i * step, 6)) for i in range(n)]
            else:
                vals = [kind(v) for v in values.split(",") if v.strip()]
        except ValueError as err:
            raise UserError(f"--grid {spec!r}: {err}") from None
        if not vals:
            raise UserError(f"--grid {spec!r}: no values")
        grid[name] = vals
    return grid


def grid_points(base: DecodeConfig, grid: dict[str, list]) -> list[DecodeConfig]:
    names = list(grid)
    return [replace(base, **dict(zip(names, combo))) for combo in itertools.product(*(grid[n] for n in names))]


def point_key(cfg: DecodeConfig, names: Sequence[str]) -> str:
    return json.dumps({n: getattr(cfg, n) for n in names}, sort_keys=True)


def tune_row_problem(obj: object) -> str | None:
    """Why a line of tune.jsonl is not a finished grid point (``key``, the grid values, ``score``)."""
    if not isinstance(obj, dict):
        return "not a JSON object"
    if not isinstance(obj.get("key"), str):
        return "no 'key'"
    score = obj.get("score")
    if isinstance(score, bool) or not isinstance(score, (int, float)):
        return "no numeric 'score'"
    try:
        point = json.loads(obj["key"])
    except json.JSONDecodeError:
        return "'key' is not a grid point"
    if not isinstance(point, dict) or any(obj.get(k) != v for k, v in point.items()):
        return "'key' does not match the row's values"
    return None


def search(points: Sequence[DecodeConfig], names: Sequence[str], evaluate: Callable[[DecodeConfig], float],
           log_path: Path, higher_is_better: bool, on_point: Callable[[int, int, dict], None] | None = None
           ) -> tuple[DecodeConfig, list[dict]]:
    """Evaluate every point not already in ``log_path``; returns the best config and all rows.

    ``log_path`` is read and appended by the results writer (asrkit/data/results.py): a last line cut by a
    kill or a full disk is cut off and its point evaluated again; a line that is not a row is an error."""
    rows: list[dict] = read_results(log_path, tune_row_problem)  # type: ignore[assignment]
    done = {r["key"] for r in rows}
    with ResultWriter(log_path, fresh=False) as log:
        for i, cfg in enumerate(points):
            key = point_key(cfg, names)
            if key in done:
                continue
            row = {"key": key, **{n: getattr(cfg, n) for n in names}, "score": evaluate(cfg)}
            log.write([row])
            rows.append(row)
            done.add(key)
            if on_point:
                on_point(i, len(points), row)
    wanted = {point_key(c, names) for c in points}
    rows = [r for r in rows if r["key"] in wanted]
    best_row = (max if higher_is_better else min)(rows, key=lambda r: r["score"])
    best = next(c for c in points if point_key(c, names) == best_row["key"])
    return best, rows


def plot(rows: list[dict], names: Sequence[str], metric: str, path: Path) -> Path | None:
    """Score against the first grid field, one line per combination of the others."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    x_name, others = names[0], list(names[1:])
    series: dict[str, list[tuple[float, float]]] = {}
    for r in rows:
        label = ", ".join(f"{n}={r[n]}" for n in others) or metric
        series.setdefault(label, []).append((r[x_name], r["score"]))
    fig, ax = plt.subplots(figsize=(6, 4))
    for label, pts in sorted(series.items()):
        pts.sort()
        ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", label=label)
    ax.set_xlabel(x_name)
    ax.set_ylabel(metric.upper())
    ax.grid(alpha=0.3)
    if len(series) > 1:
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
