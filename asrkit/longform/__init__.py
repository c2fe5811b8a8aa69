"""Long recordings: streamed audio, VAD segmentation, batched decoding, word timestamps, subtitles."""

from asrkit.longform.source import ArraySource, AudioSource, FileSource, open_source
from asrkit.longform.transcriber import LongFormTranscriber, Segment, Transcript

__all__ = ["AudioSource", "ArraySource", "FileSource", "open_source", "LongFormTranscriber", "Segment", "Transcript"]
