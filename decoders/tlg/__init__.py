"""TLG WFST decoding of CTC models: T (CTC topology) ∘ L (BPE lexicon) ∘ G (word n-gram), searched with
kaldi-decoder. Build a graph with :func:`build_tlg` (``asrkit lm tlg``), decode with :class:`TLGDecoder`;
see docs/tlg.md."""

from decoders.tlg.build import build_tlg
from decoders.tlg.decode import TLGDecoder, TLGResult

__all__ = ["TLGDecoder", "TLGResult", "build_tlg"]
