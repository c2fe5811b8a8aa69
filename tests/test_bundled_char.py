"""The bundled English character model bible-en-ctc-char: listed, small, with a card, 30 ms frames, its units
letters and a lone ``▁`` (wav2vec2's ``|``, the hotword graph's word delimiter); `asrkit demo` decodes the
English samples with it."""

from asrkit.cli.main import main
from asrkit.inference.hotwords import word_delimiter
from asrkit.models import load_model
from asrkit.models.registry import bundled_models

NAME = "bible-en-ctc-char"


def test_bundled_char_model_ships_with_card():
    folder = bundled_models()[NAME]
    assert sum(p.stat().st_size for p in folder.iterdir()) < 25e6
    card = (folder / "README.md").read_text()
    assert "character units" in card and "30 ms frames" in card and "WER" in card
    model = load_model(NAME)
    pieces = model.tokenizer.pieces()
    assert model.config.frontend.lfr_n == 3 and set("abcdefghijklmnopqrstuvwxyz'") <= set(pieces)
    assert word_delimiter(model.tokenizer) == pieces.index("\u2581")
    assert all(len(p) == 1 for p in pieces[2:])  # blank, <unk>, then one character per unit


def test_demo_decodes_english_samples_with_letters(capsys):
    assert main(["demo", "-m", NAME]) == 0
    out = capsys.readouterr().out
    value = float(out.split("WER ")[1].split()[0])
    # A broken front end (e.g. 60 ms frames for a 30 ms model) or unit set gives ~100 % WER; the card's greedy
    # test_en WER is 23.8 %.
    assert out.count("HYP:") >= 5 and value < 45
