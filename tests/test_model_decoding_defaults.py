"""A model folder's decoding.json: the settings its card recommends, under a --config file and the flags."""

import json

import pytest

from asrkit.errors import UserError
from asrkit.inference import DecodeConfig
from asrkit.inference.decode_config import decoding_config, model_defaults
from asrkit.inference.recognizer import Recognizer
from asrkit.models.bundled import find_model_dir


def test_layers_defaults_model_file_config_flags(tmp_path):
    model = tmp_path / "model"
    model.mkdir()
    assert decoding_config(None, {}, model) == DecodeConfig()  # no decoding.json: DecodeConfig's defaults
    (model / "decoding.json").write_text(json.dumps({"hotword_weight": 1.0, "hotword_beam": 0, "beam": 6}))
    cfg = decoding_config(None, {"method": "beam", "beam": None}, model)
    assert (cfg.method, cfg.hotword_weight, cfg.hotword_beam, cfg.beam) == ("beam", 1.0, 0, 6)
    # A --config file sets what it holds (a tuned best.json holds every field), the model file the rest.
    (tmp_path / "tuned.json").write_text(json.dumps({"method": "beam", "hotword_weight": 2.5}))
    cfg = decoding_config(tmp_path / "tuned.json", {}, model)
    assert (cfg.hotword_weight, cfg.hotword_beam, cfg.beam) == (2.5, 0, 6)
    # Flags win over both.
    cfg = decoding_config(tmp_path / "tuned.json", {"hotword_weight": 4.0, "hotword_beam": 3}, model)
    assert (cfg.hotword_weight, cfg.hotword_beam) == (4.0, 3)


def test_relative_paths_are_read_from_the_model_folder(tmp_path):
    model = tmp_path / "model"
    model.mkdir()
    (model / "decoding.json").write_text(json.dumps({"lm": "lm.arpa", "known_words": str(tmp_path / "w.txt"),
                                                     "hotwords": None}))
    assert model_defaults(model) == {"lm": str(model / "lm.arpa"), "known_words": str(tmp_path / "w.txt"),
                                     "hotwords": None}


@pytest.mark.parametrize("content, problem", [('{"hotword_wieght": 1}', "hotword_wieght"),
                                              ('{"hotword_beam": "0"}', "hotword_beam"),
                                              ("[1, 2]", "JSON object"), ("{", "decoding.json")])
def test_a_bad_model_file_is_one_line_naming_it(tmp_path, content, problem):
    (tmp_path / "decoding.json").write_text(content)
    with pytest.raises(UserError) as err:
        model_defaults(tmp_path)
    assert "decoding.json" in str(err.value) and problem in str(err.value) and "\n" not in str(err.value)


def test_the_character_model_brings_its_tuned_hotword_settings():
    """bible-en-ctc-char's hotword weight per letter and full-score rank (egs/bible RESULTS, tuned on dev)
    reach a user who gives only --hotwords; the demo model keeps DecodeConfig's (its pieces' tuning)."""
    assert json.loads((find_model_dir("bible-en-ctc-char") / "decoding.json").read_text()) == {
        "hotword_weight": 1.0, "hotword_beam": 0}
    char = Recognizer("bible-en-ctc-char", method="beam")
    assert (char.config.hotword_weight, char.config.hotword_beam) == (1.0, 0)
    assert Recognizer("bible-en-ctc-char", method="beam", hotword_weight=2.0).config.hotword_weight == 2.0
    demo = Recognizer("bible-en-ctc-small", method="beam")
    assert (demo.config.hotword_weight, demo.config.hotword_beam) == (3.0, 2)
    assert find_model_dir("no-such-model") is None
