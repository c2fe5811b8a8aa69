"""`asrkit serve`: streaming recognition over WebSocket, with a browser page (docs/streaming.md).

    asrkit serve --model bible-en-ctc-stream --port 8765 [--host 127.0.0.1] [--method shallow_fusion --lm LM ...]

Open http://HOST:PORT/ for the page (microphone or a chosen file, partial and final text live); clients
stream 16 kHz mono int16 little-endian PCM to ws://HOST:PORT/asr and send {"type": "end"}; the server
answers {"type": "partial", "text": ...} as the text changes and one {"type": "final", "text": ...}.
Every decoding flag of `asrkit decode` applies (beam methods, LMs, hotwords; not tlg).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys

import torch

from asrkit.cli.argtypes import positive_int
from asrkit.cli.decode import add_decoding_args, decoding_settings
from asrkit.errors import UserError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("serve", help="streaming recognition server (WebSocket + browser page)", description=__doc__,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", "-m", default=None, help="model folder or bundled name [the demo model]")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on [127.0.0.1]")
    p.add_argument("--port", type=int, required=True, help="TCP port (0: any free port, printed)")
    p.add_argument("--workers", type=positive_int, default=1, help="decoding threads (about one CPU core each) [1]")
    p.add_argument("--threads", type=positive_int, default=1, help="torch threads per worker [1]")
    p.add_argument("--stream-chunk-frames", type=positive_int, default=None,
                   help="encoder chunk, 60 ms frames [the model's; 8 if not trained chunk-wise]")
    add_decoding_args(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from asrkit.inference.streaming import StreamingRecognizer
    from asrkit.server.app import ASRServer

    if not 0 <= args.port <= 65535:
        raise UserError(f"--port {args.port}: must be 0..65535")
    if args.llm or (args.task and args.task != "asr"):
        raise UserError("asrkit serve runs CTC models only (no speech LLM, --task asr)")
    torch.set_num_threads(args.threads)
    rec = StreamingRecognizer(args.model, args.config, chunk_size=args.stream_chunk_frames,
                              **decoding_settings(args))
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    server = ASRServer(rec, workers=args.workers)

    async def main() -> None:
        ready = asyncio.Event()
        task = asyncio.create_task(server.run(args.host, args.port, ready))
        await asyncio.wait([task, asyncio.create_task(ready.wait())], return_when=asyncio.FIRST_COMPLETED)
        if task.done():
            task.result()
        print(f"asrkit serve: http://{args.host}:{server.port}/ (WebSocket ws://{args.host}:{server.port}/asr); "
              f"method {rec.config.method}, chunk {1000 * rec.chunk_s:.0f} ms, algorithmic latency "
              f"{1000 * rec.algorithmic_latency_s():.0f} ms", file=sys.stderr, flush=True)
        await task

    try:
        asyncio.run(main())
    except OSError as err:  # port in use, address not available
        raise UserError(f"cannot listen on {args.host}:{args.port}: {err.strerror or err}") from None
    return 0
