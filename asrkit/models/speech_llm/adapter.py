"""MooER's LinearAdapter (``encoder_projector``, github.com/MooreThreads/MooER; SLAM-LLM's "linear" projector).

With downsample rate k, encoder frames ``e_1..e_T`` (T mod k trailing frames dropped) become
``T // k`` LLM embeddings ``y_j = W_2 ReLU(W_1 [e_{kj}; ...; e_{kj+k-1}] + b_1) + b_2``: k consecutive
frames concatenated frame-major, no norm, no dropout. For the Paraformer encoder (60 ms frames) k = 2
gives one embedding per 120 ms. Parameter names ``linear1``/``linear2`` match MooER's
``adapter_project.pt`` keys (``encoder_projector.linear{1,2}.{weight,bias}``).
"""

from __future__ import annotations

import torch
from torch import nn

from asrkit.models.speech_llm.config import AdapterConfig


class LinearAdapter(nn.Module):
    def __init__(self, config: AdapterConfig):
        super().__init__()
        self.k = config.downsample_rate
        self.linear1 = nn.Linear(config.encoder_dim * self.k, config.hidden_dim)
        self.relu = nn.ReLU()
        self.linear2 = nn.Linear(config.hidden_dim, config.llm_dim)

    def output_lengths(self, lengths: torch.Tensor) -> torch.Tensor:
        """``T // k`` per utterance: the number of audio placeholders."""
        return torch.div(lengths, self.k, rounding_mode="floor")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, T, E) -> (B, T // k, llm_dim). Rows j < len_b // k use only valid frames of utterance b."""
        b, t, e = x.shape
        t = t - t % self.k
        x = x[:, :t].reshape(b, t // self.k, e * self.k)
        return self.linear2(self.relu(self.linear1(x)))
