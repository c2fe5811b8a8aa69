"""MooER release folders through the CLI, task by task: a release root (or a task sub-folder) + --llm serves
asr (asr/), ast (ast/) and asr_ast (asr_ast_mtl/); --method beam defaults to MooER's 4 beams; the answer stops
only at <|im_end|>; the asr_ast answer is split into a transcript and a translation.

The release is the tiny random speech LLM of conftest.py written with MooER's real layout, one sub-folder per
task, each with its own adapter so that a wrong sub-folder shows in the weights and in the output.
"""

import json

import pytest
import soundfile as sf
import torch

from asrkit.cli.decode import output_record
from asrkit.cli.main import main
from asrkit.inference import Recognizer
from asrkit.inference.decode_config import CTC_BEAM, DecodeConfig
from asrkit.models.speech_llm import split_multitask
from asrkit.models.speech_llm.prompt import answer_ids
from tests.conftest import make_mooer_release

FOLDER = {"asr": "asr", "ast": "ast", "asr_ast": "asr_ast_mtl"}


@pytest.fixture(scope="module")
def release(tiny_speech_llm, tmp_path_factory):
    """(release root, llm folder, manifest): asr/, ast/ and asr_ast_mtl/ with different adapters."""
    m = tiny_speech_llm["model"]
    tmp = tmp_path_factory.mktemp("mooer")
    root = tmp / "MooER-MTL-5K"
    gen = torch.Generator().manual_seed(3)
    for i, sub in enumerate(FOLDER.values()):
        make_mooer_release(m, root, sub)
        path = root / sub / "adapter_project.pt"
        ad = torch.load(path, weights_only=True)
        for k in ad:  # each task folder its own adapter
            ad[k] = ad[k] + (0.5 + i) * torch.randn(ad[k].shape, generator=gen)
        torch.save(ad, path)
    lines = []
    for i, wave in enumerate(tiny_speech_llm["waves"]):
        sf.write(tmp / f"u{i}.wav", wave, 16000)
        lines.append({"id": f"u{i}", "audio": f"u{i}.wav", "text": "the earth", "translation": "the earth"})
    manifest = tmp / "m.jsonl"
    manifest.write_text("".join(json.dumps(x) + "\n" for x in lines))
    return root, tiny_speech_llm["llm_dir"], manifest


def _decode(model, llm, manifest, out, *flags):
    rc = main(["decode", "-q", "-m", str(model), "--llm", str(llm), "-i", str(manifest), "-o", str(out),
               "--max-new-tokens", "6", *flags])
    assert rc == 0
    return [json.loads(x) for x in out.read_text().splitlines()]


def test_release_root_serves_every_task(release, tmp_path):
    root, llm, manifest = release
    got = {}
    for task, sub in FOLDER.items():
        rec = Recognizer(root, llm=llm, task=task)
        want = torch.load(root / sub / "adapter_project.pt", weights_only=True)
        for k, v in rec.model.encoder_projector.state_dict().items():
            torch.testing.assert_close(v, want[f"encoder_projector.{k}"].float())  # the task's own folder
        from_root = _decode(root, llm, manifest, tmp_path / f"{task}.jsonl", "--task", task)
        from_sub = _decode(root / sub, llm, manifest, tmp_path / f"{task}_sub.jsonl", "--task", task)
        assert from_root == from_sub
        got[task] = from_root
    assert got["asr"] != got["ast"] and got["ast"] != got["asr_ast"]
    assert all(set(r) == {"id", "text", "translation", "segments"} for r in got["asr_ast"])
    assert all(set(r) == {"id", "text", "segments"} for r in got["asr"] + got["ast"])


def test_tune_on_release_root_with_task(release, tmp_path):
    root, llm, manifest = release
    rc = main(["tune", "-m", str(root), "--llm", str(llm), "--task", "ast", "--dev", str(manifest), "--metric",
               "bleu", "--method", "greedy", "--max-new-tokens", "4", "--grid", "eos_bias=-0.2,0",
               "-o", str(tmp_path / "tune")])
    assert rc == 0
    best = json.loads((tmp_path / "tune" / "best.json").read_text())
    assert best["task"] == "ast" and best["llm"] == str(llm)  # decode --config best.json needs no --llm


def test_task_subfolder_refuses_other_task_in_one_line(release, tmp_path, capsys):
    root, llm, manifest = release
    rc = main(["decode", "-q", "-m", str(root / "ast"), "--llm", str(llm), "-i", str(manifest),
               "-o", str(tmp_path / "h.jsonl")])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and "\n" not in err
    assert "cannot do task 'asr'" in err and "--task ast" in err


def test_beam_defaults_to_the_models_beams(release, tmp_path):
    root, llm, manifest = release
    assert Recognizer(root, llm=llm, task="ast", method="beam").decoding.beam == 4  # MooER's num_beams
    assert Recognizer(root, llm=llm, task="ast", method="beam", beam=2).decoding.beam == 2
    assert Recognizer(root, llm=llm, task="ast").decoding.beam == 1  # greedy
    assert DecodeConfig().beam is None and DecodeConfig().beam_or(CTC_BEAM) == CTC_BEAM == 8
    default = _decode(root, llm, manifest, tmp_path / "a.jsonl", "--task", "ast", "--method", "beam")
    four = _decode(root, llm, manifest, tmp_path / "b.jsonl", "--task", "ast", "--method", "beam", "--beam", "4")
    assert default == four


def test_answer_stops_only_at_im_end():
    eos, pad = 9, 8
    assert answer_ids([5, 6, eos, pad, pad], eos, pad) == [5, 6]  # generate pads a finished row
    assert answer_ids([5, pad, 6, eos, 7], eos, pad) == [5, 6]  # <|endoftext|> does not end the answer
    assert answer_ids([5, 6, 7], eos, pad) == [5, 6, 7]  # max_new_tokens reached
    assert answer_ids([eos, 5], eos, pad) == []


def test_multitask_output_split(release, tmp_path):
    """asr_ast answers "transcript\\ntranslation": decode writes them as text and translation."""
    assert output_record("u", "he went home.\nse fue a casa.", "asr_ast") == {
        "id": "u", "text": "he went home.", "translation": "se fue a casa."}
    assert output_record("u", "  he went home. \n\n se fue a casa.\n", "asr_ast")["translation"] == "se fue a casa."
    assert output_record("u", "one line only", "asr_ast") == {"id": "u", "text": "one line only", "translation": ""}
    assert output_record("u", "a\nb", "asr") == {"id": "u", "text": "a\nb"}
    assert split_multitask("a\nb\nc") == ("a b c", None)  # not two lines: all transcript (MooER's reading)
    root, llm, manifest = release
    raw = Recognizer(root, llm=llm, task="asr_ast", max_new_tokens=6).transcribe(
        [manifest.parent / "u0.wav", manifest.parent / "u1.wav"])
    rows = _decode(root, llm, manifest, tmp_path / "mt.jsonl", "--task", "asr_ast")
    assert [(r["text"], r["translation"] or None) for r in rows] == [split_multitask(t) for t in raw]
