import numpy as np
import pytest
import soundfile as sf
import torch

from asrkit.errors import UserError
from asrkit.frontend import FbankConfig, GlobalCMVN, apply_lfr, fbank, lfr_length, load_audio

knf = pytest.importorskip("kaldi_native_fbank")


def _knf_fbank(wave: np.ndarray, window: str, snip_edges: bool = True) -> np.ndarray:
    opts = knf.FbankOptions()
    opts.frame_opts.dither = 0.0
    opts.frame_opts.window_type = window
    opts.frame_opts.snip_edges = snip_edges
    opts.mel_opts.num_bins = 80
    opts.energy_floor = 0.0
    f = knf.OnlineFbank(opts)
    f.accept_waveform(16000, (wave * 32768).tolist())
    f.input_finished()
    return np.stack([f.get_frame(i) for i in range(f.num_frames_ready)])


@pytest.mark.parametrize("window", ["hamming", "povey", "hanning"])
def test_fbank_matches_kaldi_native_fbank(window):
    rng = np.random.default_rng(0)
    t = np.arange(16000 * 2) / 16000
    wave = (0.3 * np.sin(2 * np.pi * 440 * t) + 0.05 * rng.standard_normal(t.size)).astype(np.float32)
    ref = _knf_fbank(wave, window)
    ours = fbank(wave, FbankConfig(window_type=window)).numpy()
    assert ours.shape == ref.shape == (1 + (wave.size - 400) // 160, 80)
    np.testing.assert_allclose(ours, ref, atol=2e-3, rtol=0)


def test_fbank_too_short_gives_no_frames():
    assert fbank(np.zeros(399, dtype=np.float32)).shape == (0, 80)


def test_lfr_matches_definition():
    t, d = 20, 3
    feats = torch.arange(t * d, dtype=torch.float32).reshape(t, d)
    out = apply_lfr(feats, 7, 6)
    assert out.shape == (lfr_length(t), 21) == (4, 21)
    padded = torch.cat([feats[:1].repeat(3, 1), feats, feats[-1:].repeat(10, 1)])
    for i in range(out.size(0)):
        torch.testing.assert_close(out[i], padded[6 * i : 6 * i + 7].reshape(-1))


AM_MVN = """<Nnet>
<Splice> 4 4
[ 0 ]
<AddShift> 4 4
<LearnRateCoef> 0 [ -8.311879 -8.600912 -1.5 2 ]
<Rescale> 4 4
<LearnRateCoef> 0 [ 0.155775 0.154484 1 0.5 ]
</Nnet>
"""


def test_cmvn_parses_kaldi_nnet_file(tmp_path):
    path = tmp_path / "am.mvn"
    path.write_text(AM_MVN)
    cmvn = GlobalCMVN.from_file(path)
    torch.testing.assert_close(cmvn.shift, torch.tensor([-8.311879, -8.600912, -1.5, 2.0]))
    torch.testing.assert_close(cmvn.scale, torch.tensor([0.155775, 0.154484, 1.0, 0.5]))
    x = torch.ones(2, 4)
    torch.testing.assert_close(cmvn(x), (x + cmvn.shift) * cmvn.scale)
    cmvn.save(tmp_path / "again.mvn")
    again = GlobalCMVN.from_file(tmp_path / "again.mvn")
    torch.testing.assert_close(again.shift, cmvn.shift)
    torch.testing.assert_close(again.scale, cmvn.scale)


def test_cmvn_rejects_bad_files(tmp_path):
    bad = tmp_path / "am.mvn"
    bad.write_text("<Nnet>\n<AddShift> 4 4\n[ 1 2 ]\n</Nnet>\n")
    with pytest.raises(UserError, match="LearnRateCoef"):
        GlobalCMVN.from_file(bad)
    with pytest.raises(UserError, match="no such"):
        GlobalCMVN.from_file(tmp_path / "missing.mvn")


def test_load_audio_downmixes_and_resamples(tmp_path):
    t = np.arange(44100) / 44100
    left = 0.5 * np.sin(2 * np.pi * 300 * t)
    stereo = np.stack([left, left], axis=1).astype(np.float32)
    sf.write(tmp_path / "a.flac", stereo, 44100)
    wave = load_audio(tmp_path / "a.flac")
    assert wave.dtype == np.float32 and wave.ndim == 1
    assert abs(wave.size - 16000) <= 1
    assert abs(np.abs(wave).max() - 0.5) < 0.02


@pytest.mark.parametrize(
    "content,match",
    [(b"", "empty file"), (b"this is not audio at all" * 10, "not readable as audio"),
     (b"RIFF\x24\x08\x00\x00WAVEfmt ", "not readable as audio")],
)
def test_load_audio_bad_files(tmp_path, content, match):
    path = tmp_path / "bad.wav"
    path.write_bytes(content)
    with pytest.raises(UserError, match=match) as err:
        load_audio(path)
    assert str(path) in str(err.value)
