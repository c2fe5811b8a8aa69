"""Streaming recognition (asrkit/inference/streaming.py): each stage streamed equals it offline.

- the streaming front end equals the offline fbank/LFR/CMVN in any piece sizes;
- the cached chunk-by-chunk SANM encoder equals the chunk-masked offline encoder;
- a stream whose chunk covers the whole utterance gives the offline Recognizer's text (full attention);
- a chunked stream gives what the one-shot search gives on the chunk-masked offline emissions.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from asrkit.encoder.config import SANMConfig
from asrkit.encoder.sanm import SANMEncoder
from asrkit.encoder.sanm_streaming import StreamingSANMEncoder, WindowedSANMEncoder
from asrkit.errors import UserError
from asrkit.frontend import load_audio
from asrkit.frontend.streaming import StreamingFrontend
from asrkit.inference import Recognizer
from asrkit.inference.streaming import StreamingRecognizer
from asrkit.models.registry import PRETRAINED_DIR, bundled_models
from decoders.ctc_prefix_beam import ctc_prefix_beam_search_reference

torch.set_num_threads(1)
SAMPLE = "asrkit/samples/en-Mark.2.6.flac"


@pytest.fixture(scope="module")
def wave():
    return load_audio(SAMPLE)


def feed(stream, wave, piece):
    for i in range(0, len(wave), piece):
        stream.accept_waveform(wave[i:i + piece])
    return stream.finish()


def test_frontend_streams_exactly(wave):
    rec = StreamingRecognizer(None)
    for piece in (160, 1234, 16000):
        fe = StreamingFrontend(rec.model.frontend)
        got = torch.cat([fe.accept(wave[i:i + piece]) for i in range(0, len(wave), piece)] + [fe.finish()])
        want = rec.model.frontend(wave)
        assert got.shape == want.shape
        assert torch.allclose(got, want, atol=1e-5)


@pytest.mark.parametrize("left_chunks", [None, 0, 2, 5])
def test_cached_encoder_equals_chunk_masked_encoder(left_chunks):
    torch.manual_seed(0)
    cfg = SANMConfig(input_size=20, output_size=16, attention_heads=2, linear_units=32, num_blocks=3, dropout_rate=0,
                     positional_dropout_rate=0, attention_dropout_rate=0, chunk_size=4, left_chunks=left_chunks)
    enc = SANMEncoder(cfg).eval()
    x = torch.randn(1, 37, 20) * 3  # (left_chunks 5: the cache fills only after 5 chunks)
    want, _ = enc(x, torch.tensor([37]))
    s = StreamingSANMEncoder(enc)
    got = torch.cat([s.encode(x[0, i:i + 4]) for i in range(0, 37, 4)])
    assert torch.allclose(got, want[0], atol=1e-5)
    with pytest.raises(RuntimeError):  # the short last chunk closed the stream
        s.encode(x[0, :4])


def test_chunk_mask_over_the_whole_input_is_full_attention():
    torch.manual_seed(1)
    cfg = SANMConfig(input_size=20, output_size=16, attention_heads=2, linear_units=32, num_blocks=2, dropout_rate=0,
                     positional_dropout_rate=0, attention_dropout_rate=0)
    enc = SANMEncoder(cfg).eval()
    x, lens = torch.randn(2, 19, 20), torch.tensor([19, 12])
    full, _ = enc(x, lens)
    enc.config.chunk_size = 64
    chunked, _ = enc(x, lens)
    assert torch.allclose(full[0], chunked[0], atol=1e-5) and torch.allclose(full[1, :12], chunked[1, :12], atol=1e-5)


@pytest.mark.parametrize("mode", ["chunked", "window"])
def test_stream_with_one_chunk_equals_offline(wave, mode):
    offline = Recognizer(None, method="beam").decode_waves([wave])[0]
    rec = StreamingRecognizer(None, method="beam", chunk_size=10_000, mode=mode)
    assert feed(rec.stream(), wave, 4000) == offline


def test_windowed_encoder_any_push_sizes_and_whole_window_is_offline():
    torch.manual_seed(2)
    cfg = SANMConfig(input_size=20, output_size=16, attention_heads=2, linear_units=32, num_blocks=3, dropout_rate=0,
                     positional_dropout_rate=0, attention_dropout_rate=0)
    enc = SANMEncoder(cfg).eval()
    x = torch.randn(41, 20)
    want, _ = enc(x[None], torch.tensor([41]))
    whole = WindowedSANMEncoder(enc, 5, 100, 100)
    assert torch.allclose(torch.cat([whole.push(x), whole.finish()]), want[0], atol=1e-5)
    outs = []
    for pushes in ([41], [1] * 41, [7, 0, 13, 21]):
        w, t, got = WindowedSANMEncoder(enc, 4, 6, 2), 0, []
        for n in pushes:
            got.append(w.push(x[t:t + n]))
            t += n
        outs.append(torch.cat([*got, w.finish()]))
        assert outs[-1].shape == (41, 16)
    assert all(torch.equal(o, outs[0]) for o in outs)
    # A frame's output depends on at most `left` past and `right` future frames: the first 4 outputs see
    # frames 0..5 only, so changing frame 6 leaves them alone.
    y = x.clone()
    y[6] += 1
    w = WindowedSANMEncoder(enc, 4, 6, 2)
    changed = torch.cat([w.push(y), w.finish()])
    assert torch.equal(changed[:4], outs[0][:4]) and not torch.equal(changed[4:8], outs[0][4:8])


@pytest.mark.parametrize("method", [{"method": "greedy"}, {"method": "beam", "word_bonus": 0.5}])
def test_chunked_stream_equals_one_shot_search_on_chunked_emissions(wave, method):
    rec = StreamingRecognizer(None, chunk_size=5, left_chunks=3, mode="chunked", **method)
    s = rec.stream()
    got = feed(s, wave, 1000)
    lp = rec.offline_emissions(wave)
    if method["method"] == "greedy":
        ids = lp.argmax(-1).tolist()
        want = rec.head.text([u for i, u in enumerate(ids) if u and (i == 0 or u != ids[i - 1])])
    else:
        want = rec.head.text(ctc_prefix_beam_search_reference(lp[None], None, 8, rec.decoder.scorers)[0][0].units)
    assert got == want and got
    assert s.timing.chunks == -(-lp.size(0) // 5)
    assert s.partial() == got  # after finish the partial is the final
    assert len(s.timing.partial_times) >= 2


def test_window_stream_equals_its_windows_offline(wave):
    rec = StreamingRecognizer(None, method="beam", word_bonus=0.5)
    assert rec.mode == "window" and rec.algorithmic_latency_s() == pytest.approx(0.48 + 0.24 + 0.045)
    got = feed(rec.stream(), wave, 1000)
    lp = rec.offline_emissions(wave)
    want = rec.head.text(ctc_prefix_beam_search_reference(lp[None], None, 8, rec.decoder.scorers)[0][0].units)
    assert got == want and got


def test_bad_settings_are_one_line():
    with pytest.raises(UserError, match="tlg"):
        StreamingRecognizer(None, method="tlg", graph="x")
    with pytest.raises(UserError, match="chunk"):
        StreamingRecognizer(None, chunk_size=0)
    with pytest.raises(UserError, match="mode"):
        StreamingRecognizer(None, mode="lookahead")


def test_bundled_stream_model(wave):
    name = "bible-en-ctc-stream"
    folder = bundled_models()[name]
    assert sum(p.stat().st_size for p in folder.iterdir()) < 25e6
    assert "Algorithmic latency: 525 ms" in (folder / "README.md").read_text()
    rec = StreamingRecognizer(name)
    assert rec.trained_chunk_size == rec.chunk_size
    got = feed(rec.stream(), wave, 3200)
    lp = rec.offline_emissions(wave)
    ids = lp.argmax(-1).tolist()
    assert got == rec.head.text([u for i, u in enumerate(ids) if u and (i == 0 or u != ids[i - 1])])
    assert np.isfinite(rec.algorithmic_latency_s())


def test_decode_streaming_cli(tmp_path, wave):
    import json

    from asrkit.cli.main import main

    out = tmp_path / "hyp.jsonl"
    assert main(["decode", "--streaming", "--chunk-ms", "200", "--method", "greedy", "-i", SAMPLE, "-o", str(out)]) == 0
    row = json.loads(out.read_text())
    rec = StreamingRecognizer(None, method="greedy")
    s = rec.stream()
    s.accept_waveform(wave)
    assert row["text"] == s.finish()  # any piece size gives the same text
    assert row["latency"]["algorithmic_ms"] == 765 and row["latency"]["finish_ms"] > 0 and row["partials"] >= 2
    assert main(["decode", "--streaming", "--method", "tlg", "--graph", str(tmp_path), "-i", SAMPLE,
                 "-o", str(tmp_path / "x.jsonl")]) == 2


def test_bundled_stream_model_streams_the_samples_as_it_decodes_them_offline(tmp_path):
    """The bundled samples through `asrkit decode --streaming` equal the offline decode, and the WER is that
    of a working model (a broken chunk mask or front end gives ~100 %)."""
    from asrkit.cli.main import main
    from asrkit.metrics import wer

    samples = PRETRAINED_DIR.parent / "samples" / "samples.jsonl"
    outs = {}
    for flag in ([], ["--streaming"]):
        out = tmp_path / f"hyp{len(flag)}.jsonl"
        assert main(["decode", "-m", "bible-en-ctc-stream", "-i", str(samples), "-o", str(out), "-q", *flag]) == 0
        outs[bool(flag)] = {u["id"]: u["text"] for u in map(json.loads, out.read_text().splitlines())}
    assert outs[True] == outs[False]
    refs = {u["id"]: u["text"] for u in map(json.loads, samples.read_text().splitlines())}
    assert wer([refs[k] for k in refs], [outs[True][k] for k in refs]).value < 35


def test_stream_applies_the_hotword_check_to_the_whole_utterance(tmp_path, wave):
    """--hotword-check in a stream: the final text is the check over the whole utterance's emissions, as the
    offline check would write it (partials stay unchecked)."""
    from asrkit.inference.hotword_check import CtcHotwordCheck
    from asrkit.inference.hotwords import read_hotwords

    plain = StreamingRecognizer(None, chunk_size=5, left_chunks=3, mode="chunked", method="beam")
    text = feed(plain.stream(), wave, 1000)
    words = text.split()
    target = max(words, key=len)  # a long word the output has (e.g. a garbled one); made "unknown" below
    hot, known = tmp_path / "h.txt", tmp_path / "k.txt"
    hot.write_text(f"{target[:-1]}x\n")  # one letter off: near in letters, a little worse on the frames
    known.write_text("\n".join(w for w in words if w != target) + "\n")
    settings = dict(method="beam", hotwords=str(hot), hotword_weight=0.01, hotword_check=30.0,
                    known_words=str(known))
    rec = StreamingRecognizer(None, chunk_size=5, left_chunks=3, mode="chunked", **settings)
    got = feed(rec.stream(), wave, 1000)
    check = CtcHotwordCheck(read_hotwords(str(hot)), set(words) - {target}, rec.head.tokenizer, 30.0)
    want = check(text, rec.offline_emissions(wave))
    assert got == want and f"{target[:-1]}x" in got and target not in got.split()
