"""Python API for transcription: ``Recognizer``."""

from asrkit.inference.recognizer import Recognizer

__all__ = ["Recognizer"]
