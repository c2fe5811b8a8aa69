"""The recipe's speech-LLM card (egs/bible/local/bundle_speech_llm.py): a continued card carries its parent's
training stages and logs, read from the parent's card, so the history survives when the logs are gone."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "egs" / "bible" / "local"))

from bundle_speech_llm import _parent_logs, _parent_stages, _precision  # noqa: E402

BUNDLED = Path(__file__).resolve().parents[1] / "asrkit" / "pretrained" / "bible-en-speechllm-tiny"


def test_parent_stages_of_the_bundled_card():
    stages = _parent_stages(BUNDLED)
    assert len(stages) >= 2
    assert all(s.startswith("  - `") and "h wall clock" in s for s in stages)
    assert _parent_logs(BUNDLED)  # and its logs


def test_parent_stages_of_hand_written_cards(tmp_path):
    (tmp_path / "README.md").write_text(
        "# m\n\n- **Encoder**: x\n- **Lineage**: continued from:\n  - `a/train.log`: 1 epoch, 0.50 h wall clock, cpu\n"
        "  - `b/train.log`: 2 epochs, 1.00 h wall clock, gpu\n- **This training** (...)\n  - `not/a/stage`\n")
    assert _parent_stages(tmp_path) == ["  - `a/train.log`: 1 epoch, 0.50 h wall clock, cpu",
                                        "  - `b/train.log`: 2 epochs, 1.00 h wall clock, gpu"]
    (tmp_path / "README.md").write_text("# a card of a model trained from scratch\n\n- **Encoder**: x\n")
    assert _parent_stages(tmp_path) == []


def test_card_precision_comes_from_the_log(tmp_path):
    log = tmp_path / "train.log"
    log.write_text("2026-11-29 05:28:12 speech LLM 15.2M params, ...; world 1, cpu; "
                   "precision: float32 (bf16 autocast asked; this cpu has no native bf16)\n"
                   "2026-11-29 05:29:12 epoch 1 step 25 loss/token 2.292\n")
    assert _precision(log, "bf16") == "float32 (bf16 autocast asked; this cpu has no native bf16)"
    assert _precision(log, "bf16", "given by hand") == "given by hand"  # a log older than the line
    log.write_text("2026-11-29 05:29:12 epoch 1 step 25 loss/token 2.292\n")
    assert _precision(log, "bf16") == "bf16 autocast" and _precision(log, "none") == "float32"
