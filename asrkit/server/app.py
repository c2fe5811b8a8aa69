"""The streaming recognition server behind ``asrkit serve`` (protocol: docs/streaming.md).

One WebSocket per utterance stream at ``ws://HOST:PORT/asr``: binary messages are 16 kHz mono little-endian
int16 PCM, the text message ``{"type": "end"}`` ends the utterance; the server answers
``{"type": "partial", "text": ...}`` whenever the best text changes and one ``{"type": "final", "text": ...}``
after ``end`` (then the connection can carry the next utterance). A bad message gets
``{"type": "error", "message": ...}`` and the connection stays usable; ``GET /`` serves the browser page.

Every connection owns a :class:`asrkit.inference.streaming.RecognitionStream` (front end, encoder caches,
search and LM states) that is dropped when the connection closes, whatever its state. The model and the
LMs are shared. Compute runs on a pool of ``workers`` threads (default 1: one CPU core), so the event loop
keeps reading sockets while a chunk is decoded; one connection's messages are processed in order.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from http import HTTPStatus
from pathlib import Path

import numpy as np
from websockets.asyncio.server import ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from asrkit.inference.streaming import StreamingRecognizer

log = logging.getLogger("asrkit.serve")
PAGE = Path(__file__).with_name("page.html")
MAX_MESSAGE = 1 << 20  # bytes per message (32 s of audio); a bigger one closes that connection (code 1009)


class ASRServer:
    """``await ASRServer(rec).run(host, port)``; ``active`` counts the open streams (tests check it frees them)."""

    def __init__(self, recognizer: StreamingRecognizer, workers: int = 1):
        self.rec = recognizer
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="asr")
        self.active = 0
        self.page = PAGE.read_bytes()

    # ---- HTTP -------------------------------------------------------------------------------
    def http(self, connection: ServerConnection, request: Request) -> Response | None:
        """``GET /``: the page; ``/asr``: go on with the WebSocket handshake; anything else: 404."""
        path = request.path.split("?", 1)[0]
        if path == "/asr":
            return None
        if path in ("/", "/index.html"):
            headers = Headers([("Content-Type", "text/html; charset=utf-8"), ("Content-Length", str(len(self.page))),
                               ("Cache-Control", "no-store")])
            return Response(HTTPStatus.OK.value, "OK", headers, self.page)
        return connection.respond(HTTPStatus.NOT_FOUND, "not found: the page is at / and the WebSocket at /asr\n")

    # ---- WebSocket --------------------------------------------------------------------------
    async def handle(self, ws: ServerConnection) -> None:
        loop = asyncio.get_running_loop()
        stream = self.rec.stream()
        self.active += 1
        try:
            async for message in ws:
                if isinstance(message, bytes):
                    error = _pcm_error(message)
                    if error:
                        await _send(ws, {"type": "error", "message": error})
                        continue
                    pcm = np.frombuffer(message, dtype="<i2").astype(np.float32) / 32768.0
                    try:
                        changed = await loop.run_in_executor(self.pool, stream.accept_waveform, pcm)
                    except Exception as err:  # a bug must cost this utterance, not the server
                        log.exception("stream failed")
                        await _send(ws, {"type": "error", "message": f"internal error: {err}; utterance reset"})
                        stream = self.rec.stream()
                        continue
                    if changed:
                        await _send(ws, {"type": "partial", "text": stream.partial()})
                    continue
                kind, error = _control(message)
                if error:
                    await _send(ws, {"type": "error", "message": error})
                    continue
                if kind == "end":
                    t0 = time.perf_counter()
                    try:
                        text = await loop.run_in_executor(self.pool, stream.finish)
                    except Exception as err:
                        log.exception("stream failed at end")
                        await _send(ws, {"type": "error", "message": f"internal error: {err}; utterance reset"})
                        stream = self.rec.stream()
                        continue
                    tm = stream.timing
                    await _send(ws, {"type": "final", "text": text, "audio_s": round(tm.audio_s, 3),
                                     "compute_s": round(tm.compute_s, 4),
                                     "finish_ms": round(1000 * (time.perf_counter() - t0), 1)})
                    stream = self.rec.stream()  # the next utterance on this connection starts afresh
        except ConnectionClosed:
            pass  # the client went away mid-utterance: its state goes with this frame
        finally:
            self.active -= 1
            del stream

    async def run(self, host: str, port: int, ready: asyncio.Event | None = None,
                  stop: asyncio.Future | None = None) -> None:
        async with serve(self.handle, host, port, process_request=self.http, max_size=MAX_MESSAGE,
                         ping_interval=20, ping_timeout=60) as server:
            self.port = server.sockets[0].getsockname()[1] if server.sockets else port
            if ready is not None:
                ready.set()
            await (stop if stop is not None else asyncio.get_running_loop().create_future())


def _pcm_error(message: bytes) -> str | None:
    if not message:
        return "empty binary message: send 16 kHz mono int16 little-endian PCM"
    if len(message) % 2:
        return f"binary message of {len(message)} bytes: int16 PCM needs an even number of bytes"
    return None


def _control(message: str) -> tuple[str | None, str | None]:
    """A text message -> (its type, None) or (None, the error to send back)."""
    try:
        obj = json.loads(message)
    except ValueError:
        return None, 'text messages must be JSON, e.g. {"type": "end"}'
    if not isinstance(obj, dict) or obj.get("type") != "end":
        return None, f'unknown control message {message[:80]!r}: the only one is {{"type": "end"}}'
    return "end", None


async def _send(ws: ServerConnection, obj: dict) -> None:
    try:
        await ws.send(json.dumps(obj))
    except ConnectionClosed:
        pass


class ServerThread:
    """An :class:`ASRServer` on its own event loop in a background thread (tests, benchmarks, notebooks):
    ``with ServerThread(rec, port=0) as srv: ... srv.port``."""

    def __init__(self, recognizer: StreamingRecognizer, host: str = "127.0.0.1", port: int = 0, workers: int = 1):
        import threading

        self.server = ASRServer(recognizer, workers)
        self.host, self._port = host, port
        self.loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self.loop.run_until_complete, args=(self._main(),), daemon=True)

    async def _main(self) -> None:
        started = asyncio.Event()
        self._stop = self.loop.create_future()
        task = asyncio.create_task(self.server.run(self.host, self._port, started, self._stop))
        await asyncio.wait([task, asyncio.create_task(started.wait())], return_when=asyncio.FIRST_COMPLETED)
        self._ready.set()
        await task

    @property
    def port(self) -> int:
        return self.server.port

    def __enter__(self) -> ServerThread:
        self._thread.start()
        if not self._ready.wait(60) or not hasattr(self.server, "port"):
            raise RuntimeError(f"the server did not start on {self.host}:{self._port}")
        return self

    def __exit__(self, *exc) -> None:
        self.loop.call_soon_threadsafe(self._stop.set_result, None)
        self._thread.join(10)
        self.server.pool.shutdown(wait=False)
