"""Batch transcription with a CTC model.

    >>> from asrkit.inference import Recognizer
    >>> rec = Recognizer()                      # bundled demo model
    >>> rec.transcribe(["a.wav", "b.flac"])     # -> ["text a", "text b"]
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from asrkit.errors import UserError
from asrkit.frontend import SAMPLE_RATE, load_audio
from asrkit.models import CTCModel, load_model
from decoders import ctc_greedy_search
from decoders.ctc_prefix_beam import ctc_prefix_beam_search
from decoders.scorer import WeightedScorer

METHODS = ("greedy", "beam", "shallow_fusion")


class Recognizer:
    def __init__(
        self,
        model: str | Path | CTCModel | None = None,
        method: str = "greedy",
        min_duration: float = 0.05,
        max_duration: float = 60.0,
        beam: int = 8,
        lm: str | Path | None = None,
        lm_weight: float = 0.5,
        insertion_bonus: float = 0.0,
    ):
        self.model = model if isinstance(model, CTCModel) else load_model(model)
        if method not in METHODS:
            raise UserError(f"unknown decoding method {method!r} (available: {', '.join(METHODS)})")
        self.method = method
        self.beam = beam
        self.insertion_bonus = insertion_bonus
        self.scorers: list[WeightedScorer] = []
        if method == "shallow_fusion":
            if lm is None:
                raise UserError("--method shallow_fusion needs --lm")
            from lm.load import load_lm

            model_lm = load_lm(lm, tokenizer=self.model.tokenizer.path)
            if model_lm.unit != "token":
                raise UserError(f"{lm}: a word-level LM needs word-boundary handling, not available yet; "
                                "build a token LM (asrkit lm ngram --unit token)")
            self.scorers = [WeightedScorer(model_lm, lm_weight)]
        self.min_duration = min_duration
        self.max_duration = max_duration

    def check_duration(self, wave: np.ndarray, source: str) -> None:
        dur = len(wave) / SAMPLE_RATE
        if dur < self.min_duration:
            raise UserError(f"{source}: audio too short ({dur:.3f} s < {self.min_duration} s)")
        if dur > self.max_duration:
            raise UserError(
                f"{source}: audio too long ({dur:.1f} s > {self.max_duration} s); split it or raise --max-duration"
            )

    def load(self, path: str | Path) -> np.ndarray:
        wave = load_audio(path)
        self.check_duration(wave, str(path))
        return wave

    @torch.inference_mode()
    def decode_waves(self, waves: Sequence[np.ndarray]) -> list[str]:
        """Transcribe 16 kHz mono float waveforms, batched with padding."""
        if not waves:
            return []
        feats = [self.model.frontend(w) for w in waves]
        lengths = torch.tensor([f.size(0) for f in feats])
        batch = torch.nn.utils.rnn.pad_sequence(feats, batch_first=True)
        log_probs, out_lens = self.model(batch, lengths)
        if self.method == "greedy":
            hyps = ctc_greedy_search(log_probs, out_lens, self.model.tokenizer.blank_id)
        else:
            hyps = [
                list(ctc_prefix_beam_search(log_probs[b, : int(out_lens[b])], self.beam, self.scorers,
                                            insertion_bonus=self.insertion_bonus)[0].units)
                for b in range(log_probs.size(0))
            ]
        return [self.model.tokenizer.decode(h) for h in hyps]

    def transcribe(self, paths: Sequence[str | Path], batch_size: int = 8) -> list[str]:
        out: list[str] = []
        for i in range(0, len(paths), batch_size):
            out += self.decode_waves([self.load(p) for p in paths[i : i + batch_size]])
        return out
