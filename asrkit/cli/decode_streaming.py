"""`asrkit decode --streaming [--chunk-ms N]`: files fed through the streaming path, chunk by chunk.

Each input is cut into pieces of ``--chunk-ms`` milliseconds of audio and fed to a
:class:`asrkit.inference.streaming.RecognitionStream` as a live client would (the same path as
``asrkit serve``), with any beam method, LM and hotwords. The output lines are those of ``asrkit decode``
plus ``partials`` (how many times the best text changed) and ``latency``: the compute time of the last
step (``finish_ms``: from the end of input to the final text), the real-time factor of the stream's
compute, and the model's algorithmic latency (its chunk + front-end lookahead). A summary goes to stderr.

``--chunk-ms`` is how much audio each call hands over (default: the model's chunk, e.g. 480 ms); the
encoder always runs its own chunk size, so any value gives the same text. ``--stream-chunk-frames`` sets the
encoder's chunk (60 ms frames) on a model not trained chunk-wise (the demo model; accuracy drops).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

from asrkit.data.inputs import InputError, iter_inputs
from asrkit.data.results import ResultWriter, check_output_path
from asrkit.errors import UserError
from asrkit.frontend import SAMPLE_RATE, load_audio


def run_streaming(args: argparse.Namespace, settings: dict) -> int:
    from asrkit.inference.streaming import StreamingRecognizer

    inputs = [*args.input, *args.inputs_after_dashdash]
    if not inputs:
        raise UserError("no input: give --input FILE... (or the files after `--`)")
    if args.llm or (args.task and args.task != "asr"):
        raise UserError("--streaming runs CTC models only (no speech LLM, --task asr)")
    check_output_path(Path(args.output), args.resume, [*inputs, args.config, args.lm, args.source_lm, args.ilm])
    rec = StreamingRecognizer(args.model, args.config, chunk_size=args.stream_chunk_frames, **settings)
    piece_ms = args.chunk_ms if args.chunk_ms is not None else 1000 * rec.chunk_s
    if piece_ms <= 0:
        raise UserError(f"--chunk-ms must be > 0, not {args.chunk_ms}")
    piece = max(1, int(round(piece_ms * SAMPLE_RATE / 1000)))
    n_failed, finish_ms, rtfs, audio_total, compute_total = 0, [], [], 0.0, 0.0
    t0 = time.perf_counter()
    with ResultWriter(Path(args.output), fresh=not args.resume) as out:
        for item in iter_inputs(inputs):
            if isinstance(item, InputError):
                print(f"asrkit decode: error: {item.source}: {item.message}", file=sys.stderr)
                n_failed += 1
                continue
            try:
                wave = load_audio(item.audio)
            except UserError as err:
                print(f"asrkit decode: error: {err}", file=sys.stderr)
                n_failed += 1
                continue
            if item.duration is not None or item.start:
                a = int(item.start * SAMPLE_RATE)
                wave = wave[a: None if item.duration is None else a + int(item.duration * SAMPLE_RATE)]
            stream = rec.stream()
            for i in range(0, len(wave), piece):
                stream.accept_waveform(wave[i:i + piece])
            t_end = time.perf_counter()
            text = stream.finish()
            fin = 1000 * (time.perf_counter() - t_end)
            tm = stream.timing
            rtf = tm.compute_s / max(tm.audio_s, 1e-9)
            finish_ms.append(fin)
            rtfs.append(rtf)
            audio_total += tm.audio_s
            compute_total += tm.compute_s
            out.write([{"id": item.id, "text": text, "partials": len(tm.partial_times),
                        "latency": {"finish_ms": round(fin, 1), "rtf": round(rtf, 4),
                                    "algorithmic_ms": round(1000 * rec.algorithmic_latency_s())}}])
    n = len(finish_ms)
    if n:
        p95 = sorted(finish_ms)[min(n - 1, int(0.95 * n))]
        print(f"asrkit decode --streaming: {n} decoded, {n_failed} failed in {time.perf_counter() - t0:.1f} s; "
              f"encoder chunk {1000 * rec.chunk_s:.0f} ms, pieces of {piece_ms:.0f} ms; algorithmic latency "
              f"{1000 * rec.algorithmic_latency_s():.0f} ms; end -> final {statistics.median(finish_ms):.1f} ms "
              f"median, "
              f"{p95:.1f} ms p95; compute RTF {compute_total / max(audio_total, 1e-9):.4f} -> {args.output}",
              file=sys.stderr)
    return 1 if n_failed else 0
