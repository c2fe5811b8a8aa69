"""Kept so recipes keep working: ``python -m asrkit.models.speech_llm.lm_pretrain ARGS`` runs
``asrkit speech-llm pretrain ARGS``. The trainer is :mod:`asrkit.train.llm_pretrain`, the model
:mod:`asrkit.models.speech_llm.tiny_qwen2`."""

from __future__ import annotations


def main(argv: list[str] | None = None) -> int:
    import sys

    from asrkit.cli.main import main as asrkit_main

    return asrkit_main(["speech-llm", "pretrain", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    raise SystemExit(main())
