"""Lhotse manifests as `asrkit decode --input` (the lhotse extra; part of [dev], so CI runs this)."""

import json

import numpy as np
import pytest

from asrkit.cli.main import main
from asrkit.data.inputs import InputError, Utterance, iter_inputs
from asrkit.frontend import load_audio
from asrkit.inference import Recognizer

lhotse = pytest.importorskip("lhotse")


@pytest.fixture(scope="module")
def cuts(root, tmp_path_factory):
    folder = tmp_path_factory.mktemp("lhotse")
    a = root / "asrkit" / "samples" / "en-Mark.12.20.flac"
    b = root / "asrkit" / "samples" / "en-Mark.15.28.flac"
    ra, rb = lhotse.Recording.from_file(a), lhotse.Recording.from_file(b)
    whole = ra.to_cut().with_id("a-whole")
    whole.supervisions = [lhotse.SupervisionSegment("s1", ra.id, 0.0, ra.duration, text="reference a")]
    part = rb.to_cut().truncate(offset=1.0, duration=2.5).with_id("b-part")
    path = folder / "cuts.jsonl.gz"
    lhotse.CutSet.from_cuts([whole, part]).to_file(path)
    mixed = folder / "mixed.jsonl.gz"
    lhotse.CutSet.from_cuts([whole.pad(duration=ra.duration + 1.0).with_id("padded"), part]).to_file(mixed)
    return path, mixed, a, b


def test_cutset_entries(cuts):
    path, mixed, a, b = cuts
    items = list(iter_inputs([str(path)]))
    assert [i.id for i in items] == ["a-whole", "b-part"]
    assert items[0].text == "reference a" and items[0].audio.name == a.name and items[0].start == 0.0
    assert items[1].start == pytest.approx(1.0) and items[1].duration == pytest.approx(2.5)
    bad = list(iter_inputs([str(mixed)]))
    assert isinstance(bad[0], InputError) and "MixedCut" in str(bad[0]) and isinstance(bad[1], Utterance)


def test_cutset_decodes(cuts, tmp_path, capsys):
    path, _, a, b = cuts
    out = tmp_path / "hyp.jsonl"
    assert main(["decode", "-i", str(path), "-o", str(out), "-q"]) == 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    rec = Recognizer()
    wave_b = load_audio(b)[16000: 16000 + 40000]  # the cut: 1.0 s to 3.5 s
    expect = rec.decode_waves([load_audio(a), wave_b])
    assert [r["id"] for r in rows] == ["a-whole", "b-part"]
    assert [r["text"] for r in rows] == expect
    assert rows[1]["segments"][0]["end"] == pytest.approx(2.5)
    assert np.isclose(rows[0]["segments"][0]["end"], len(load_audio(a)) / 16000, atol=1e-3)
