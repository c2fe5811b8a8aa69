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

METHODS = ("greedy",)


class Recognizer:
    def __init__(
        self,
        model: str | Path | CTCModel | None = None,
        method: str = "greedy",
        min_duration: float = 0.05,
        max_duration: float = 60.0,
    ):
        self.model = model if isinstance(model, CTCModel) else load_model(model)
        if method not in METHODS:
            raise UserError(f"unknown decoding method {method!r} (available: {', '.join(METHODS)})")
        self.method = method
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
        hyps = ctc_greedy_search(log_probs, out_lens, self.model.tokenizer.blank_id)
        return [self.model.tokenizer.decode(h) for h in hyps]

    def transcribe(self, paths: Sequence[str | Path], batch_size: int = 8) -> list[str]:
        out: list[str] = []
        for i in range(0, len(paths), batch_size):
            out += self.decode_waves([self.load(p) for p in paths[i : i + batch_size]])
        return out
