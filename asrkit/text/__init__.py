"""Text processing shared by training and scoring: see :mod:`asrkit.text.normalize`."""

from asrkit.text.normalize import chars_for_cer, is_mostly_han, lm_words, normalize_text

__all__ = ["chars_for_cer", "is_mostly_han", "lm_words", "normalize_text"]
