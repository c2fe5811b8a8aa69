"""hertz-codec encoder (hertz-dev): 16 kHz audio -> 32-dim latents at 8 Hz, offline and streaming,
its official checkpoint layout, and the 15-bit FSQ latent quantizer. See docs/hertz.md.

For a caller that wants latents (e.g. a speech-LLM adapter)::

    from asrkit.encoder.hertz import build_codec
    codec = build_codec(checkpoint="inference_apatosaurus_95000.pt")   # or build_codec(seed=0): random init
    mu, lengths = codec.latents(wave, wave_lengths)                    # (B, ceil(N/2000), 32), (B,)
"""

from asrkit.encoder.hertz.checkpoint import build_codec, fold_weight_norm, load_codec_checkpoint
from asrkit.encoder.hertz.codec_encoder import HertzCodecEncoder, HertzLatents, num_latents
from asrkit.encoder.hertz.config import HertzCodecConfig, HertzQuantizerConfig
from asrkit.encoder.hertz.quantizer import LatentQuantizer, QuantizerOutput, load_quantizer_checkpoint
from asrkit.encoder.hertz.streaming import StreamingHertzEncoder

__all__ = [
    "HertzCodecConfig", "HertzQuantizerConfig", "HertzCodecEncoder", "HertzLatents", "num_latents",
    "build_codec", "load_codec_checkpoint", "fold_weight_norm", "LatentQuantizer", "QuantizerOutput",
    "load_quantizer_checkpoint", "StreamingHertzEncoder",
]
