"""Scoring: WER/CER (:mod:`.wer`), BLEU (:mod:`.bleu`), biased-word recall / B-WER / U-WER of hotword lists
(:mod:`.biased_words`) and reference/hypothesis files (:mod:`.references`)."""

from asrkit.metrics.biased_words import biased_word_scores
from asrkit.metrics.bleu import BleuResult, corpus_bleu
from asrkit.metrics.wer import ErrorRate, UtteranceErrors, cer, error_rate, wer

__all__ = ["BleuResult", "ErrorRate", "UtteranceErrors", "biased_word_scores", "cer", "corpus_bleu", "error_rate",
           "wer"]
