"""Scoring: WER/CER (:mod:`.wer`), BLEU (:mod:`.bleu`) and reference/hypothesis files (:mod:`.references`)."""

from asrkit.metrics.bleu import BleuResult, corpus_bleu
from asrkit.metrics.wer import ErrorRate, UtteranceErrors, cer, error_rate, wer

__all__ = ["BleuResult", "ErrorRate", "UtteranceErrors", "cer", "corpus_bleu", "error_rate", "wer"]
