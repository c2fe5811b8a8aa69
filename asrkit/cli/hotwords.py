"""`asrkit hotwords aliases`: add to a hotword file the spellings the model writes for each phrase.

Each phrase is read aloud by espeak-ng in a few voices and speeds and decoded by the model (its decoding
settings from --config, without hotwords); its frequent readings are written as aliases
(``phrase<TAB>weight<TAB>alias|alias``), which `asrkit decode --hotwords` boosts and writes as the phrase
(docs/hotwords.md, asrkit/inference/hotword_aliases.py).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from asrkit.cli.argtypes import add_output, add_quiet, positive_int, unit_float


def _csv(text: str) -> list[str]:
    items = [t.strip() for t in text.split(",") if t.strip()]
    if not items:
        raise argparse.ArgumentTypeError("expected a comma-separated list")
    return items


def _speeds(text: str) -> list[int]:
    try:
        speeds = [int(t) for t in _csv(text)]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: expected words per minute, e.g. 150,175") from None
    if any(not 80 <= s <= 450 for s in speeds):
        raise argparse.ArgumentTypeError("espeak-ng speeds are 80-450 words per minute")
    return speeds


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("hotwords", help="hotword files: aliases", description=__doc__)
    hw_sub = p.add_subparsers(dest="hotwords_command", required=True)
    a = hw_sub.add_parser("aliases", help="add the model's own spellings of each phrase as aliases",
                          description=__doc__.split(": ", 1)[1])
    a.add_argument("--input", "-i", required=True, metavar="FILE", help="hotword file (as for decode --hotwords)")
    add_output(a, "the hotword file with aliases (refused if it exists)", metavar="FILE")
    a.add_argument("--model", "-m", default=None, help="model folder or bundled name (see `asrkit models`)")
    a.add_argument("--llm", default=None, help="speech LLM: the LLM folder (MooER release)")
    a.add_argument("--config", default=None, help="decoding config JSON (its hotwords are not used) [beam search]")
    a.add_argument("--voices", type=_csv, default=None,
                   help="espeak-ng voices, comma-separated [en-us,en-us+m3,en-us+f3]")
    a.add_argument("--speeds", type=_speeds, default=None, help="words per minute, comma-separated [150,175]")
    a.add_argument("--carriers", default=None, metavar="TEMPLATES",
                   help="sentences the phrase is read in, '|'-separated, {} = the phrase "
                        "['{}|and then {} said|we saw {} there']")
    a.add_argument("--known-words", default=None, metavar="FILE",
                   help="text or ARPA file: readings made only of its words are not aliases (e.g. the LM's text)")
    a.add_argument("--min-known-distance", type=unit_float, default=0.3, metavar="D",
                   help="with --known-words: drop readings nearer than D (normalised edit distance) to a known "
                        "word, e.g. 'tre' (0.25 from 'tree'); 0 = keep them [0.3]")
    a.add_argument("--max-aliases", type=positive_int, default=3, help="per phrase, the most frequent readings [3]")
    a.add_argument("--threads", type=positive_int, default=1, help="torch CPU threads")
    add_quiet(a)
    a.set_defaults(func=run_aliases)


def run_aliases(args: argparse.Namespace) -> int:
    import torch

    from asrkit.errors import UserError
    from asrkit.inference.decode_config import DecodeConfig
    from asrkit.inference.espeak_tts import speak
    from asrkit.inference.hotword_aliases import (
        DEFAULT_CARRIERS,
        DEFAULT_SPEEDS,
        DEFAULT_VOICES,
        check_carriers,
        choose_aliases,
        format_hotwords,
        model_readings,
        read_known_words,
    )
    from asrkit.inference.hotwords import read_hotwords
    from asrkit.inference.recognizer import Recognizer
    from asrkit.utils.progress import progress

    out = Path(args.output)
    if out.exists():
        raise UserError(f"-o {out}: exists; give another name (nothing is overwritten)")
    hotwords = read_hotwords(args.input)
    known = read_known_words(args.known_words) if args.known_words else None
    voices, speeds = args.voices or list(DEFAULT_VOICES), args.speeds or list(DEFAULT_SPEEDS)
    carriers = [c.strip() for c in args.carriers.split("|")] if args.carriers else list(DEFAULT_CARRIERS)
    check_carriers(carriers)  # before the model loads
    for v in voices:  # a voice espeak-ng does not have fails here, in one line, before the model loads
        speak("test", v, speeds[0])
    torch.set_num_threads(args.threads)
    cfg = DecodeConfig.load(args.config) if args.config else DecodeConfig(method="beam")
    cfg = DecodeConfig(**{**cfg.to_dict(), "hotwords": None})  # the model's own, unbiased readings
    rec = Recognizer(args.model, config=cfg, llm=args.llm)
    bar = progress(range(len(hotwords)), disable=args.quiet, desc="phrases", unit="phrase")
    readings = model_readings(rec.decode_waves, [h.phrase for h in hotwords], speak, voices, speeds, carriers,
                              on_phrase=lambda n: bar.update(1))
    bar.close()
    result = choose_aliases(hotwords, readings, known, max_aliases=args.max_aliases,
                            min_known_distance=args.min_known_distance)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(format_hotwords(result), encoding="utf-8")
    os.replace(tmp, out)  # written whole or not at all
    n = sum(len(h.aliases) - len(o.aliases) for h, o in zip(result, hotwords))
    with_alias = sum(len(h.aliases) > len(o.aliases) for h, o in zip(result, hotwords))
    print(f"wrote {out}: {n} aliases for {with_alias} of {len(result)} phrases", file=sys.stderr)
    return 0
