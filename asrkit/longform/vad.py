"""Voice activity detection: a speech probability for every 32 ms of an input, read block by block.

- ``silero`` (default): the trained Silero VAD model that the ``silero-vad`` PyPI package ships (MIT). We run
  its "sequence" ONNX export with onnxruntime: one call scores a block of 512 frames (16 s) while the LSTM
  state is carried from block to block, so the probabilities equal the streaming model's (checked to
  1e-5) at about 8x its speed (the streaming TorchScript model scores one frame per call, ~65x real time
  on one thread, too slow for a 100x real-time pipeline). The ``.onnx`` file is loaded from the installed
  package; nothing is downloaded and nothing is unpickled.
- ``energy``: a documented fallback without any model: a frame's log energy against the input's noise
  floor (its 10th-percentile frame), mapped to (0, 1). It is right for clean recordings with real
  pauses, wrong for noise or music.

Both give probabilities on the same 32 ms grid, turned into segments by :mod:`asrkit.longform.segmenter`.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np

from asrkit.errors import UserError
from asrkit.frontend import SAMPLE_RATE
from asrkit.longform.source import AudioSource

FRAME = 512  # samples per VAD frame at 16 kHz (32 ms): Silero's window
FRAME_S = FRAME / SAMPLE_RATE
CONTEXT = 64  # Silero prefixes each frame with the last 64 samples of the previous one
BLOCK_FRAMES = 512  # frames per onnxruntime call (16.4 s of audio)
VADS = ("silero", "energy")


def _silero_model_path() -> Path:
    # find_spec does not import the package: its __init__ imports torch and sets torch's thread count.
    spec = importlib.util.find_spec("silero_vad")
    if spec is None or not spec.submodule_search_locations:
        raise UserError("--vad silero needs the silero-vad package (pip install silero-vad), or use --vad energy")
    path = Path(next(iter(spec.submodule_search_locations))) / "data" / "silero_vad_16k_sequence.onnx"
    if not path.exists():
        raise UserError(f"{path}: this silero-vad release has no sequence model (need silero-vad >= 6.2); "
                        "or use --vad energy")
    return path


class SileroVAD:
    """Speech probability per 32 ms frame from Silero VAD (Silero Team, 2024, "Silero VAD: pre-trained
    enterprise-grade Voice Activity Detector", github.com/snakers4/silero-vad)."""

    def __init__(self, threads: int = 1):
        try:
            import onnxruntime as ort
        except ImportError:
            raise UserError("--vad silero needs onnxruntime (pip install onnxruntime), or use --vad energy") from None
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        self.session = ort.InferenceSession(str(_silero_model_path()), sess_options=opts,
                                            providers=["CPUExecutionProvider"])

    def probabilities(self, source: AudioSource) -> np.ndarray:
        h = np.zeros((1, 1, 128), dtype=np.float32)
        c = np.zeros((1, 1, 128), dtype=np.float32)
        context = np.zeros(CONTEXT, dtype=np.float32)
        out = []
        for block in source.blocks(FRAME * BLOCK_FRAMES):
            n = -(-block.size // FRAME)
            frames = np.zeros((n, FRAME), dtype=np.float32)
            frames.reshape(-1)[: block.size] = block  # the last frame is zero-padded
            prev = np.concatenate((context[None], frames[:-1, -CONTEXT:]), axis=0)
            probs, h, c = self.session.run(["speech_probs", "hn", "cn"],
                                           {"input": np.concatenate((prev, frames), axis=1), "h": h, "c": c})
            context = frames[-1, -CONTEXT:].copy()
            out.append(np.asarray(probs, dtype=np.float32).reshape(-1))
        return np.concatenate(out) if out else np.zeros(0, dtype=np.float32)


class EnergyVAD:
    """Fallback: p_t = sigmoid((E_t - (floor + margin_db)) / 2 dB), E_t the frame's energy in dB and floor
    the input's 10th-percentile frame energy; a frame 12 dB (default) above the floor is speech."""

    def __init__(self, margin_db: float = 12.0):
        self.margin_db = margin_db

    def probabilities(self, source: AudioSource) -> np.ndarray:
        energies = []
        for block in source.blocks(FRAME * BLOCK_FRAMES):
            n = -(-block.size // FRAME)
            frames = np.zeros((n, FRAME), dtype=np.float32)
            frames.reshape(-1)[: block.size] = block
            energies.append(10 * np.log10(np.mean(frames.astype(np.float64) ** 2, axis=1) + 1e-10))
        if not energies:
            return np.zeros(0, dtype=np.float32)
        db = np.concatenate(energies)
        floor = np.percentile(db, 10)
        # Digital silence has a floor of -100 dB; speech is never judged against less than -70 dB.
        floor = max(floor, -70.0)
        return (1 / (1 + np.exp(-(db - floor - self.margin_db) / 2.0))).astype(np.float32)


def make_vad(name: str, threads: int = 1) -> SileroVAD | EnergyVAD:
    if name == "silero":
        return SileroVAD(threads)
    if name == "energy":
        return EnergyVAD()
    raise UserError(f"--vad {name!r}: unknown (available: {', '.join(VADS)})")
