"""Incremental (streaming) hertz-codec encoding with bounded state.

hertz-dev's inference code (github.com/Standard-Intelligence/hertz-dev) re-encodes a rolling 6 s window for
every 125 ms chunk, about 48x the work of one chunk. Here every layer keeps only the left context it still
needs, so each sample is processed once and the result equals the offline encoder's (up to float rounding):

- causal conv (kernel k, dilation d, stride s): conceptually the input is P = [(k-1) d zeros] + x and
  output n reads P[n s : n s + (k-1) d + 1]. The state is the not-yet-consumed tail of P; it starts as
  the (k-1) d zeros and never holds more than (k-1) d + s - 1 samples.
- average pool (s): the state is the < s samples of an incomplete window.
- ELU, the 1x1 convs, the residual sums and GaussianZ proj_in are per sample and need no state
  (a stride-1 causal conv emits exactly one output per input sample, so residuals stay aligned).

A latent is returned by :meth:`StreamingHertzEncoder.push` as soon as the audio determining it has
arrived: latent t depends on samples up to 2000 t + 1984 (the strided convs read the first sample of
each stride), so it comes out with the chunk that ends its 125 ms frame, whatever the push sizes.
:meth:`finish` applies the offline padding rule (zeros up to a multiple of 2000) to the final frame.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from asrkit.encoder.hertz.codec_encoder import CausalConv1d, CausalResUnit, HertzCodecEncoder


class _ConvState:
    """Incremental causal conv: concatenate the kept tail with new input, emit every full window."""

    def __init__(self, layer: CausalConv1d):
        conv = layer.conv
        self.weight, self.bias = conv.weight, conv.bias
        self.stride, self.dilation = conv.stride[0], conv.dilation[0]
        self.span = (conv.kernel_size[0] - 1) * self.dilation + 1
        self.pad = layer.pad_length
        self.buf: torch.Tensor | None = None

    def reset(self) -> None:
        self.buf = None

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        if self.buf is None:
            self.buf = x.new_zeros(x.size(0), x.size(1), self.pad)
        buf = torch.cat([self.buf, x], dim=-1)
        n_out = (buf.size(-1) - self.span) // self.stride + 1 if buf.size(-1) >= self.span else 0
        used = (n_out - 1) * self.stride + self.span if n_out else 0
        out = (F.conv1d(buf[..., :used], self.weight, self.bias, stride=self.stride, dilation=self.dilation)
               if n_out else x.new_zeros(x.size(0), self.weight.size(0), 0))
        self.buf = buf[..., n_out * self.stride:]
        return out


class _PoolState:
    """Incremental AvgPool1d(s, s): keep the samples of the incomplete window."""

    def __init__(self, stride: int):
        self.stride = stride
        self.buf: torch.Tensor | None = None

    def reset(self) -> None:
        self.buf = None

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        buf = x if self.buf is None else torch.cat([self.buf, x], dim=-1)
        n_out = buf.size(-1) // self.stride
        self.buf = buf[..., n_out * self.stride:]
        # A plain mean over (n_out, s) windows: avg_pool1d refuses an empty output.
        return buf[..., : n_out * self.stride].unflatten(-1, (n_out, self.stride)).mean(-1)


class _ResUnitState:
    """x + conv2(ELU(conv1(ELU(x)))), conv1 incremental."""

    def __init__(self, unit: CausalResUnit):
        self.conv1 = _ConvState(unit.conv1)
        self.conv2 = unit.conv2

    def reset(self) -> None:
        self.conv1.reset()

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv2(F.elu(self.conv1(F.elu(x))))


def _layer_states(codec: HertzCodecEncoder) -> list:
    """One state object per layer of ``res_stack``, in order (Identity layers dropped)."""
    data_conv, *blocks = codec.encoder.res_stack
    states: list = [_ConvState(data_conv)]
    for block in blocks:
        for module in block.res_block:
            if isinstance(module, CausalResUnit):
                states.append(_ResUnitState(module))
            elif isinstance(module, CausalConv1d):
                states.append(_ConvState(module))
            elif isinstance(module, nn.AvgPool1d):
                states.append(_PoolState(int(module.stride if isinstance(module.stride, int) else module.stride[0])))
            elif not isinstance(module, nn.Identity):
                raise TypeError(f"no streaming rule for {type(module).__name__}")
    return states


class StreamingHertzEncoder:
    """Push audio of any length (e.g. 125 ms / 2000-sample chunks); get back each latent once determined.

        >>> stream = StreamingHertzEncoder(codec)
        >>> for chunk in chunks:                      # (B, n) or (n,) float audio at 16 kHz
        ...     mu, logvar = stream.push(chunk)       # (B, k, 32) each; k = latents completed by this chunk
        >>> mu, logvar = stream.finish()              # the zero-padded last frame, if any

    Concatenating all outputs gives exactly ``codec.encode(audio)`` (allclose), with
    ceil(N / 2000) latents. Modules are shared with ``codec``, not copied.
    """

    def __init__(self, codec: HertzCodecEncoder):
        self.codec = codec.eval()
        self.layers = _layer_states(codec)
        self.samples = 0

    def reset(self) -> None:
        for layer in self.layers:
            layer.reset()
        self.samples = 0

    def state_size(self) -> int:
        """Numbers currently held in layer buffers (per stream); bounded by the kernel spans."""
        bufs = [layer.conv1.buf if isinstance(layer, _ResUnitState) else layer.buf for layer in self.layers]
        return sum(b[0].numel() for b in bufs if b is not None)

    @torch.inference_mode()
    def push(self, audio: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Feed (B, n) or (n,) audio; returns (mu, logvar) of the latents it completes, each (B, k, 32)."""
        x = audio[None] if audio.dim() == 1 else audio
        self.samples += x.size(-1)
        x = x[:, None, :].float() / self.codec.config.norm_stddev
        for layer in self.layers:
            if x.size(-1) == 0:  # nothing new reached this depth; deeper states stay as they are
                x = x.new_zeros(x.size(0), self.codec.config.hidden_dim, 0)
                break
            x = layer(x)
        return self.codec.compressor(x.transpose(1, 2))

    def finish(self) -> tuple[torch.Tensor, torch.Tensor]:
        """End of stream: pad the partial last frame with zeros (the offline rule) and return its latent."""
        rest = -self.samples % self.codec.hop
        if self.samples == 0 or rest == 0:
            dim = self.codec.config.latent_dim
            empty = torch.zeros(1, 0, dim)
            return empty, empty.clone()
        return self.push(torch.zeros(self.layers[0].buf.size(0), rest))
