"""argparse value types that refuse impossible numbers at parse time (``--batch-size 0``, ``--threads -1``),
so argparse prints its usual one-line ``argument --x: ...`` error instead of the job failing later."""

from __future__ import annotations

import argparse
import math


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def non_negative_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"must be a finite number >= 0, not {text}")
    return value


def unit_float(text: str) -> float:
    """A number from 0 to 1 (a normalised distance or a share)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: expected a number from 0 to 1") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"{text!r}: expected a number from 0 to 1")
    return value


def positive_float(text: str) -> float:
    value = non_negative_float(text)
    if value == 0:
        raise argparse.ArgumentTypeError("must be > 0")
    return value


def add_flag(p: argparse.ArgumentParser | argparse._ArgumentGroup, names: tuple[str, ...], *,
             hidden: tuple[str, ...] = (), required: bool = False, **kwargs) -> None:
    """``p.add_argument(*names, **kwargs)`` plus old spellings ``hidden`` that set the same value without
    showing in ``--help`` (renamed flags keep working in old scripts). ``required`` counts any spelling."""
    dest = kwargs.pop("dest", None) or names[0].lstrip("-").replace("-", "_")
    if not hidden:
        p.add_argument(*names, dest=dest, required=required, **kwargs)
        return
    group = p.add_mutually_exclusive_group(required=required)
    group.add_argument(*names, dest=dest, **kwargs)
    shared = {k: v for k, v in kwargs.items() if k in ("type", "nargs", "metavar", "choices", "default")}
    for old in hidden:
        group.add_argument(old, dest=dest, help=argparse.SUPPRESS, **shared)


def add_output(p: argparse.ArgumentParser, help: str, *, hidden: tuple[str, ...] = (), required: bool = True,
               **kwargs) -> None:
    """``-o/--output``, the one spelling of "where to write" in every sub-command (``hidden``: old spellings)."""
    add_flag(p, ("--output", "-o"), hidden=hidden, required=required, help=help, **kwargs)


def add_quiet(p: argparse.ArgumentParser, help: str = "no progress bar or progress lines") -> None:
    """``-q/--quiet`` on every sub-command that shows progress."""
    p.add_argument("--quiet", "-q", action="store_true", help=help)
