"""`asrkit decode` on long inputs: VAD segmentation by default, segments/words in the output, subtitles, the
speech LLM's segment cap. The 'long' file is ~45 s of the bundled samples (above the 30 s default cap)."""

import json

import numpy as np
import pytest
import soundfile as sf

from asrkit.cli.main import main
from asrkit.frontend import load_audio
from asrkit.inference import Recognizer
from asrkit.longform.records import transcript_record
from asrkit.longform.transcriber import Segment, Transcript
from asrkit.metrics import wer
from tests.conftest import parse_vtt


@pytest.fixture(scope="module")
def long_wav(root, tmp_path_factory):
    samples = root / "asrkit" / "samples"
    rows = [json.loads(line) for line in (samples / "samples.jsonl").read_text().splitlines()]
    waves = [load_audio(samples / r["audio"]) for r in rows]
    gap = np.zeros(int(0.8 * 16000), np.float32)
    audio = np.concatenate([x for w in waves for x in (gap, w)] + [gap])
    folder = tmp_path_factory.mktemp("long")
    sf.write(folder / "long.wav", audio, 16000)
    # The same recording at 44.1 kHz stereo: resampled part by part while streaming.
    from scipy.signal import resample_poly

    stereo = resample_poly(audio, 441, 160).astype(np.float32)
    sf.write(folder / "long44.wav", np.stack([stereo, stereo], 1), 44100)
    # A shorter one (~24 s: still above the speech LLM's 20 s) keeps the speech-LLM test fast.
    sf.write(folder / "long24.wav", np.concatenate([x for w in waves[:4] for x in (gap, w)] + [gap]), 16000)
    per_utt = Recognizer().decode_waves(waves)
    return folder, len(audio) / 16000, per_utt


def _check_segments(line, duration, cap):
    segs = line["segments"]
    assert segs and all(0 <= s["start"] < s["end"] <= duration + 1e-3 for s in segs)
    assert all(a["end"] <= b["start"] for a, b in zip(segs, segs[1:]))
    assert all(s["end"] - s["start"] <= cap + 1e-3 for s in segs)
    assert line["text"] == " ".join(s["text"] for s in segs)


def test_long_file_with_no_flags(long_wav, tmp_path):
    folder, duration, per_utt = long_wav
    out = tmp_path / "out.jsonl"
    assert duration > 30
    assert main(["decode", "-i", str(folder / "long.wav"), "-o", str(out)]) == 0
    (line,) = [json.loads(x) for x in out.read_text().splitlines()]
    assert line["id"] == "long" and set(line) == {"id", "text", "segments"}
    _check_segments(line, duration, 30.0)
    assert len(line["segments"]) >= 6
    # Decoding in VAD segments loses (almost) nothing against decoding each utterance whole.
    assert wer([" ".join(per_utt)], [line["text"]]).value < 10


def test_timestamps_vtt_and_resampled_input(long_wav, tmp_path):
    folder, duration, _ = long_wav
    out = tmp_path / "out.jsonl"
    assert main(["decode", "-i", str(folder / "long44.wav"), "-o", str(out), "--timestamps", "--format", "vtt",
                 "--max-duration", "8", "-q"]) == 0
    (line,) = [json.loads(x) for x in out.read_text().splitlines()]
    _check_segments(line, duration, 8.0)
    words = line["words"]
    assert [w["word"] for w in words] == line["text"].split()
    assert all(0 <= w["start"] < w["end"] <= duration for w in words)
    assert all(a["start"] <= b["start"] for a, b in zip(words, words[1:]))
    for w in words:  # each word inside a segment
        assert any(s["start"] <= w["start"] and w["end"] <= s["end"] + 1e-3 for s in line["segments"])
    cues = parse_vtt((tmp_path / "long44.vtt").read_text())
    assert " ".join(c[2] for c in cues).split() == line["text"].split()


def test_energy_vad_and_silence(long_wav, tmp_path):
    folder, duration, per_utt = long_wav
    sf.write(tmp_path / "silence.wav", np.zeros(40 * 16000, np.float32), 16000)
    out = tmp_path / "out.jsonl"
    assert main(["decode", "-i", str(folder / "long.wav"), str(tmp_path / "silence.wav"), "-o", str(out),
                 "--vad", "energy", "-q"]) == 0
    long_line, silent = [json.loads(x) for x in out.read_text().splitlines()]
    _check_segments(long_line, duration, 30.0)
    assert wer([" ".join(per_utt)], [long_line["text"]]).value < 20  # the fallback cuts more often than Silero
    assert silent == {"id": "silence", "text": "", "segments": []}


def test_speech_llm_segments_never_exceed_training_length(long_wav, tmp_path, capsys):
    folder, duration, _ = long_wav
    out = tmp_path / "out.jsonl"
    path = folder / "long24.wav"
    duration = sf.info(path).duration
    assert duration > 20
    assert main(["decode", "-m", "bible-en-speechllm-tiny", "--method", "greedy", "-i", str(path),
                 "-o", str(out), "--max-duration", "60", "--timestamps", "--max-new-tokens", "30", "-q"]) == 0
    assert "segments are cut at 20 s" in capsys.readouterr().err
    (line,) = [json.loads(x) for x in out.read_text().splitlines()]
    _check_segments(line, duration, 20.0)
    assert len(line["segments"]) >= 2
    assert "words" not in line  # segment-level timestamps only
    assert len(line["text"].split()) > 10


def test_multitask_record_splits_each_segment():
    tr = Transcript("x", 10.0, [Segment(0.0, 4.0, "he went home.\nse fue a casa."), Segment(5.0, 9.0, "only one line"),
                                Segment(9.0, 10.0, "")])
    rec = transcript_record("x", tr, "asr_ast")
    assert rec["text"] == "he went home. only one line" and rec["translation"] == "se fue a casa."
    assert [s["translation"] for s in rec["segments"]] == ["se fue a casa.", ""]


def test_tlg_method_with_timestamps(long_wav, root, tmp_path):
    """A method with its own search (TLG Viterbi over a word graph) on VAD segments, words aligned afterwards."""
    from asrkit.models.registry import resolve_model_dir
    from asrkit.text import normalize_text
    from tests.conftest import build_word_lm_and_tlg

    folder, duration, _ = long_wav
    rows = [json.loads(line) for line in (root / "asrkit" / "samples" / "samples.jsonl").read_text().splitlines()]
    texts = [normalize_text(r["text"]) for r in rows if r["id"].startswith("en-")]
    _, graphs, _ = build_word_lm_and_tlg(tmp_path, resolve_model_dir(None) / "tokenizer.model", texts * 3)
    out = tmp_path / "out.jsonl"
    assert main(["decode", "-i", str(folder / "long.wav"), "-o", str(out), "--method", "tlg", "--graph",
                 str(graphs["standard"]), "--timestamps", "-q"]) == 0
    (line,) = [json.loads(x) for x in out.read_text().splitlines()]
    _check_segments(line, duration, 30.0)
    assert [w["word"] for w in line["words"]] == line["text"].split()
    assert wer([" ".join(texts)], [line["text"]]).value < 10  # the graph knows these sentences
