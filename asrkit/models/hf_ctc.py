"""A Hugging Face CTC model folder (``AutoModelForCTC`` + its processor/tokenizer), decoded by asrkit's engine.

``asrkit decode -m DIR`` takes any folder saved with ``save_pretrained`` whose ``config.json`` names a
``*ForCTC`` architecture (wav2vec2, HuBERT, WavLM, Data2Vec audio, MMS ...), offline: nothing is downloaded.
The units come from the folder's CTC tokenizer (``vocab.json``; blank = its pad token, word delimiter ``|``)
as a :class:`decoders.vocabulary.Vocabulary`, so every decoding method, word LMs and hotwords apply.
:class:`HFCTCModel` offers the calls decoding makes on a :class:`~asrkit.models.ctc.CTCModel`:
``frontend(wave)`` (the folder's feature extractor: normalised waveform), ``model(inputs, lengths)`` ->
CTC log-probabilities and frame counts, ``tokenizer``, ``config.frontend.frame_shift_s``.
"""

from __future__ import annotations

import math
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import torch

from asrkit.errors import UserError
from decoders.vocabulary import Vocabulary


def is_hf_ctc_folder(cfg: dict) -> bool:
    return any(str(a).endswith("ForCTC") for a in cfg.get("architectures") or [])


class HFCTCModel(torch.nn.Module):
    def __init__(self, folder: str | Path):
        super().__init__()
        from transformers import AutoFeatureExtractor, AutoModelForCTC, AutoTokenizer

        folder = Path(folder)
        try:
            self.net = AutoModelForCTC.from_pretrained(folder, local_files_only=True).eval()
            self.extractor = AutoFeatureExtractor.from_pretrained(folder, local_files_only=True)
            hf_tok = AutoTokenizer.from_pretrained(folder, local_files_only=True)
        except (OSError, ValueError) as err:
            first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            raise UserError(f"{folder}: cannot load a Hugging Face CTC model ({first})") from None
        table = hf_tok.get_vocab()
        pieces = [""] * len(table)
        for piece, i in table.items():
            if 0 <= i < len(pieces):
                pieces[i] = piece
        out = self.net.config.vocab_size
        if len(pieces) < out:  # a padded output layer: units no text uses
            pieces += [f"<extra_{i}>" for i in range(len(pieces), out)]
        delim = getattr(hf_tok, "word_delimiter_token", None)
        blank = hf_tok.pad_token_id if hf_tok.pad_token_id is not None else self.net.config.pad_token_id
        self.tokenizer = Vocabulary(pieces[:out], blank_id=int(blank or 0), unk_id=hf_tok.unk_token_id,
                                    word_delimiter_id=table.get(delim) if delim in table else None)
        stride = math.prod(getattr(self.net.config, "conv_stride", [320]))
        self.sample_rate = int(getattr(self.extractor, "sampling_rate", 16000))
        self.config = SimpleNamespace(frontend=SimpleNamespace(frame_shift_s=stride / self.sample_rate))
        self._mask = bool(getattr(self.extractor, "return_attention_mask", False))

    def frontend(self, wave: np.ndarray) -> torch.Tensor:
        """The waveform as the model's feature extractor prepares it (e.g. zero mean, unit variance)."""
        x = self.extractor(np.asarray(wave, dtype=np.float32), sampling_rate=self.sample_rate, return_tensors="pt")
        return x.input_values[0].float()

    @torch.inference_mode()
    def forward(self, inputs: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mask = (torch.arange(inputs.shape[1])[None] < lengths[:, None]).long() if self._mask else None
        logits = self.net(inputs, attention_mask=mask).logits.float()
        out_lens = self.net._get_feat_extract_output_lengths(lengths).long().clamp(max=logits.shape[1])
        return torch.log_softmax(logits, dim=-1), out_lens
