"""Python API for transcription: ``Recognizer``; ``CTCDecoding`` decodes given CTC log-probabilities."""

from asrkit.inference.ctc_decoding import CTCDecoding
from asrkit.inference.decode_config import DecodeConfig
from asrkit.inference.recognizer import Recognizer

__all__ = ["CTCDecoding", "DecodeConfig", "Recognizer"]
