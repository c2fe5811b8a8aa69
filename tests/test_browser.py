"""The `asrkit serve` page in a real browser: headless Chromium whose fake microphone plays a sample file.

Chromium is driven by chromedriver over the W3C WebDriver protocol (plain HTTP, no client library). The page
is opened at ``/?mic=SECONDS``, which starts the microphone, streams it to ``/asr`` and shows the final
text in ``#final``. The audio goes through Chromium's capture and resampling, so the final text is compared
with the text of the same stream decoded directly by word error rate (at most 40 %: the
microphone starts at a random offset into the chunk grid, and the chunk-imposed demo model is fragile), not exactly.

Skipped with a message when ``chromium``/``chromedriver`` are absent (``bash install.sh --dev`` installs
Debian's ``chromium`` and ``chromium-driver``).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
import urllib.request

import numpy as np
import pytest
import soundfile as sf
import torch

from asrkit.frontend import load_audio
from asrkit.inference.streaming import StreamingRecognizer
from asrkit.metrics.wer import error_rate
from asrkit.server.app import ServerThread
from tests.conftest import free_port

torch.set_num_threads(1)
SAMPLE = "asrkit/samples/en-Mark.15.41.flac"
CHROME = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
DRIVER = shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(not (CHROME and DRIVER), reason="headless browser test: chromium and chromedriver "
                                "not installed (bash install.sh --dev installs Debian's chromium chromium-driver)")


def _call(base: str, method: str, path: str, body: dict | None = None) -> dict:
    req = urllib.request.Request(base + path, method=method, data=None if body is None else json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as r:
        return json.loads(r.read())


def test_page_shows_the_final_text_of_the_fake_microphone(tmp_path):
    wave = load_audio(SAMPLE)
    wav = tmp_path / "mic.wav"
    sf.write(wav, np.concatenate([wave, np.zeros(8000, np.float32)]), 16000, subtype="PCM_16")
    rec = StreamingRecognizer(None, method="greedy")
    s = rec.stream()
    s.accept_waveform(wave)
    expected = s.finish()
    port = free_port()
    driver = subprocess.Popen([DRIVER, f"--port={port}"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    session = None
    try:
        for _ in range(100):
            try:
                _call(base, "GET", "/status")
                break
            except OSError:
                time.sleep(0.1)
        args = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-extensions", "--no-first-run",
                "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
                f"--use-file-for-fake-audio-capture={wav}", "--autoplay-policy=no-user-gesture-required"]
        caps = {"capabilities": {"alwaysMatch": {"browserName": "chrome",
                                                 "goog:chromeOptions": {"binary": CHROME, "args": args}}}}
        session = _call(base, "POST", "/session", caps)["value"]["sessionId"]
        with ServerThread(rec) as srv:
            seconds = len(wave) / 16000 + 0.3
            _call(base, "POST", f"/session/{session}/url", {"url": f"http://127.0.0.1:{srv.port}/?mic={seconds:.2f}"})
            final, deadline = "", time.time() + seconds + 30
            while time.time() < deadline and not final:
                time.sleep(0.3)
                final = _call(base, "POST", f"/session/{session}/execute/sync",
                              {"script": "return document.getElementById('final').textContent", "args": []})["value"]
            status = _call(base, "POST", f"/session/{session}/execute/sync",
                           {"script": "return document.getElementById('status').textContent + ' | ' + "
                                      "document.getElementById('log').textContent", "args": []})["value"]
        assert final, f"no final text on the page (status: {status})"
        assert error_rate([expected], [final], "wer").value <= 40.0, (final, expected)  # percent
    finally:
        if session:
            try:
                _call(base, "DELETE", f"/session/{session}")
            except OSError:
                pass
        driver.terminate()
        driver.wait(10)
