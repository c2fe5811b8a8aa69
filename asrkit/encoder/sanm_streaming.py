"""Chunk-by-chunk SANM encoding with per-layer caches: the streaming twin of a chunk-wise
:class:`asrkit.encoder.sanm.SANMEncoder` (``SANMConfig.chunk_size``).

With chunk attention (WeNet's, Zhang et al., 2021, arXiv 2012.05481) the outputs of a chunk depend only on
that chunk and earlier ones, so each chunk is encoded once: every layer keeps the attention keys/values of
its last ``left_chunks`` chunks and the last FSMN-left-padding frames of its values, and a new chunk's
queries attend to [cached keys; own keys] (Transformer-XL-style caching, Dai et al., 2019). The FSMN
memory of the chunk reads the cached values on its left and zeros past the chunk's end, which is what
the offline chunk-wise encoder computes. Positions continue across chunks (the sinusoid's offset), so the
concatenated outputs equal the offline encoder's on the whole input up to float rounding (tested).
Memory per stream is bounded: layers x (2 x left_chunks x chunk_size + FSMN left padding) x dim numbers.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from asrkit.encoder.sanm import EncoderLayerSANM, SANMEncoder, sinusoidal_position_encoding


class _LayerCache:
    __slots__ = ("k", "v", "fsmn")

    def __init__(self, k: torch.Tensor, v: torch.Tensor, fsmn: torch.Tensor):
        self.k, self.v, self.fsmn = k, v, fsmn  # (n, D) keys, values; (left_pad, D) FSMN inputs


class StreamingSANMEncoder:
    """One stream's encoder state. ``encode(feats)`` takes exactly ``chunk_size`` frames (the last call
    may take fewer) and returns their outputs (n, output_size)."""

    def __init__(self, encoder: SANMEncoder):
        cfg = encoder.config
        if cfg.chunk_size is None:
            raise ValueError("a streaming SANM encoder needs a chunk-wise encoder (SANMConfig.chunk_size)")
        self.encoder = encoder
        self.chunk_size = cfg.chunk_size
        keep = None if cfg.left_chunks is None else cfg.left_chunks * cfg.chunk_size
        self.keep = keep
        self.offset = 0  # frames encoded so far
        self.closed = False
        dev = next(encoder.parameters()).device
        self.pending = torch.zeros(0, cfg.input_size, device=dev)  # frames of a chunk not yet complete
        self.caches: list[_LayerCache] = []
        for layer in [*encoder.encoders0, *encoder.encoders]:
            d = layer.size
            left = layer.self_attn.pad[0]
            self.caches.append(_LayerCache(torch.zeros(0, d, device=dev), torch.zeros(0, d, device=dev),
                                           torch.zeros(left, d, device=dev)))

    @torch.no_grad()
    def push(self, feats: torch.Tensor) -> torch.Tensor:
        """Any number of frames in; the outputs of every chunk they complete out."""
        self.pending = torch.cat([self.pending, feats])
        outs = []
        while self.pending.size(0) >= self.chunk_size:
            outs.append(self.encode(self.pending[: self.chunk_size]))
            self.pending = self.pending[self.chunk_size:]
        return torch.cat(outs) if outs else feats.new_zeros(0, self.encoder.output_size)

    @torch.no_grad()
    def finish(self) -> torch.Tensor:
        """End of input: the short last chunk."""
        pending = self.pending
        if pending.size(0) == 0:
            self.closed = True
            return torch.zeros(0, self.encoder.output_size)
        self.pending = pending[:0]
        return self.encode(pending)

    @torch.no_grad()
    def encode(self, feats: torch.Tensor) -> torch.Tensor:
        """feats: (n, input_size) normalised LFR frames, n == chunk_size except on the last call."""
        n = feats.size(0)
        if self.closed:
            raise RuntimeError("the stream's last (short) chunk was already encoded")
        if n > self.chunk_size:
            raise ValueError(f"{n} frames > chunk_size {self.chunk_size}")
        if n < self.chunk_size:
            self.closed = True  # a short chunk ends the input: later frames would sit in the same chunk
        if n == 0:
            return feats.new_zeros(0, self.encoder.output_size)
        enc = self.encoder
        x = feats * enc.config.output_size**0.5
        x = x + sinusoidal_position_encoding(n, feats.size(1), feats.device, self.offset).to(x.dtype)
        for layer, cache in zip([*enc.encoders0, *enc.encoders], self.caches):
            x = self._layer(layer, cache, x)
        self.offset += n
        return enc.after_norm(x)

    def _layer(self, layer: EncoderLayerSANM, cache: _LayerCache, x: torch.Tensor) -> torch.Tensor:
        """EncoderLayerSANM.forward (eval mode) on one chunk, reading and updating the layer's cache."""
        att_mod = layer.self_attn
        n = x.size(0)
        q, k, v = att_mod.linear_q_k_v(layer.norm1(x)).chunk(3, dim=-1)
        # FSMN: [cached values on the left; this chunk; zeros on the right (nothing past the chunk)].
        fs_in = torch.cat([cache.fsmn, v], dim=0).t()[None]  # (1, D, left + n)
        fs_in = F.pad(fs_in, (0, att_mod.pad[1]))
        memory = att_mod.fsmn_block(fs_in)[0].t() + v
        keys, values = torch.cat([cache.k, k], dim=0), torch.cat([cache.v, v], dim=0)
        h, dk = att_mod.h, att_mod.d_k
        qh = q.reshape(n, h, dk).transpose(0, 1)
        kh = keys.reshape(-1, h, dk).transpose(0, 1)
        vh = values.reshape(-1, h, dk).transpose(0, 1)
        att = F.scaled_dot_product_attention(qh, kh, vh).transpose(0, 1).reshape(n, h * dk)
        a = att_mod.linear_out(att) + memory
        x = x + a if layer.in_size == layer.size else a
        x = x + layer.feed_forward(layer.norm2(x))
        left = att_mod.pad[0]
        cache.fsmn = torch.cat([cache.fsmn, v], dim=0)[-left:] if left else cache.fsmn
        if self.keep is None:
            cache.k, cache.v = keys, values
        else:
            start = max(0, keys.size(0) - self.keep)
            cache.k, cache.v = keys[start:], values[start:]
        return x


