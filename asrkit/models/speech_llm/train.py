"""Kept so recipes keep working: ``python -m asrkit.models.speech_llm.train ARGS`` runs
``asrkit speech-llm train ARGS``. The trainer is :mod:`asrkit.train.speech_llm`."""

from __future__ import annotations


def main(argv: list[str] | None = None) -> int:
    import sys

    from asrkit.cli.main import main as asrkit_main

    return asrkit_main(["speech-llm", "train", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    raise SystemExit(main())
