"""`--recombine` reaches the CTC prefix search from the command line and from a saved config."""

from __future__ import annotations

import json

import decoders.ctc_prefix_beam as prefix_beam
from asrkit.cli.main import main
from asrkit.inference.decode_config import DecodeConfig
from asrkit.models.registry import PRETRAINED_DIR

SAMPLES = PRETRAINED_DIR.parent / "samples" / "samples.jsonl"


def _decode(tmp_path, monkeypatch, *flags) -> tuple[list[bool], dict]:
    seen = []
    original = prefix_beam.ctc_prefix_beam_search_batch

    def spy(*args, **kwargs):
        seen.append(kwargs.get("recombine", False))
        return original(*args, **kwargs)

    monkeypatch.setattr(prefix_beam, "ctc_prefix_beam_search_batch", spy)
    out = tmp_path / f"hyp{len(flags)}.jsonl"
    assert main(["decode", "-i", str(SAMPLES), "-o", str(out), "-q", "--method", "beam", *flags]) == 0
    return seen, {u["id"]: u["text"] for u in map(json.loads, out.read_text().splitlines())}


def test_recombine_flag_reaches_the_search(tmp_path, monkeypatch):
    seen, plain = _decode(tmp_path, monkeypatch)
    assert seen and not any(seen)
    seen, recombined = _decode(tmp_path, monkeypatch, "--recombine")
    assert seen and all(seen)
    # Without an LM, prefixes only recombine when their (bonus) states are equal; on these samples the
    # one-best texts stay the same (tests/test_ctc_core.py checks recombination itself).
    assert recombined == plain


def test_recombine_round_trips_through_a_config_file(tmp_path):
    cfg = DecodeConfig(method="beam", recombine=True)
    path = tmp_path / "best.json"
    cfg.save(path)
    assert DecodeConfig.load(path).recombine is True
