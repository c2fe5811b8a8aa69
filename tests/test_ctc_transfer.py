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


def test_english_character_model_with_30ms_frames(trained, tmp_path):
    """``"lfr_n": 3``: an English character model (letters and a lone ``▁`` between words, as wav2vec2's ``|``)
    on 30 ms encoder frames, its encoder transferred from a 60 ms BPE model; the saved model keeps the stride;
    its dev record has WER as well as CER."""
    folder, trainer = trained
    src = folder / "exp" / "model"
    cfg = dataclasses.replace(trainer.cfg, units="char", vocab_size=64, lfr_n=3,
                              optim=dataclasses.replace(trainer.cfg.optim, epochs=1))
    assert cfg.to_dict()["lfr_n"] == 3 and "lfr_n" not in trainer.cfg.to_dict()
    manifest = folder / "m.jsonl"
    t = Trainer(cfg, str(manifest), str(manifest), str(tmp_path / "exp"), nj=1, init_encoder=str(src))
    assert "\u2581" in t.tok.pieces() and "t" in t.tok.pieces()
    t.train()
    assert {"dev_cer", "dev_wer"} <= set(t.history[-1])  # letters of a spaced language: words count too
    english_bpe, english_chars = CTCModel.from_pretrained(src), CTCModel.from_pretrained(tmp_path / "exp" / "model")
    assert english_chars.config.frontend.lfr_n == 3 and english_bpe.config.frontend.lfr_n == 6
    wave = torch.randn(16000)
    with torch.inference_mode():
        n60, n30 = (m.frontend(wave).size(0) for m in (english_bpe, english_chars))
    assert n30 in (2 * n60 - 1, 2 * n60, 2 * n60 + 1)  # twice the frames of the same second of audio
    from asrkit.inference.streaming import StreamingRecognizer

    with pytest.raises(UserError, match="at least one 30 ms frame"):  # streaming speaks of its frames
        StreamingRecognizer(str(tmp_path / "exp" / "model"), chunk_size=0)


def test_lfr_n_outside_the_stack_is_refused(tmp_path):
    from asrkit.train.config import TrainConfig

    for n in (0, 8):
        path = tmp_path / f"c{n}.json"
        path.write_text(json.dumps({"lfr_n": n}))
        with pytest.raises(UserError, match="lfr_n must be 1..7"):
            TrainConfig.load(path)
