"""The bundled Mandarin model fortunes-zh-ctc-small: listed, small, with a card, and `asrkit demo` decodes the
bundled Mandarin samples with it and scores them by CER."""

import json

from asrkit.cli.demo import writes_chinese
from asrkit.cli.main import main
from asrkit.models import load_model
from asrkit.models.registry import PRETRAINED_DIR, bundled_models

NAME = "fortunes-zh-ctc-small"
SAMPLES = PRETRAINED_DIR.parent / "samples"


def test_bundled_zh_model_ships_with_card_and_samples():
    folder = bundled_models()[NAME]
    assert sum(p.stat().st_size for p in folder.iterdir()) < 25e6
    card = (folder / "README.md").read_text()
    assert "minutes of training on" in card and "CER" in card
    utts = [json.loads(x) for x in (SAMPLES / "samples_zh.jsonl").read_text().splitlines() if x.strip()]
    assert len(utts) >= 5 and all((SAMPLES / u["audio"]).exists() and u["lang"] == "zh" for u in utts)
    assert writes_chinese(load_model(NAME)) and not writes_chinese(load_model("bible-en-ctc-small"))


def test_demo_decodes_mandarin_samples(capsys):
    assert main(["demo", "-m", NAME]) == 0
    out = capsys.readouterr().out
    utts = [json.loads(x) for x in (SAMPLES / "samples_zh.jsonl").read_text().splitlines() if x.strip()]
    assert out.count("HYP:") == len(utts) and "CER" in out
    value = float(out.split("CER ")[1].split()[0])
    # A broken model, front end or unit set gives ~100 % CER; the card's greedy test_zh CER is far lower.
    assert value < 50
