"""The Paraformer front end (fbank -> LFR 7/6 -> CMVN) fed audio in pieces of any size.

Kaldi fbank frames with ``snip_edges`` and no dither depend only on their own 25 ms window, so frame k
is computed once the samples [160 k, 160 k + 400) have arrived; the samples no later frame needs are
dropped. LFR frame i stacks fbank frames 6i-3 .. 6i+3 (the first ones clamped to frame 0, as
:func:`asrkit.frontend.lfr.apply_lfr` pads), so it is emitted as soon as fbank frame 6i+3 exists; at the
end the last frames are emitted with the right edge clamped, as the offline front end pads. So the
concatenated output equals ``Frontend(wave)`` on the whole waveform (tested). Algorithmic lookahead of
an LFR frame past its 60 ms hop: 3 fbank frames + the 25 ms window, i.e. 45 ms after its hop ends.
"""

from __future__ import annotations

import numpy as np
import torch

from asrkit.errors import UserError
from asrkit.frontend.fbank import fbank, num_frames
from asrkit.frontend.frontend import Frontend


class StreamingFrontend:
    """One stream's front-end state: ``accept(samples)`` -> new normalised LFR frames (n, D);
    ``finish()`` -> the last ones."""

    def __init__(self, frontend: Frontend):
        cfg = frontend.config
        if not cfg.fbank.snip_edges or cfg.fbank.dither:
            raise UserError("streaming needs a front end with snip_edges=true and dither=0 (config.json: frontend)")
        self.frontend = frontend
        self.fb = cfg.fbank
        self.m, self.n = cfg.lfr_m, cfg.lfr_n
        self.left = (self.m - 1) // 2
        self.samples = np.zeros(0, dtype=np.float32)  # not yet consumed by a complete fbank frame
        self.feats = torch.zeros(0, self.fb.num_mel_bins)  # fbank frames from index self.base on
        self.base = 0
        self.total = 0  # fbank frames computed so far
        self.next = 0  # next LFR frame to emit
        self.done = False

    def accept(self, samples: np.ndarray) -> torch.Tensor:
        """samples: float waveform in [-1, 1] at the model's rate."""
        if self.done:
            raise RuntimeError("accept() after finish()")
        self.samples = np.concatenate([self.samples, np.asarray(samples, dtype=np.float32).reshape(-1)])
        k = num_frames(len(self.samples), self.fb)
        if k:
            new = fbank(self.samples[: (k - 1) * self.fb.window_shift + self.fb.window_size], self.fb)
            self.samples = self.samples[k * self.fb.window_shift:]
            self.feats = torch.cat([self.feats, new])
            self.total += k
        return self._emit(final=False)

    def finish(self) -> torch.Tensor:
        self.done = True
        return self._emit(final=True)

    def _emit(self, final: bool) -> torch.Tensor:
        if final:
            stop = -(-self.total // self.n)  # ceil: apply_lfr's output length
        else:
            # LFR frame i needs fbank frame n*i - left + m - 1.
            stop = max(0, (self.total - 1 - (self.m - 1 - self.left)) // self.n + 1) if self.total else 0
        if stop <= self.next:
            return torch.zeros(0, self.m * self.fb.num_mel_bins)
        rows = []
        for i in range(self.next, stop):
            idx = torch.arange(self.n * i - self.left, self.n * i - self.left + self.m).clamp(0, self.total - 1)
            rows.append(self.feats[idx - self.base].reshape(-1))
        self.next = stop
        out = torch.stack(rows)
        # Keep fbank frames from the first one the next LFR frame reads (clamped at 0).
        drop = max(0, self.n * self.next - self.left) - self.base
        if drop > 0:
            self.feats = self.feats[drop:]
            self.base += drop
        cmvn = self.frontend.cmvn
        return cmvn(out) if cmvn is not None else out
