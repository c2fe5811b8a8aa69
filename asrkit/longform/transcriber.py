"""Long-form transcription: inputs of any length -> VAD segments -> batches through the model -> one result each.

An input no longer than the segment cap is one segment (decoded whole, as a short utterance always was);
a longer one is scored by the VAD in 16 s blocks read from disk and cut into speech segments of at most
the cap. Segments of all inputs go through the model ``batch_size`` at a time, each read from disk only
when its batch is formed, so memory holds at most one batch of audio whatever the input's length (plus 4
bytes of VAD probability per 32 ms). Within an input, segments are batched longest first (less padding);
results come back in input order.

The cap is ``--max-duration`` (default 30 s for a CTC model) and never more than
:data:`SPEECH_LLM_MAX_S` for a speech LLM: its adapter and LLM only saw utterances that long in training.
"""

from __future__ import annotations

import sys
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace

import numpy as np
import torch

from asrkit.errors import UserError
from asrkit.frontend import SAMPLE_RATE
from asrkit.longform.segmenter import SegmenterConfig, speech_segments
from asrkit.longform.source import AudioSource
from asrkit.longform.timestamps import Word, word_timestamps
from asrkit.longform.vad import FRAME_S, EnergyVAD, SileroVAD, make_vad

CTC_MAX_S = 30.0
# The speech-LLM recipe (asrkit/train/speech_llm.py, max_duration) skips training utterances over 20 s.
SPEECH_LLM_MAX_S = 20.0


@dataclass
class Segment:
    start: float
    end: float
    text: str = ""
    words: list[Word] | None = None

    def to_dict(self) -> dict:
        return {"start": round(self.start, 3), "end": round(self.end, 3), "text": self.text}


@dataclass
class Transcript:
    """The result of one input: its segments in time order (segments whose text is empty are dropped)."""

    key: object
    duration: float
    segments: list[Segment] = field(default_factory=list)
    error: UserError | None = None

    @property
    def text(self) -> str:
        return " ".join(s.text for s in self.segments if s.text)

    @property
    def words(self) -> list[Word] | None:
        if any(s.words is None for s in self.segments):
            return None
        return [w for s in self.segments for w in s.words]

    def fields(self, timestamps: bool = False) -> dict:
        """``segments`` (and with ``timestamps`` the ``words``, when the model gives them) for the output line."""
        out: dict = {"segments": [s.to_dict() for s in self.segments if s.text]}
        words = self.words
        if timestamps and words is not None:
            out["words"] = [w.to_dict() for w in words]
        return out


@dataclass
class _Pending:
    transcript: Transcript
    name: str  # the input's file, for error lines
    left: int  # segments not yet decoded


def is_ctc(rec) -> bool:
    """A CTC head (PyTorch or ONNX) gives frame log-probabilities, hence word timestamps; a speech LLM does not."""
    return rec.head.kind == "ctc"


def segment_cap(rec, max_duration: float | None) -> float:
    """The longest segment the model is given: ``max_duration`` (or the model's default), capped for a speech LLM."""
    if is_ctc(rec):
        return CTC_MAX_S if max_duration is None else max_duration
    if max_duration is not None and max_duration > SPEECH_LLM_MAX_S:
        print(f"asrkit: --max-duration {max_duration:g} s is longer than the speech LLM was trained on; "
              f"segments are cut at {SPEECH_LLM_MAX_S:g} s", file=sys.stderr)
    return SPEECH_LLM_MAX_S if max_duration is None else min(max_duration, SPEECH_LLM_MAX_S)


