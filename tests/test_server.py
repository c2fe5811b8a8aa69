"""`asrkit serve` (asrkit/server/app.py): the WebSocket protocol with real clients (the websockets library).

A server runs in a thread on a free port with the demo model streamed chunk-wise (greedy, so the tests are
fast). Checked: the page and 404; bad messages get error messages and the connection stays usable;
several clients at once each get their own final text, equal to a stream run directly; a client that
disconnects mid-utterance frees its state and the server keeps serving.
"""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request

import numpy as np
import pytest
import torch
from websockets.asyncio.client import connect

from asrkit.frontend import load_audio
from asrkit.inference.streaming import StreamingRecognizer
from asrkit.server.app import ServerThread

torch.set_num_threads(1)
SAMPLES = ["asrkit/samples/en-Mark.2.6.flac", "asrkit/samples/en-Mark.4.25.flac", "asrkit/samples/en-Mark.15.41.flac"]


@pytest.fixture(scope="module")
def server():
    with ServerThread(StreamingRecognizer(None, method="greedy")) as thread:
        yield thread.server


def pcm(path):
    return (np.clip(load_audio(path), -1, 1) * 32767).astype("<i2")


async def utterance(port, audio, piece=3200, before=()):
    """Send ``before`` messages, the audio in pieces and end; return (errors, partials, final)."""
    errors, partials = [], []
    async with connect(f"ws://127.0.0.1:{port}/asr") as ws:
        for m in before:
            await ws.send(m)
            errors.append(json.loads(await ws.recv()))
        for i in range(0, len(audio), piece):
            await ws.send(audio[i:i + piece].tobytes())
            await asyncio.sleep(0)
        await ws.send(json.dumps({"type": "end"}))
        while True:
            msg = json.loads(await asyncio.wait_for(ws.recv(), 60))
            if msg["type"] == "final":
                return errors, partials, msg
            assert msg["type"] == "partial", msg
            partials.append(msg["text"])


def direct(srv, audio):
    s = srv.rec.stream()
    s.accept_waveform(audio.astype(np.float32) / 32768.0)
    return s.finish()


def test_page_and_404(server):
    page = urllib.request.urlopen(f"http://127.0.0.1:{server.port}/", timeout=10)
    assert page.headers["Content-Type"].startswith("text/html") and b"/asr" in page.read()
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(f"http://127.0.0.1:{server.port}/nope", timeout=10)
    assert err.value.code == 404


def test_bad_messages_get_errors_and_the_connection_goes_on(server):
    audio = pcm(SAMPLES[0])
    bad = ["not json", json.dumps({"type": "start"}), json.dumps([1, 2]), b"", b"\x01\x02\x03"]
    errors, partials, final = asyncio.run(utterance(server.port, audio, before=bad))
    assert [e["type"] for e in errors] == ["error"] * len(bad)
    assert "even number of bytes" in errors[-1]["message"] and "JSON" in errors[0]["message"]
    assert final["text"] == direct(server, audio) and final["text"]
    assert partials  # the final adds what the last (short) chunk holds


def test_concurrent_clients_each_get_their_own_text(server):
    audios = [pcm(p) for p in SAMPLES]

    async def all_at_once():
        return await asyncio.gather(*(utterance(server.port, a, piece=1600 + 800 * i) for i, a in enumerate(audios)))

    results = asyncio.run(all_at_once())
    texts = [final["text"] for _, _, final in results]
    assert texts == [direct(server, a) for a in audios]
    assert len(set(texts)) == 3


def test_disconnect_mid_utterance_frees_the_stream(server):
    audio = pcm(SAMPLES[1])

    async def hang_up():
        async with connect(f"ws://127.0.0.1:{server.port}/asr") as ws:
            await ws.send(audio[:16000].tobytes())
            await asyncio.sleep(0.2)
            assert server.active >= 1
        for _ in range(100):  # the server notices the close
            if server.active == 0:
                return True
            await asyncio.sleep(0.05)
        return False

    assert asyncio.run(hang_up())
    _, _, final = asyncio.run(utterance(server.port, audio))  # still serving
    assert final["text"] == direct(server, audio)


def test_end_without_audio_and_two_utterances_on_one_connection(server):
    audio = pcm(SAMPLES[2])

    async def two():
        async with connect(f"ws://127.0.0.1:{server.port}/asr") as ws:
            await ws.send(json.dumps({"type": "end"}))
            empty = json.loads(await ws.recv())
            await ws.send(audio.tobytes())
            await ws.send(json.dumps({"type": "end"}))
            while True:
                msg = json.loads(await ws.recv())
                if msg["type"] == "final":
                    return empty, msg

    empty, final = asyncio.run(two())
    assert empty == {**empty, "type": "final", "text": ""}
    assert final["text"] == direct(server, audio)
