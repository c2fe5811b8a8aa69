"""Streaming recognition: audio in pieces -> partial results -> a final result, with any beam method.

    >>> from asrkit.inference.streaming import StreamingRecognizer
    >>> rec = StreamingRecognizer("bible-en-ctc-stream", method="shallow_fusion", lm="word3.arpa", lm_weight=0.5)
    >>> s = rec.stream()
    >>> for piece in pieces:                       # float32 16 kHz mono, any size
    ...     s.accept_waveform(piece)
    ...     print(s.partial())                     # best text so far
    >>> print(s.finish())                          # final text (end-of-sentence LM scores added)

Per stream: :class:`asrkit.frontend.streaming.StreamingFrontend` (fbank/LFR/CMVN, each sample once) ->
:class:`asrkit.encoder.sanm_streaming.StreamingSANMEncoder` (one chunk of ``chunk_size`` 60 ms frames at a
time, attention/FSMN caches) -> CTC log-probabilities -> the online prefix search
(:func:`decoders.online_search.new_online_search`: the compiled core's, or its Python reference
:class:`decoders.ctc_prefix_beam_online.CTCPrefixBeamOnline`, with the method's scorers, their states carried
across chunks). The scorer
list is the one :class:`asrkit.inference.engine.Decoder` builds for the offline decode, so every beam method,
the bonuses and hotwords stream; ``rescore`` re-ranks the final n-best; ``greedy`` carries the last unit.
``tlg`` does not stream (its Viterbi search has no online form here).

A model trained chunk-wise (``encoder.chunk_size`` in config.json, e.g. ``bible-en-ctc-stream``) streams
with the context it was trained with, and its streamed result equals its offline result on the same audio
(tested). Any other SANM-CTC model (the demo model) can be streamed with ``chunk_size``/``left_chunks``
given here: chunk attention is then imposed on a full-context model, which costs accuracy.
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from asrkit.encoder.sanm import SANMEncoder
from asrkit.encoder.sanm_streaming import StreamingSANMEncoder, WindowedSANMEncoder
from asrkit.errors import UserError
from asrkit.frontend.streaming import StreamingFrontend
from asrkit.inference.decode_config import DecodeConfig
from asrkit.inference.engine import Decoder
from decoders.online_search import new_online_search
from decoders.rescoring import rescore_nbest

DEFAULT_CHUNK = 8  # 60 ms frames per chunk for a model not trained chunk-wise (480 ms)
DEFAULT_LEFT_CHUNKS = 8  # chunks of left context when chunk attention is imposed ("chunked" mode)
DEFAULT_WINDOW_LEFT = 32  # "window" mode: past frames re-encoded with each chunk (1.92 s)
DEFAULT_WINDOW_RIGHT = 4  # "window" mode: lookahead frames (240 ms)
MODES = ("chunked", "window")
TLG_REFUSED = "--method tlg does not stream; use shallow_fusion or another beam method with --streaming"


@dataclass
class StreamTiming:
    """Seconds of compute per stage of one stream, and audio seconds received."""

    audio_s: float = 0.0
    frontend_s: float = 0.0
    encoder_s: float = 0.0
    search_s: float = 0.0
    chunks: int = 0
    partial_times: list[float] = field(default_factory=list)  # audio time (s) when each new partial appeared

    @property
    def compute_s(self) -> float:
        return self.frontend_s + self.encoder_s + self.search_s


class StreamingRecognizer:
    """A CTC model and a decoding config, shared by any number of :class:`RecognitionStream` objects."""

    def __init__(self, model: str | Path | torch.nn.Module | None = None,
                 config: str | Path | DecodeConfig | None = None, chunk_size: int | None = None,
                 left_chunks: int | None = None, mode: str | None = None, left_frames: int | None = None,
                 right_frames: int | None = None, **settings):
        from asrkit.inference.recognizer import Recognizer  # the same model loading and config rules

        if settings.get("method") == "tlg" or getattr(config, "method", None) == "tlg":
            raise UserError(TLG_REFUSED)  # before the graph is opened
        base = Recognizer(model, config, **settings)
        self.config = base.config
        self.head = base.head
        ctc = base.model
        from asrkit.models import CTCModel

        if not isinstance(ctc, CTCModel) or ctc.codec is not None:
            raise UserError("streaming needs a SANM-CTC model with the fbank front end (e.g. bible-en-ctc-stream)")
        if self.config.method == "tlg":
            raise UserError(TLG_REFUSED)
        enc_cfg = ctc.config.encoder
        trained = enc_cfg.chunk_size is not None
        if chunk_size is not None and chunk_size < 1:
            shift_ms = round(1000 * ctc.config.frontend.frame_shift_s)
            raise UserError(f"--chunk-ms gives {chunk_size} frames: a chunk needs at least one {shift_ms} ms frame")
        self.encoder = ctc.encoder
        self.mode = mode or ("chunked" if trained else "window")
        if self.mode not in MODES:
            raise UserError(f"streaming mode {self.mode!r}: one of {', '.join(MODES)}")
        if self.mode == "window":
            if trained:
                raise UserError("window mode re-encodes a full-context model; this model is chunk-wise (chunked mode)")
            for name, v in (("left context", left_frames), ("right context", right_frames)):
                if v is not None and v < 0:
                    raise UserError(f"streaming {name} must be >= 0 frames, not {v}")
            self.window = (chunk_size or DEFAULT_CHUNK, DEFAULT_WINDOW_LEFT if left_frames is None else left_frames,
                           DEFAULT_WINDOW_RIGHT if right_frames is None else right_frames)
        elif chunk_size is not None or left_chunks is not None or not trained:
            # Chunk attention imposed at inference, on a twin encoder (the caller's model keeps its config).
            cfg = copy.copy(enc_cfg)
            cfg.chunk_size = chunk_size or enc_cfg.chunk_size or DEFAULT_CHUNK
            cfg.left_chunks = left_chunks if left_chunks is not None else (
                enc_cfg.left_chunks if trained else DEFAULT_LEFT_CHUNKS)
            self.encoder = SANMEncoder(cfg)
            self.encoder.load_state_dict(ctc.encoder.state_dict())
            self.encoder.eval()
        self.model = ctc.eval()
        self.trained_chunk_size = enc_cfg.chunk_size
        self.decoder = Decoder(self.config, self.head)
        self.frame_s = ctc.config.frontend.frame_shift_s

    @property
    def chunk_size(self) -> int:
        return self.window[0] if self.mode == "window" else self.encoder.config.chunk_size

    @property
    def lookahead_frames(self) -> int:
        return self.window[2] if self.mode == "window" else 0

    def new_encoder(self) -> StreamingSANMEncoder | WindowedSANMEncoder:
        if self.mode == "window":
            return WindowedSANMEncoder(self.encoder, *self.window)
        return StreamingSANMEncoder(self.encoder)

    @property
    def chunk_s(self) -> float:
        return self.chunk_size * self.frame_s

    def algorithmic_latency_s(self) -> float:
        """Audio a frame at the start of a chunk waits for before it can be decoded: the chunk, the encoder's
        lookahead (window mode), and the front end's lookahead past the last 60 ms hop (3 fbank frames + the
        25 ms window - 10 ms)."""
        fb = self.model.config.frontend.fbank
        lfr_right = (self.model.config.frontend.lfr_m - 1) // 2
        return (self.chunk_s + self.lookahead_frames * self.frame_s
                + (lfr_right * fb.frame_shift_ms + fb.frame_length_ms - fb.frame_shift_ms) / 1000)

    @torch.inference_mode()
    def offline_emissions(self, wave: np.ndarray) -> torch.Tensor:
        """(T, V) CTC log-probabilities of a whole waveform with the streaming encoder's chunk attention run
        offline (all chunks in one pass): what the stream computes, for tests and WER comparisons."""
        feats = self.model.frontend(wave)
        if self.mode == "window":  # the windows, all at once
            enc = self.new_encoder()
            out = torch.cat([enc.push(feats), enc.finish()])
        else:
            out = self.encoder(feats[None], torch.tensor([feats.size(0)]))[0][0]
        return torch.log_softmax(self.model.ctc(out).float(), dim=-1)

    def stream(self) -> RecognitionStream:
        return RecognitionStream(self)


class RecognitionStream:
    """One utterance's state: front end, encoder caches, prefix search (or greedy) state."""

    def __init__(self, rec: StreamingRecognizer):
        self.rec = rec
        self.frontend = StreamingFrontend(rec.model.frontend)
        self.encoder = rec.new_encoder()
        cfg, dec = rec.config, rec.decoder
        self.greedy = dec.method.search == "greedy"
        self.blank = rec.head.tokenizer.blank_id
        self.units: list[int] = []  # greedy: the collapsed best path so far
        self.last = self.blank
        self.search = None if self.greedy else new_online_search(
            max(dec.beam, dec.nbest), dec.scorers, prune_topk=cfg.prune_topk, blank_id=self.blank,
            token_min_logp=cfg.token_min_logp, beam_prune_logp=cfg.beam_prune_logp, hotword_beam=cfg.hotword_beam)
        self.timing = StreamTiming()
        self.final: str | None = None
        self._partial = ""
        # --hotword-check reads the whole utterance's emissions once, at the end: kept only when it is on.
        self._log_probs: list[torch.Tensor] | None = [] if dec.check else None

    def accept_waveform(self, samples: np.ndarray) -> bool:
        """Feed float32 samples in [-1, 1] (16 kHz mono). Returns True when the partial text changed."""
        if self.final is not None:
            raise RuntimeError("accept_waveform() after finish()")
        samples = np.asarray(samples, dtype=np.float32).reshape(-1)
        self.timing.audio_s += len(samples) / 16000
        t0 = time.perf_counter()
        feats = self.frontend.accept(samples)
        self.timing.frontend_s += time.perf_counter() - t0
        return self._decode(feats)

    @torch.inference_mode()
    def _decode(self, feats: torch.Tensor, last: bool = False) -> bool:
        """Front-end frames -> the encoder outputs they complete -> CTC -> search. True: partial changed."""
        t0 = time.perf_counter()
        enc = self.encoder.push(feats)
        if last:
            enc = torch.cat([enc, self.encoder.finish()])
        if enc.size(0) == 0:
            self.timing.encoder_s += time.perf_counter() - t0
            return False
        log_probs = torch.log_softmax(self.rec.model.ctc(enc).float(), dim=-1)
        if self.rec.config.blank_penalty:
            log_probs[:, self.blank] -= self.rec.config.blank_penalty
        if self._log_probs is not None:
            self._log_probs.append(log_probs)
        t1 = time.perf_counter()
        if self.greedy:
            for u in log_probs.argmax(-1).tolist():
                if u != self.last and u != self.blank:
                    self.units.append(u)
                self.last = u
        else:
            self.search.advance(log_probs)
        t2 = time.perf_counter()
        self.timing.encoder_s += t1 - t0
        self.timing.search_s += t2 - t1
        self.timing.chunks += 1
        text = self.partial()
        if text != self._partial:
            self._partial = text
            self.timing.partial_times.append(self.timing.audio_s)
            return True
        return False

    def partial(self) -> str:
        """The best text so far (for a beam search: the best prefix without end-of-sentence scores)."""
        if self.final is not None:
            return self.final
        if self.greedy:
            return self.rec.head.text(self.units)
        best = self.search.partial()
        return self.rec.decoder.text(best[0].units) if best else ""

    @torch.inference_mode()
    def finish(self) -> str:
        """End of input: encode what is left (a short last chunk), close the search, return the final text."""
        if self.final is not None:
            return self.final
        t0 = time.perf_counter()
        feats = self.frontend.finish()
        self.timing.frontend_s += time.perf_counter() - t0
        self._decode(feats, last=True)
        if self.greedy:
            self.final = self.rec.head.text(self.units)
            return self.final
        t1 = time.perf_counter()
        dec = self.rec.decoder
        hyps = self.search.finish(dec.nbest)
        if dec.rescorers:
            hyps = rescore_nbest(hyps, [dec.text(h.units) for h in hyps], dec.rescorers)
        self.timing.search_s += time.perf_counter() - t1
        emissions = torch.cat(self._log_probs) if self._log_probs else None
        self.final = dec.text(hyps[0].units, emissions) if hyps else ""
        return self.final
