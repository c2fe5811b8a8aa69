"""Character units and encoder transfer (`asrkit train --init-encoder`): a tiny English model's encoder
starts a Mandarin run with its own character units and a new CTC output layer; the dev metric is CER."""

import dataclasses
import json
import shutil
import subprocess

import pytest
import torch

from asrkit.errors import UserError
from asrkit.models import CTCModel
from asrkit.tokenizer import train_tokenizer
from asrkit.train.trainer import Trainer

ZH = ["要有礼貌的人。", "请接受这一事实，并保持礼貌。", "善意推定系统的共同目标。", "请始终假设其他人都在努力。"]


@pytest.fixture(scope="module")
def zh_manifest(tmp_path_factory):
    if not shutil.which("espeak-ng") or not shutil.which("sox"):
        pytest.fail("espeak-ng and sox are required (run install.sh)")
    folder = tmp_path_factory.mktemp("zh")
    lines = []
    for i, text in enumerate(ZH):
        raw, wav = folder / f"{i}.raw.wav", folder / f"zh{i}.wav"
        subprocess.run(["espeak-ng", "-v", "cmn-latn-pinyin", "-w", str(raw), text], check=True)
        subprocess.run(["sox", "-G", str(raw), "-r", "16000", "-c", "1", "-b", "16", str(wav)], check=True)
        lines.append({"id": f"zh{i}", "audio": wav.name, "text": text})
    manifest = folder / "zh.jsonl"
    manifest.write_text("".join(json.dumps(x, ensure_ascii=False) + "\n" for x in lines))
    return manifest


def test_char_tokenizer_units_are_characters(tmp_path):
    tok = train_tokenizer(["要有礼貌的人", "linux 是一个 os"], tmp_path / "c.model", 100, units="char")
    pieces = tok.pieces()
    assert pieces[:2] == ["<blk>", "<unk>"] and {"要", "礼", "貌", "l", "▁"} <= set(pieces)
    ids = tok.encode("要有礼貌的人")
    assert [tok.sp.id_to_piece(i) for i in ids] == list("要有礼貌的人")  # no dummy-prefix ▁ piece
    assert tok.decode(tok.encode("linux 是一个 os")) == "linux 是一个 os"
    with pytest.raises(UserError, match="units"):
        train_tokenizer(["a"], tmp_path / "x.model", 10, units="word")


def test_init_encoder_transfers_encoder_and_cmvn_not_units(trained, zh_manifest, tmp_path):
    folder, trainer = trained
    src = folder / "exp" / "model"
    cfg = dataclasses.replace(trainer.cfg, units="char", vocab_size=200,
                              optim=dataclasses.replace(trainer.cfg.optim, epochs=2))
    t = Trainer(cfg, str(zh_manifest), str(zh_manifest), str(tmp_path / "exp"), nj=1, init_encoder=str(src))
    english = CTCModel.from_pretrained(src)
    n_chars = len(set("".join(ZH)) - set("。，"))
    assert t.tok.vocab_size == n_chars + 2  # blank, unk, one unit per character
    assert (tmp_path / "exp" / "am.mvn").read_bytes() == (src / "am.mvn").read_bytes()
    for k, v in english.state_dict().items():
        if k.startswith("ctc."):
            assert t.model.state_dict()[k].shape[0] == t.tok.vocab_size != v.shape[0]
        else:
            torch.testing.assert_close(t.model.state_dict()[k], v)
    t.train()
    assert "dev_cer" in t.history[-1] and "dev_wer" not in t.history[-1]
    assert "encoder initialised from" in (tmp_path / "exp" / "train.log").read_text()
    back = CTCModel.from_pretrained(tmp_path / "exp" / "model")
    assert back.tokenizer.vocab_size == t.tok.vocab_size


def test_init_encoder_refuses_other_shapes_and_init(trained, zh_manifest, tmp_path):
    folder, trainer = trained
    src = folder / "exp" / "model"
    wide = dataclasses.replace(trainer.cfg, units="char",
                               encoder=dataclasses.replace(trainer.cfg.encoder, linear_units=64))
    with pytest.raises(UserError, match="does not match"):
        Trainer(wide, str(zh_manifest), None, str(tmp_path / "a"), nj=1, init_encoder=str(src))
    with pytest.raises(UserError, match="exclude each other"):
        Trainer(trainer.cfg, str(zh_manifest), None, str(tmp_path / "b"), nj=1, init=str(src), init_encoder=str(src))