class LongFormTranscriber:
    """``add(key, source)`` inputs, then take finished :class:`Transcript` s from :meth:`ready` (input order);
    :meth:`finish` decodes what is left.

    ``rec`` is an :class:`asrkit.inference.Recognizer`; ``vad`` "silero" or "energy"; ``words``: align each
    segment's hypothesis to its frames for word timestamps (CTC heads)."""

    def __init__(self, rec, vad: str = "silero", max_duration: float | None = None, batch_size: int = 8,
                 words: bool = False, min_duration: float = 0.0, threads: int = 1,
                 segmenter: SegmenterConfig | None = None):
        self.rec = rec
        self.ctc = is_ctc(rec)
        self.cap = segment_cap(rec, max_duration)
        if self.cap <= 0:
            raise UserError("--max-duration must be positive")
        self.segmenter = replace(segmenter or SegmenterConfig(), max_segment_s=self.cap)
        self.vad_name = vad
        self._vad = None
        self._threads = threads
        self.batch_size = batch_size
        self.words = words and self.ctc
        self.min_duration = min_duration
        self._batch: list[tuple[_Pending, Segment, np.ndarray]] = []
        self._order: deque[_Pending] = deque()
        self.audio_s = 0.0  # seconds of input audio seen (for the real-time factor)
        self.decoded_s = 0.0  # seconds of segments decoded so far
        # Called with ``decoded_s`` after every batch: a long input shows progress while it is decoded.
        self.on_batch: Callable[[float], None] | None = None

    @property
    def vad(self) -> SileroVAD | EnergyVAD:
        """Loaded on first use: inputs no longer than the cap never need it."""
        if self._vad is None:
            self._vad = make_vad(self.vad_name, self._threads)
        return self._vad

    def plan(self, source: AudioSource) -> list[tuple[float, float]]:
        """(start, end) seconds of the segments of one input."""
        if source.duration <= self.cap:
            return [(0.0, source.duration)]
        probs = self.vad.probabilities(source)
        return speech_segments(probs, FRAME_S, source.duration, self.segmenter)

    def add(self, key: object, source: AudioSource) -> None:
        """Plan one input's segments (a bad file raises :class:`UserError` before anything of it is queued)
        and queue them; full batches are decoded at once."""
        if source.duration < self.min_duration:
            raise UserError(f"{source.name}: audio too short ({source.duration:.3f} s < {self.min_duration} s)")
        if source.duration <= self.cap:  # one segment: the model's own minimum, before it joins a batch
            self.rec.check_decodable(round(source.duration * SAMPLE_RATE), source.name)
        spans = self.plan(source)
        pending = _Pending(Transcript(key, source.duration, [Segment(s, e) for s, e in spans]), source.name, len(spans))
        self._order.append(pending)
        self.audio_s += source.duration
        for seg in sorted(pending.transcript.segments, key=lambda s: s.start - s.end):
            try:
                wave = source.read_seconds(seg.start, seg.end)
            except UserError as err:
                pending.transcript.error = err
                pending.left = 0
                break
            self._batch.append((pending, seg, wave))
            if len(self._batch) >= self.batch_size:
                self._flush()

    def _flush(self) -> None:
        batch, self._batch = self._batch, []
        self._decode_or_fail([(p, s, w) for p, s, w in batch if p.transcript.error is None])
        for p, s, _ in batch:
            p.left -= 1
            self.decoded_s += s.end - s.start
        if batch and self.on_batch is not None:
            self.on_batch(self.decoded_s)

    def _decode_or_fail(self, items: list[tuple[_Pending, Segment, np.ndarray]]) -> None:
        """Decode a batch; when it fails, each segment alone, so one bad segment fails only its own input."""
        if not items:
            return
        try:
            self._decode([s for _, s, _ in items], [w for _, _, w in items])
        except UserError as err:
            if len(items) == 1:
                p = items[0][0]
                p.transcript.error = UserError(f"{p.name}: {err}")
                return
            for item in items:
                self._decode_or_fail([item])

    def _decode(self, segments: list[Segment], waves: list[np.ndarray]) -> None:
        if not segments:
            return
        rec = self.rec
        if not self.ctc:
            for seg, text in zip(segments, rec.decode_waves(waves)):
                seg.text = text
            return
        with torch.inference_mode():
            acoustics = rec.head.acoustics(waves)  # CTC log-probabilities (B, T, V) and lengths
            texts = rec.decoding(acoustics)
        log_probs, lengths = acoustics
        shift = rec.model.config.frontend.frame_shift_s
        for b, (seg, text) in enumerate(zip(segments, texts)):
            seg.text = text
            if self.words:
                seg.words = word_timestamps(log_probs[b, : int(lengths[b])], text, rec.head.tokenizer, shift,
                                            offset_s=seg.start)

    def ready(self) -> Iterator[Transcript]:
        """Finished inputs, in the order they were added."""
        while self._order and self._order[0].left <= 0:
            yield self._order.popleft().transcript

    def finish(self) -> Iterator[Transcript]:
        """Decode what is queued and return every remaining input."""
        self._flush()
        yield from self.ready()
