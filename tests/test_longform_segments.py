"""Long-form segmentation: streamed audio, the VADs and the segmenter on audio with known silences."""

import numpy as np
import pytest
import soundfile as sf

from asrkit.errors import UserError
from asrkit.frontend import load_audio
from asrkit.longform.segmenter import SegmenterConfig, speech_segments
from asrkit.longform.source import FileSource
from asrkit.longform.vad import FRAME_S, EnergyVAD, SileroVAD

SAMPLES = ["en-Mark.12.20", "en-Mark.14.56", "en-Mark.15.28", "en-Mark.2.6"]
GAPS = [1.2, 0.8, 1.5, 1.0, 0.9]  # seconds of silence before, between and after the utterances


@pytest.fixture(scope="module")
def known(root, tmp_path_factory):
    """A recording of real speech with known silences: (path, [(start, end) of each utterance], duration)."""
    rng = np.random.default_rng(0)
    parts, spans, t = [], [], 0.0
    for i, name in enumerate(SAMPLES):
        gap = np.zeros(int(GAPS[i] * 16000), np.float32) + rng.normal(0, 1e-4, int(GAPS[i] * 16000)).astype(np.float32)
        wave = load_audio(root / "asrkit" / "samples" / f"{name}.flac")
        parts += [gap, wave]
        t += GAPS[i]
        spans.append((t, t + len(wave) / 16000))
        t += len(wave) / 16000
    parts.append(np.zeros(int(GAPS[-1] * 16000), np.float32))
    audio = np.concatenate(parts)
    path = tmp_path_factory.mktemp("long") / "known.wav"
    sf.write(path, audio, 16000)
    return path, spans, len(audio) / 16000


@pytest.mark.parametrize("vad", [SileroVAD, EnergyVAD])
def test_segments_follow_known_silences(known, vad):
    path, spans, duration = known
    source = FileSource(path)
    probs = vad().probabilities(source)
    assert len(probs) == int(np.ceil(source.num_samples / 512))
    cfg = SegmenterConfig(max_segment_s=30.0)
    segs = speech_segments(probs, FRAME_S, duration, cfg)
    assert segs and all(0 <= s < e <= duration for s, e in segs)
    assert all(a[1] <= b[0] for a, b in zip(segs, segs[1:]))  # increasing, no overlap
    slack = cfg.pad_s + 0.15
    for s, e in segs:  # every segment lies inside one utterance (plus padding): none spans a silence
        assert any(a - slack <= s and e <= b + slack for a, b in spans), (s, e, spans)
    for a, b in spans:  # every utterance is covered from near its start to near its end
        mine = [(s, e) for s, e in segs if a - slack <= s and e <= b + slack]
        assert mine and mine[0][0] <= a + 0.35 and mine[-1][1] >= b - 0.5, (a, b, mine)


def test_silero_probabilities_equal_streaming_blocks(known):
    """Block-wise scoring (16 s per call, state carried) gives the same probabilities as one long call."""
    path, _, _ = known
    vad = SileroVAD()
    whole = vad.probabilities(FileSource(path))

    class Small(FileSource):
        def blocks(self, n):  # blocks of 3 frames: state and context cross many block edges
            return super().blocks(512 * 3)

    assert np.allclose(vad.probabilities(Small(path)), whole, atol=1e-5)


def test_segmenter_rules():
    f = 0.032
    probs = np.zeros(1000, np.float32)
    probs[100:200] = 0.9  # 3.2 s of speech
    probs[205:215] = 0.9  # after a 5-frame (0.16 s) dip: same segment
    probs[400:403] = 0.9  # 0.1 s blip: dropped
    probs[500:1000] = 0.9  # 16 s of speech: cut to <= 6 s pieces
    probs[650] = 0.6  # least speech-like frame in reach of the first cut (frames 593-686)
    cfg = SegmenterConfig(min_silence_s=0.3, min_speech_s=0.25, pad_s=0.2, max_segment_s=6.0)
    segs = speech_segments(probs, f, 1000 * f, cfg)
    assert segs[0] == (round(100 * f - 0.2, 3), round(215 * f + 0.2, 3))
    assert all(e - s <= 6.0 + 1e-6 for s, e in segs)
    assert not any(s < 403 * f < e for s, e in segs)
    long_part = [(s, e) for s, e in segs if s >= 490 * f]
    assert len(long_part) == 3 and long_part[0][1] == round(650 * f, 3)
    assert long_part[-1][1] == round(1000 * f, 3)
    assert all(a[1] <= b[0] for a, b in zip(segs, segs[1:]))


def test_file_source_reads_parts_exactly(tmp_path):
    """Parts of a 44.1 kHz stereo file, resampled one by one, equal the whole file resampled."""
    rng = np.random.default_rng(1)
    x = (rng.standard_normal((44100 * 5, 2)) * 0.1).astype(np.float32)
    sf.write(tmp_path / "a.wav", x, 44100)
    whole = load_audio(tmp_path / "a.wav")
    src = FileSource(tmp_path / "a.wav")
    assert src.num_samples == len(whole)
    assert np.allclose(np.concatenate(list(src.blocks(7777))), whole, atol=1e-6)
    assert np.allclose(src.read(12345, 40000), whole[12345:40000], atol=1e-6)
    part = FileSource(tmp_path / "a.wav", offset_s=1.0, duration_s=2.0, channel=1)
    assert part.num_samples == 32000


def test_file_source_errors_are_one_line(tmp_path):
    (tmp_path / "empty.wav").write_bytes(b"")
    (tmp_path / "junk.wav").write_bytes(b"not audio at all" * 10)
    for name, msg in [("missing.wav", "no such file"), ("empty.wav", "empty file"), ("junk.wav", "not readable")]:
        with pytest.raises(UserError, match=msg):
            FileSource(tmp_path / name)


def test_truncated_wav_is_refused(tmp_path):
    sf.write(tmp_path / "a.wav", np.zeros(16000, np.float32), 16000, subtype="PCM_16")
    data = (tmp_path / "a.wav").read_bytes()
    (tmp_path / "cut.wav").write_bytes(data[: len(data) // 2])
    with pytest.raises(UserError, match="truncated"):
        FileSource(tmp_path / "cut.wav")
