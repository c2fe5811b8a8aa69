"""`asrkit export --format onnx`: the folder decodes with onnxruntime, log-probs equal PyTorch's, same hypotheses."""

import json

import pytest
import torch

from asrkit.cli.main import main
from asrkit.frontend import load_audio
from asrkit.inference import Recognizer
from asrkit.inference.decode_config import DecodeConfig
from asrkit.models import load_model
from asrkit.models.bundled import resolve_model_dir
from asrkit.models.onnx_ctc import OnnxCTCModel
from lm.ngram.build import build_ngram


@pytest.fixture(scope="module")
def exported(root, tmp_path_factory):
    out = tmp_path_factory.mktemp("onnx") / "model"
    assert main(["export", "--model", "bible-en-ctc-small", "--format", "onnx", "-o", str(out)]) == 0
    samples = root / "asrkit" / "samples"
    rows = [json.loads(line) for line in (samples / "samples.jsonl").read_text().splitlines()]
    waves = [load_audio(samples / r["audio"]) for r in rows]
    return out, rows, waves


def test_folder_layout(exported):
    out, _, _ = exported
    assert sorted(p.name for p in out.iterdir()) == ["am.mvn", "config.json", "model.onnx", "tokenizer.model"]
    assert isinstance(load_model(str(out)), OnnxCTCModel)


def test_log_probs_equal_pytorch(exported):
    out, _, waves = exported
    torch_rec, onnx_rec = Recognizer(), Recognizer(str(out))
    ref, ref_len = torch_rec.emissions(waves)  # a padded batch of all samples: dynamic batch and time
    got, got_len = onnx_rec.emissions(waves)
    assert torch.equal(ref_len, got_len)
    mask = torch.arange(ref.size(1))[None, :] < ref_len[:, None]
    assert float((got - ref).abs()[mask].max()) < 1e-4
    one, _ = onnx_rec.emissions(waves[:1])  # batch 1, another length
    assert float((one[0] - ref[0, : ref_len[0]]).abs().max()) < 1e-4


def test_same_hypotheses_every_method(exported, tmp_path):
    out, rows, waves = exported
    (tmp_path / "text.txt").write_text("\n".join(r["text"].lower() for r in rows) + "\n")
    lm = tmp_path / "word3.arpa"
    build_ngram([tmp_path / "text.txt"], 3, "word", lm, memory="64M")
    torch_rec, onnx_rec = Recognizer(), Recognizer(str(out))
    ref_ac, got_ac = torch_rec.head.acoustics(waves), onnx_rec.head.acoustics(waves)
    for settings in [{}, {"method": "beam", "beam": 4}, {"method": "shallow_fusion", "lm": str(lm), "lm_weight": 0.5},
                     {"method": "rescore", "lm": str(lm), "nbest": 4}]:
        cfg = DecodeConfig(**settings)
        ref = torch_rec.decoder(cfg)(ref_ac)
        assert onnx_rec.decoder(cfg)(got_ac) == ref, settings
        assert any(ref), settings


def test_decode_cli_with_onnx_folder(exported, root, tmp_path):
    out, rows, _ = exported
    hyp = tmp_path / "hyp.jsonl"
    assert main(["decode", "-m", str(out), "-i", str(root / "asrkit" / "samples" / "samples.jsonl"), "-o", str(hyp),
                 "--timestamps", "-q"]) == 0
    lines = [json.loads(line) for line in hyp.read_text().splitlines()]
    assert [x["id"] for x in lines] == [r["id"] for r in rows]
    assert all(x["words"] and x["segments"] for x in lines)


def test_export_refuses_bad_targets(exported, tmp_path, capsys):
    out, _, _ = exported
    assert main(["export", "--model", "bible-en-speechllm-tiny", "-o", str(tmp_path / "x")]) == 2
    assert "only CTC models" in capsys.readouterr().err
    (tmp_path / "f").write_text("")
    assert main(["export", "--out", str(tmp_path / "f")]) == 2
    assert "is a file" in capsys.readouterr().err


def test_the_models_decoding_defaults_go_with_it(tmp_path):
    """bible-en-ctc-char's decoding.json (its tuned hotword settings) is copied into the ONNX folder and read there."""
    out = tmp_path / "char"
    assert main(["export", "--model", "bible-en-ctc-char", "--format", "onnx", "-o", str(out)]) == 0
    assert (out / "decoding.json").read_text() == (resolve_model_dir("bible-en-ctc-char") / "decoding.json").read_text()
    rec = Recognizer(str(out), method="beam")
    assert isinstance(rec.model, OnnxCTCModel) and (rec.config.hotword_weight, rec.config.hotword_beam) == (1.0, 0)
