"""A small causal Transformer LM over the acoustic model's sentencepiece units, with KV-cache scoring.

Units are the acoustic model's token ids ``0..V-1`` (``V`` = sentencepiece size), plus one extra id
``V`` that is both ``<s>`` (the first input) and ``</s>`` (the last target). Id 0 is the CTC blank: it
never occurs in text, and its logit is set to ``-inf`` before every softmax (training included), so
the model is a distribution over ``{1..V-1} ∪ {</s>}``:

    p(u_t | u_<t) = softmax(E h_t)[u_t],   h_t = LN(Block_L(...Block_1(sqrt(d) E[u_<t] + P)))

with ``E`` the (tied) input/output embedding, ``P`` learned or sinusoidal positions and pre-norm
blocks ``x + Attn(LN(x))``, ``x + FFN(LN(x))``. A sentence ``w_1..w_n`` scores
``log p(w_1..w_n </s> | <s>) = sum_t log p(w_t | <s> w_<t) + log p(</s> | <s> w_1..w_n)`` (natural log).

Saved as a folder (``save_pretrained`` / ``from_pretrained``)::

    config.json          {"model_type": "transformer_lm", "vocab_size": V, ...}
    model.safetensors    weights (the output layer is the embedding, so it is stored once)
    tokenizer.model      the sentencepiece model whose ids are the units

Beam-search state (:class:`TransformerLMState`) holds per-hypothesis key/value caches for every layer.
Hypotheses of a CTC prefix search can have different lengths, so caches are *left-padded*: row ``b``
holds its ``length[b]`` real columns at the right end, a boolean ``mask`` hides the padding, and each
row carries its own position counter. ``advance`` gathers the parents' rows and runs one step for all of
them at once; :meth:`TransformerLM.concat_states` and :meth:`TransformerLM.select_states` let a search
assemble a beam from states of different steps (rows of different lengths).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from safetensors.torch import save_file
from torch import nn

from asrkit.errors import UserError
from asrkit.text import normalize_text
from asrkit.tokenizer import Tokenizer
from asrkit.utils.config_io import from_dict, read_json_object, require_positive
from asrkit.utils.safe_load import load_safetensors

MODEL_TYPE = "transformer_lm"
BLANK_ID = 0
POSITIONS = ("learned", "sinusoidal")


@dataclass
class TransformerLMConfig:
    """Model shape. ``vocab_size`` is the sentencepiece size ``V``; the model has ``V + 1`` outputs."""

    vocab_size: int
    d_model: int = 256
    n_heads: int = 4
    n_layers: int = 4
    d_ff: int = 1024
    dropout: float = 0.1
    max_len: int = 256  # longest training input (<s> + units); size of the learned position table
    positions: str = "sinusoidal"  # "sinusoidal" (no length limit) or "learned"
    model_type: str = MODEL_TYPE

    def __post_init__(self) -> None:
        if self.positions not in POSITIONS:
            raise UserError(f"transformer_lm: positions must be one of {POSITIONS}, not {self.positions!r}")
        require_positive(self, "vocab_size", "d_model", "n_heads", "n_layers", "d_ff", "max_len")
        if self.d_model % self.n_heads:
            raise UserError(f"transformer_lm: d_model {self.d_model} is not divisible by n_heads {self.n_heads}")
        if self.vocab_size < 2:
            raise UserError(f"transformer_lm: vocab_size {self.vocab_size} is too small")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict, where: str = "transformer_lm config") -> TransformerLMConfig:
        """Unknown keys and wrong types are refused, naming ``where`` and the key (asrkit/utils/config_io.py)."""
        if isinstance(d, dict) and d.get("model_type", MODEL_TYPE) != MODEL_TYPE:
            raise UserError(f"{where}: model_type {d.get('model_type')!r} is not {MODEL_TYPE!r}")
        return from_dict(cls, d, where)


def sinusoidal_positions(positions: torch.Tensor, dim: int) -> torch.Tensor:
    """``P[p, 2i] = sin(p / 10000^(2i/d))``, ``P[p, 2i+1] = cos(...)``: integer positions (...) -> (..., d)."""
    half = torch.arange(0, dim, 2, device=positions.device, dtype=torch.float32)
    inv_freq = torch.exp(-math.log(10000.0) * half / dim)
    angles = positions.float().unsqueeze(-1) * inv_freq
    out = torch.zeros(*positions.shape, dim, device=positions.device)
    out[..., 0::2] = torch.sin(angles)
    out[..., 1::2] = torch.cos(angles[..., : dim // 2])
    return out


class _Attention(nn.Module):
    def __init__(self, cfg: TransformerLMConfig):
        super().__init__()
        self.n_heads = cfg.n_heads
        self.qkv = nn.Linear(cfg.d_model, 3 * cfg.d_model)
        self.out = nn.Linear(cfg.d_model, cfg.d_model)
        self.dropout = cfg.dropout

    def forward(
        self, x: torch.Tensor, mask: torch.Tensor, past: tuple[torch.Tensor, torch.Tensor] | None
    ) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        b, t, d = x.shape
        q, k, v = self.qkv(x).view(b, t, 3, self.n_heads, d // self.n_heads).permute(2, 0, 3, 1, 4)
        if past is not None:
            k = torch.cat([past[0].to(k.dtype), k], dim=2)
            v = torch.cat([past[1].to(v.dtype), v], dim=2)
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=self.dropout if self.training else 0.0)
        return self.out(y.transpose(1, 2).reshape(b, t, d)), (k, v)


class _Block(nn.Module):
    def __init__(self, cfg: TransformerLMConfig):
        super().__init__()
        self.norm1 = nn.LayerNorm(cfg.d_model)
        self.attn = _Attention(cfg)
        self.norm2 = nn.LayerNorm(cfg.d_model)
        self.ffn = nn.Sequential(nn.Linear(cfg.d_model, cfg.d_ff), nn.GELU(), nn.Dropout(cfg.dropout),
                                 nn.Linear(cfg.d_ff, cfg.d_model))
        self.drop = nn.Dropout(cfg.dropout)

    def forward(self, x, mask, past):
        a, kv = self.attn(self.norm1(x), mask, past)
        x = x + self.drop(a)
        return x + self.drop(self.ffn(self.norm2(x))), kv


@dataclass
class TransformerLMState:
    """Batched beam state: row ``b`` is one hypothesis (see the module docstring for the layout)."""

    keys: list[torch.Tensor]  # per layer (B, H, S, D/H), left-padded
    values: list[torch.Tensor]
    mask: torch.Tensor  # (B, S) bool, True on real columns (the right-most length[b] ones)
    length: torch.Tensor  # (B,) long: inputs consumed including <s> = position of the next input
    logp: torch.Tensor  # (B, V + 1) float32 log p(next unit | prefix); column V is </s>

    def __len__(self) -> int:
        return self.mask.shape[0]


class TransformerLM(nn.Module):
    """Causal Transformer LM implementing :class:`lm.interface.LanguageModel` (``unit == "token"``)."""

    unit = "token"

    def __init__(self, config: TransformerLMConfig, tokenizer: Tokenizer | None = None):
        super().__init__()
        self.config = config
        self.tokenizer = tokenizer
        if tokenizer is not None and tokenizer.vocab_size != config.vocab_size:
            raise UserError(f"{tokenizer.path}: tokenizer has {tokenizer.vocab_size} units but the LM has "
                            f"{config.vocab_size}")
        d = config.d_model
        self.embed = nn.Embedding(config.vocab_size + 1, d)
        # Unit-variance inputs after the sqrt(d) scale, and unit-scale logits through the tied output.
        nn.init.normal_(self.embed.weight, std=d**-0.5)
        self.pos_embed = nn.Embedding(config.max_len, d) if config.positions == "learned" else None
        if self.pos_embed is not None:
            nn.init.normal_(self.pos_embed.weight, std=0.02)
        self.drop = nn.Dropout(config.dropout)
        self.blocks = nn.ModuleList(_Block(config) for _ in range(config.n_layers))
        self.norm = nn.LayerNorm(d)
        blank = torch.zeros(config.vocab_size + 1, dtype=torch.bool)
        blank[BLANK_ID] = True
        self.register_buffer("_blank", blank, persistent=False)
        self._vocab: list[str] | None = None

    # ---- ids ------------------------------------------------------------------------------
    @property
    def eos_id(self) -> int:
        """The id used for both ``<s>`` and ``</s>``: one past the sentencepiece vocabulary."""
        return self.config.vocab_size

    @property
    def device(self) -> torch.device:
        return self.embed.weight.device

    @property
    def vocab(self) -> list[str]:
        """Unit strings by id (the sentencepiece pieces; ``score`` columns). ``</s>`` is id ``len(vocab)``."""
        if self._vocab is None:
            if self.tokenizer is not None:
                self._vocab = self.tokenizer.pieces()
            else:
                self._vocab = [f"<{i}>" for i in range(self.config.vocab_size)]
        return self._vocab

    @property
    def unk_ids(self) -> set[int]:
        """Ids that stand for unknown text (sentencepiece ``<unk>``), for OOV rates."""
        return {self.tokenizer.sp.unk_id()} if self.tokenizer is not None else {1}

    def encode_text(self, text: str) -> list[int]:
        """Text -> sentencepiece ids (``normalize_text`` first; it is idempotent). Unknowns map to ``<unk>`` (1)."""
        if self.tokenizer is None:
            raise UserError("this transformer LM has no tokenizer")
        return self.tokenizer.encode(normalize_text(text))

    # ---- network --------------------------------------------------------------------------
    def forward(
        self,
        ids: torch.Tensor,
        positions: torch.Tensor | None = None,
        mask: torch.Tensor | None = None,
        past: Sequence[tuple[torch.Tensor, torch.Tensor]] | None = None,
    ) -> tuple[torch.Tensor, list[tuple[torch.Tensor, torch.Tensor]]]:
        """Logits (B, T, V+1) in float32 (blank at ``-inf``) and each layer's keys/values (past + new).

        ``ids`` (B, T) are inputs (``<s>`` = ``V``); ``positions`` (B, T) default to ``0..T-1``;
        ``mask`` (B, 1, T, S) bool, True = may attend, defaults to causal over ``T`` (no ``past``).
        """
        b, t = ids.shape
        if positions is None:
            positions = torch.arange(t, device=ids.device).expand(b, t)
        if mask is None:
            mask = torch.ones(t, t, dtype=torch.bool, device=ids.device).tril()[None, None]
        x = self.embed(ids) * math.sqrt(self.config.d_model)
        if self.pos_embed is not None:
            # Past the table, the last learned position is reused (an approximation; prefer sinusoidal).
            x = x + self.pos_embed(positions.clamp(max=self.config.max_len - 1))
        else:
            x = x + sinusoidal_positions(positions, self.config.d_model).to(x.dtype)
        x = self.drop(x)
        caches = []
        for i, block in enumerate(self.blocks):
            x, kv = block(x, mask, past[i] if past is not None else None)
            caches.append(kv)
        logits = F.linear(self.norm(x), self.embed.weight).float()
        # The blank is not a unit of text: no probability mass for it, in training and scoring alike.
        return logits.masked_fill(self._blank, float("-inf")), caches

    # ---- LanguageModel protocol -------------------------------------------------------------
    def _step(self, state: TransformerLMState, units: torch.Tensor) -> TransformerLMState:
        """Feed ``units`` (B,) to rows already gathered in ``state``; one query per row over its own cache."""
        b = len(state)
        mask = torch.cat([state.mask, torch.ones(b, 1, dtype=torch.bool, device=self.device)], dim=1)
        logits, caches = self(units.view(b, 1), state.length.view(b, 1), mask[:, None, None, :],
                              list(zip(state.keys, state.values)))
        return TransformerLMState(
            keys=[k for k, _ in caches], values=[v for _, v in caches], mask=mask, length=state.length + 1,
            logp=torch.log_softmax(logits[:, 0], dim=-1),
        )

    @torch.inference_mode()
    def init_state(self, batch: int) -> TransformerLMState:
        """States of ``batch`` empty prefixes: ``<s>`` consumed, ``logp`` = p(first unit | <s>)."""
        cfg, dev = self.config, self.device
        empty = torch.zeros(1, cfg.n_heads, 0, cfg.d_model // cfg.n_heads, device=dev)
        start = TransformerLMState(
            keys=[empty] * cfg.n_layers, values=[empty] * cfg.n_layers,
            mask=torch.zeros(1, 0, dtype=torch.bool, device=dev), length=torch.zeros(1, dtype=torch.long, device=dev),
            logp=torch.zeros(1, cfg.vocab_size + 1, device=dev),
        )
        one = self._step(start, torch.tensor([self.eos_id], device=dev))
        return self.select_states(one, torch.zeros(batch, dtype=torch.long, device=dev))

    def score(self, state: TransformerLMState, candidates: torch.Tensor | None = None) -> torch.Tensor:
        """``log p(u | prefix_b)``: (B, V) over all units (blank = ``-inf``), or (B, K) for ``candidates``
        (B, K) per row or (K,) shared. The row does not sum to 1: the rest is ``final_score``'s ``</s>``."""
        if candidates is None:
            return state.logp[:, : self.config.vocab_size]
        candidates = candidates.to(state.logp.device).long()
        if candidates.dim() == 1:
            return state.logp[:, candidates]
        return state.logp.gather(1, candidates)

    @torch.inference_mode()
    def advance(self, state: TransformerLMState, parents: torch.Tensor, units: torch.Tensor) -> TransformerLMState:
        """New rows ``i`` = row ``parents[i]`` of ``state`` extended by ``units[i]`` (one batched step).
        ``state`` is not modified, so a search may advance it several times."""
        rows = self.select_states(state, parents)
        return self._step(rows, units.to(self.device).long().view(-1))

    def final_score(self, state: TransformerLMState) -> torch.Tensor:
        """``log p(</s> | prefix_b)``, shape (B,)."""
        return state.logp[:, self.eos_id]

    @torch.inference_mode()
    def score_sentences(self, sentences: Sequence[Sequence[int]], batch_size: int = 64) -> torch.Tensor:
        """``log p(w_1..w_n </s> | <s>)`` per sentence of unit ids, float32 (N,), one full forward per batch."""
        out = torch.zeros(len(sentences))
        for start in range(0, len(sentences), batch_size):
            chunk = sentences[start : start + batch_size]
            inputs, targets = sentence_batch(chunk, self.eos_id)
            logits, _ = self(inputs.to(self.device))
            logp = torch.log_softmax(logits, dim=-1)
            valid = targets >= 0
            # Padding targets point at the blank (-inf): select, never multiply, or -inf * 0 = nan.
            tok = logp.gather(2, targets.clamp(min=0).to(self.device).unsqueeze(-1)).squeeze(-1).cpu()
            out[start : start + len(chunk)] = torch.where(valid, tok, 0.0).sum(1)
        return out

    # ---- ragged beams ------------------------------------------------------------------------
    @torch.inference_mode()
    def select_states(self, state: TransformerLMState, rows: torch.Tensor) -> TransformerLMState:
        """Rows ``rows`` of ``state`` (no step), with padding columns no row needs trimmed away."""
        rows = rows.to(self.device).long().view(-1)
        length = state.length.index_select(0, rows)
        # Real columns sit at the right end, so the left ``S - max(length)`` columns are padding for all.
        trim = state.mask.shape[1] - int(length.max()) if len(rows) else 0
        return TransformerLMState(
            keys=[k.index_select(0, rows)[:, :, trim:] for k in state.keys],
            values=[v.index_select(0, rows)[:, :, trim:] for v in state.values],
            mask=state.mask.index_select(0, rows)[:, trim:], length=length, logp=state.logp.index_select(0, rows),
        )

    @torch.inference_mode()
    def concat_states(self, states: Sequence[TransformerLMState]) -> TransformerLMState:
        """One batch from several (rows in order), left-padding shorter caches: rows may differ in length."""
        width = max(s.mask.shape[1] for s in states)

        def pad(x: torch.Tensor, s: TransformerLMState) -> torch.Tensor:
            return F.pad(x, (0, 0, width - s.mask.shape[1], 0))  # zeros on the left of the time axis (dim 2)

        n_layers = len(states[0].keys)
        return TransformerLMState(
            keys=[torch.cat([pad(s.keys[i], s) for s in states]) for i in range(n_layers)],
            values=[torch.cat([pad(s.values[i], s) for s in states]) for i in range(n_layers)],
            mask=torch.cat([F.pad(s.mask, (width - s.mask.shape[1], 0), value=False) for s in states]),
            length=torch.cat([s.length for s in states]), logp=torch.cat([s.logp for s in states]),
        )

    # ---- save_pretrained / from_pretrained ----------------------------------------------------
    def save_pretrained(self, folder: str | Path, dtype: torch.dtype = torch.float32) -> None:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "config.json").write_text(json.dumps(self.config.to_dict(), indent=2) + "\n")
        state = {k: v.detach().to(dtype).contiguous().cpu() for k, v in self.state_dict().items()}
        save_file(state, str(folder / "model.safetensors"), metadata={"format": "pt"})
        if self.tokenizer is not None:
            (folder / "tokenizer.model").write_bytes(Path(self.tokenizer.path).read_bytes())

    @classmethod
    def from_pretrained(cls, folder: str | Path, device: str | torch.device = "cpu") -> TransformerLM:
        folder = Path(folder)
        for name in ("config.json", "model.safetensors", "tokenizer.model"):
            if not (folder / name).exists():
                raise UserError(f"{folder}: not a transformer LM folder (missing {name})")
        cfg_path = folder / "config.json"
        config = TransformerLMConfig.from_dict(read_json_object(cfg_path, "LM config"), str(cfg_path))
        model = cls(config, Tokenizer(folder / "tokenizer.model"))
        weights = load_safetensors(folder / "model.safetensors")
        try:
            model.load_state_dict({k: v.float() for k, v in weights.items()})
        except RuntimeError as err:
            first = str(err).strip().splitlines()[0]
            raise UserError(f"{folder / 'model.safetensors'}: does not match config.json ({first})") from None
        return model.to(device).eval()


def sentence_batch(sentences: Sequence[Sequence[int]], eos_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-padded teacher-forcing batch: inputs ``<s> w_1..w_n`` and targets ``w_1..w_n </s>`` (pad -1).

    Padding inputs are ``eos_id`` (harmless: causal attention never lets a real position see them)."""
    t = max(len(s) for s in sentences) + 1
    inputs = torch.full((len(sentences), t), eos_id, dtype=torch.long)
    targets = torch.full((len(sentences), t), -1, dtype=torch.long)
    for i, s in enumerate(sentences):
        s = torch.as_tensor(list(s), dtype=torch.long)
        inputs[i, 1 : len(s) + 1] = s
        targets[i, : len(s)] = s
        targets[i, len(s)] = eos_id
    return inputs, targets
