"""Batch transcription: audio -> a model's head (CTC emissions or a conditioned LM) -> the decoding engine.

    >>> from asrkit.inference import Recognizer
    >>> rec = Recognizer()                                     # bundled demo model, greedy
    >>> rec.transcribe(["a.wav", "b.flac"])                    # -> ["text a", "text b"]
    >>> rec = Recognizer(method="shallow_fusion", lm="lm.arpa", lm_weight=0.5, beam=16)
    >>> rec = Recognizer(config="tuned.json")                  # weights found by `asrkit tune`

Keyword arguments are the fields of :class:`~asrkit.inference.decode_config.DecodeConfig`; they override a
config file, which overrides the model folder's ``decoding.json`` (:func:`decoding_config`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from asrkit.errors import UserError
from asrkit.frontend import SAMPLE_RATE, load_audio
from asrkit.inference.decode_config import METHODS, DecodeConfig, decoding_config
from asrkit.inference.engine import Decoder
from asrkit.inference.heads import make_head
from asrkit.models import load_model
from asrkit.models.bundled import find_model_dir

__all__ = ["METHODS", "Recognizer"]


def _load(model: str | Path | None, llm: str | Path | None, task: str = "asr") -> torch.nn.Module:
    """A model folder or bundled name; a MooER release (root or task sub-folder, or any speech LLM given
    ``llm``) as a speech LLM. ``task`` picks a release's sub-folder (asr/, ast/, asr_ast_mtl/)."""
    from asrkit.models.speech_llm.mooer_release import is_mooer_release

    if llm is not None or (model is not None and is_mooer_release(model)):
        from asrkit.models.speech_llm import load_speech_llm

        return load_speech_llm(model, llm=llm, task=task)
    return load_model(model)


class Recognizer:
    def __init__(
        self,
        model: str | Path | torch.nn.Module | None = None,
        config: str | Path | DecodeConfig | None = None,
        min_duration: float = 0.05,
        max_duration: float = 60.0,
        llm: str | Path | None = None,
        **settings,
    ):
        if isinstance(config, DecodeConfig):  # complete already: the model folder's decoding.json is not read
            cfg = DecodeConfig(**{**config.to_dict(), **{k: v for k, v in settings.items() if v is not None}})
        else:
            folder = None if isinstance(model, torch.nn.Module) else find_model_dir(model)
            cfg = decoding_config(config, settings, folder)
        if llm is not None:
            cfg = DecodeConfig(**{**cfg.to_dict(), "llm": str(llm)})
        self.config = cfg.check()
        self.model = model if isinstance(model, torch.nn.Module) else _load(model, cfg.llm, cfg.task)
        self.min_duration = min_duration
        self.max_duration = max_duration
        self.head = make_head(self.model, cfg.task)
        self.decoding = Decoder(cfg, self.head)

    def decoder(self, cfg: DecodeConfig) -> Decoder:
        """Another decoding config on the same model (``asrkit tune`` runs one per grid point)."""
        return Decoder(cfg, self.head)

    @property
    def method(self) -> str:
        return self.config.method

    def check_duration(self, wave: np.ndarray, source: str) -> None:
        dur = len(wave) / SAMPLE_RATE
        if dur < self.min_duration:
            raise UserError(f"{source}: audio too short ({dur:.3f} s < {self.min_duration} s)")
        if dur > self.max_duration:
            raise UserError(
                f"{source}: audio too long ({dur:.1f} s > {self.max_duration} s); split it or raise --max-duration"
            )
        self.check_decodable(len(wave), source)

    def check_decodable(self, num_samples: int, source: str) -> None:
        """A speech LLM needs at least one audio embedding (k encoder frames). Checked per utterance before
        batching, so a clip too short fails alone, with its name, instead of failing its whole batch."""
        audio_length = getattr(self.model, "audio_length", None)
        if audio_length is not None and audio_length(num_samples) < 1:
            raise UserError(f"{source}: audio too short for this speech LLM ({num_samples / SAMPLE_RATE:.3f} s gives "
                            "no audio embedding)")

    def load(self, path: str | Path) -> np.ndarray:
        wave = load_audio(path)
        self.check_duration(wave, str(path))
        return wave

    def emissions(self, waves: Sequence[np.ndarray]) -> tuple[torch.Tensor, torch.Tensor]:
        """CTC log-probabilities (B, T, V) and lengths (B,) of 16 kHz mono waveforms, batched with padding
        (a CTC model; a speech LLM has none and says so in one line)."""
        return self.head.emissions(waves)

    @torch.inference_mode()
    def decode_waves(self, waves: Sequence[np.ndarray]) -> list[str]:
        """Transcribe 16 kHz mono float waveforms."""
        if not waves:
            return []
        return self.decoding(self.head.acoustics(waves))

    def transcribe(self, paths: Sequence[str | Path], batch_size: int = 8) -> list[str]:
        out: list[str] = []
        for i in range(0, len(paths), batch_size):
            out += self.decode_waves([self.load(p) for p in paths[i : i + batch_size]])
        return out
