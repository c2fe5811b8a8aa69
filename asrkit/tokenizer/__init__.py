"""Sentencepiece BPE units shared by the acoustic model and token-level LMs."""

from asrkit.tokenizer.spm import BLANK_PIECE, WORD_START, Tokenizer, train_tokenizer

__all__ = ["Tokenizer", "train_tokenizer", "BLANK_PIECE", "WORD_START"]
