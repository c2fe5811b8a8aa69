"""Which online CTC prefix search a stream gets: the compiled one (decoders/ctc_prefix_beam_online_native.py)
when the core is built and ``ASRKIT_NATIVE`` is not 0, else the Python reference
(decoders/ctc_prefix_beam_online.py). Both return the same n-best for the same frames in any chunking."""

from __future__ import annotations

from decoders.ctc_prefix_beam import _native_search
from decoders.ctc_prefix_beam_online import CTCPrefixBeamOnline


def new_online_search(beam: int = 8, scorers: list | None = None, **options):
    """A fresh online search for one utterance (options as :class:`CTCPrefixBeamOnline`'s)."""
    if _native_search() is not None:
        from decoders.ctc_prefix_beam_online_native import CTCPrefixBeamOnlineNative

        return CTCPrefixBeamOnlineNative(beam, scorers, **options)
    return CTCPrefixBeamOnline(beam, scorers, **options)
