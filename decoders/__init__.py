"""Decoding methods. Each module holds one method; see docs/decoding.md."""

from decoders.ctc_greedy import ctc_greedy_search

__all__ = ["ctc_greedy_search"]
