"""Acoustic front end: audio I/O, Kaldi fbank, LFR stacking and CMVN."""

from asrkit.frontend.audio import SAMPLE_RATE, load_audio, resample
from asrkit.frontend.cmvn import GlobalCMVN
from asrkit.frontend.fbank import FbankConfig, fbank
from asrkit.frontend.frontend import Frontend, FrontendConfig
from asrkit.frontend.lfr import apply_lfr, lfr_length

__all__ = [
    "SAMPLE_RATE", "load_audio", "resample", "GlobalCMVN", "FbankConfig", "fbank",
    "Frontend", "FrontendConfig", "apply_lfr", "lfr_length",
]