class WindowedSANMEncoder:
    """Streaming for a full-context SANM model (not trained chunk-wise): every chunk of ``chunk_size`` frames
    is encoded by re-running the encoder on a bounded window, ``left`` frames of past context + the chunk +
    ``right`` frames of lookahead, with positions continuing from the window's start; the chunk's outputs
    are kept. The model sees full attention inside the window, as in training, so accuracy stays near the
    offline model's (bounded context instead of the whole utterance), at (left + chunk + right) / chunk times
    the offline compute. Outputs of a chunk come once its ``right`` lookahead frames have arrived.
    With a window covering the whole input it equals the offline encoder."""

    def __init__(self, encoder: SANMEncoder, chunk_size: int, left: int, right: int):
        if chunk_size < 1 or left < 0 or right < 0:
            raise ValueError("chunk_size >= 1, left >= 0, right >= 0 expected")
        self.encoder, self.chunk_size, self.left, self.right = encoder, chunk_size, left, right
        self.buf = torch.zeros(0, encoder.config.input_size)  # input frames from index self.base on
        self.base = 0
        self.next = 0  # first frame whose output is not yet out
        self.total = 0

    @torch.no_grad()
    def push(self, feats: torch.Tensor) -> torch.Tensor:
        self.buf = torch.cat([self.buf, feats])
        self.total += feats.size(0)
        outs = []
        while self.total - self.next >= self.chunk_size + self.right:
            outs.append(self._chunk(self.next + self.chunk_size))
        return torch.cat(outs) if outs else feats.new_zeros(0, self.encoder.output_size)

    @torch.no_grad()
    def finish(self) -> torch.Tensor:
        outs = []
        while self.next < self.total:
            outs.append(self._chunk(min(self.total, self.next + self.chunk_size)))
        return torch.cat(outs) if outs else torch.zeros(0, self.encoder.output_size)

    def _chunk(self, end: int) -> torch.Tensor:
        start = max(0, self.next - self.left)
        stop = min(self.total, end + self.right)
        window = self.buf[start - self.base: stop - self.base]
        out, _ = self.encoder(window[None], torch.tensor([window.size(0)]), offset=start)
        y = out[0, self.next - start: end - start]
        self.next = end
        drop = max(0, self.next - self.left) - self.base  # input frames no later window reads
        if drop > 0:
            self.buf, self.base = self.buf[drop:], self.base + drop
        return y
