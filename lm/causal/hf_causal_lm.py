"""Any local Hugging Face causal LM (Qwen2, Llama, GPT-2, ...) as an asrkit :class:`~lm.interface.LanguageModel`.

Loaded offline from a folder (``AutoModelForCausalLM.from_pretrained(folder, local_files_only=True)``).
The units are the LM's *own* tokens (``unit == "token"``; ``vocab`` lists them by id). They are the
acoustic model's units only when both use the same tokenizer; otherwise token-level shallow fusion is
impossible and decoders fuse this LM at word or sentence level (n-best / lattice rescoring with
:meth:`HFCausalLM.score_sentences` on ``encode_text`` of the hypothesis text).

Tokenizer: ``AutoTokenizer.from_pretrained(folder, local_files_only=True)`` when the folder has a
Hugging Face tokenizer (``tokenizer.json``, ``tokenizer_config.json`` or ``vocab.json``); otherwise,
or if that fails, a sentencepiece ``tokenizer.model`` read with ``sentencepiece`` itself (transformers'
conversion of a bare ``tokenizer.model`` tokenizes differently from sentencepiece). A sentencepiece
piece ``<blk>`` at id 0 (an asrkit CTC tokenizer) is treated as the CTC blank and gets no probability.

Sentence boundaries: the start symbol is the tokenizer's BOS, else ``config.bos_token_id``, else the
EOS token (GPT-2/Qwen-style models are trained on documents separated by EOS, so conditioning on EOS is
the closest thing to "start of text"). The end symbol is the tokenizer's EOS, else ``config.eos_token_id``.
So ``score_sentences`` gives ``log p(w_1..w_n </s> | <s>) = sum_t log softmax(z_t)[w_t] + log softmax(z_n)[eos]``
with ``z_t`` the logits after ``<s> w_1..w_t`` (natural log).

Incremental scoring uses the model's KV cache (``DynamicCache``). Rows of a beam may have different
lengths: caches are left-padded, the padding is hidden with ``attention_mask`` and each row passes its own
``position_ids``, so rotary/learned positions are those of the unpadded sequence. This assumes full
attention layers (sliding-window layers would see the padding columns counted in their window).
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

from asrkit.errors import UserError
from asrkit.text import normalize_text
from asrkit.utils.dtypes import as_dtype

WEIGHT_FILES = ("model.safetensors", "model.safetensors.index.json", "pytorch_model.bin",
                "pytorch_model.bin.index.json")
HF_TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "vocab.json")


def _first(x: int | list[int] | None) -> int | None:
    # Generation configs may list several EOS ids; the first is the model's own end of text.
    if isinstance(x, (list, tuple)):
        return int(x[0]) if x else None
    return None if x is None else int(x)


class _HFTokenizer:
    def __init__(self, tok):
        self.tok = tok
        self.bos_id, self.eos_id, self.unk_id = tok.bos_token_id, tok.eos_token_id, tok.unk_token_id
        self.blank_id = None

    def encode(self, text: str) -> list[int]:
        return list(self.tok.encode(text, add_special_tokens=False))

    def pieces(self) -> list[str]:
        return [str(p) for p in self.tok.convert_ids_to_tokens(list(range(len(self.tok))))]


class _SPTokenizer:
    def __init__(self, path: Path):
        import sentencepiece as spm

        try:
            self.sp = spm.SentencePieceProcessor(model_file=str(path))
        except Exception:
            raise UserError(f"{path}: not a sentencepiece model") from None
        ids = (self.sp.bos_id(), self.sp.eos_id(), self.sp.unk_id())
        self.bos_id, self.eos_id, self.unk_id = (i if i >= 0 else None for i in ids)
        self.blank_id = 0 if self.sp.id_to_piece(0) == "<blk>" else None

    def encode(self, text: str) -> list[int]:
        return self.sp.encode(text)

    def pieces(self) -> list[str]:
        return [self.sp.id_to_piece(i) for i in range(self.sp.get_piece_size())]


def _generic_tokenizer_class(folder: Path) -> bool:
    try:
        cls = json.loads((folder / "tokenizer_config.json").read_text()).get("tokenizer_class")
    except (OSError, ValueError, AttributeError):
        return False
    return cls in ("TokenizersBackend", "PreTrainedTokenizerFast")


def _load_tokenizer(folder: Path):
    if any((folder / f).exists() for f in HF_TOKENIZER_FILES):
        from transformers import AutoTokenizer, PreTrainedTokenizerFast

        try:
            if (folder / "tokenizer.json").exists() and _generic_tokenizer_class(folder):
                # transformers 5.x AutoTokenizer replaces a generic class by the model type's own
                # tokenizer (e.g. Qwen2Tokenizer) rebuilt from the vocab, which can tokenize differently
                # from tokenizer.json; load tokenizer.json as saved.
                tok = PreTrainedTokenizerFast.from_pretrained(str(folder), local_files_only=True)
            else:
                tok = AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
            return _HFTokenizer(tok)
        except Exception as err:  # tokenizer back ends raise many error types; fall back or report in one line
            if not (folder / "tokenizer.model").exists():
                raise UserError(f"{folder}: cannot load the tokenizer ({type(err).__name__}: "
                                f"{str(err).splitlines()[0] if str(err) else ''})") from None
    if (folder / "tokenizer.model").exists():
        return _SPTokenizer(folder / "tokenizer.model")
    raise UserError(f"{folder}: no tokenizer (tokenizer.json, tokenizer_config.json or tokenizer.model)")


def _cache_tensors(cache) -> list[tuple[torch.Tensor, torch.Tensor]]:
    if hasattr(cache, "layers"):  # transformers >= 4.56
        return [(layer.keys, layer.values) for layer in cache.layers]
    return list(zip(cache.key_cache, cache.value_cache))


def _make_cache(kv: Sequence[tuple[torch.Tensor, torch.Tensor]]):
    from transformers import DynamicCache

    # A fresh cache per step: DynamicCache.update grows its tensors in place, and a parent state must
    # stay usable for other children.
    try:
        return DynamicCache(list(kv))
    except TypeError:  # older transformers
        return DynamicCache.from_legacy_cache(tuple(kv))


@dataclass
class HFCausalLMState:
    """Batched beam state: per-layer left-padded caches (B, H_kv, S, D), ``mask`` (B, S) long (1 = real
    column), ``length`` (B,) tokens consumed incl. the start symbol, ``logp`` (B, V) float32 next-token log-probs."""

    keys: list[torch.Tensor]
    values: list[torch.Tensor]
    mask: torch.Tensor
    length: torch.Tensor
    logp: torch.Tensor

    def __len__(self) -> int:
        return self.mask.shape[0]


class HFCausalLM:
    """A local ``*ForCausalLM`` with incremental (KV-cache) scoring. See the module docstring."""

    unit = "token"

    def __init__(self, model, tokenizer, folder: Path, bos_id: int | None = None, eos_id: int | None = None):
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.folder = folder
        cfg = model.config.get_text_config() if hasattr(model.config, "get_text_config") else model.config
        self.eos_id = eos_id if eos_id is not None else (
            tokenizer.eos_id if tokenizer.eos_id is not None else _first(getattr(cfg, "eos_token_id", None)))
        if self.eos_id is None:
            raise UserError(f"{folder}: the LM has no end-of-sentence token (no eos_token_id)")
        bos = bos_id if bos_id is not None else (
            tokenizer.bos_id if tokenizer.bos_id is not None else _first(getattr(cfg, "bos_token_id", None)))
        self.bos_id = bos if bos is not None else self.eos_id
        self.n_logits = model.get_output_embeddings().weight.shape[0]
        for name, i in (("bos", self.bos_id), ("eos", self.eos_id)):
            if not 0 <= i < self.n_logits:
                raise UserError(f"{folder}: {name} id {i} is outside the LM's {self.n_logits} outputs")
        self.blank_id = tokenizer.blank_id
        # transformers 5.x renamed the forward argument ``past_key_values`` to ``cache``.
        params = inspect.signature(model.forward).parameters
        self._cache_arg = "cache" if "cache" in params else "past_key_values"
        self._vocab: list[str] | None = None

    # ---- loading --------------------------------------------------------------------------
    @classmethod
    def from_pretrained(cls, folder: str | Path, dtype: str | torch.dtype = torch.float32,
                        device: str | torch.device = "cpu", bos_id: int | None = None,
                        eos_id: int | None = None) -> HFCausalLM:
        """Load offline. ``dtype``: a torch dtype, ``"auto"`` (the checkpoint's) or a name like ``"bf16"``."""
        folder = Path(folder)
        if not folder.exists():
            raise UserError(f"{folder}: no such language model folder")
        if not folder.is_dir():
            raise UserError(f"{folder}: not a folder (a Hugging Face causal LM is a folder)")
        cfg_path = folder / "config.json"
        if not cfg_path.exists():
            raise UserError(f"{folder}: not a Hugging Face model folder (no config.json)")
        try:
            json.loads(cfg_path.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            raise UserError(f"{cfg_path}: invalid JSON ({err})") from None
        if not any((folder / f).exists() for f in WEIGHT_FILES) and not any(folder.glob("*.safetensors")):
            raise UserError(f"{folder}: no weights (model.safetensors or pytorch_model.bin)")
        if isinstance(dtype, str):
            dtype = as_dtype(dtype, auto=True)
        tokenizer = _load_tokenizer(folder)
        from transformers import AutoModelForCausalLM

        try:
            model = AutoModelForCausalLM.from_pretrained(str(folder), local_files_only=True, dtype=dtype)
        except Exception as err:  # broken configs/weights raise ValueError, KeyError, OSError, RuntimeError, ...
            msg = str(err).strip().splitlines()[0] if str(err).strip() else ""
            raise UserError(f"{folder}: cannot load the causal LM ({type(err).__name__}: {msg})") from None
        return cls(model.to(device), tokenizer, folder, bos_id=bos_id, eos_id=eos_id)

    # ---- helpers ----------------------------------------------------------------------------
    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    @property
    def vocab(self) -> list[str]:
        """Token strings by id, one per output of the LM (ids past the tokenizer are ``<extra_i>``)."""
        if self._vocab is None:
            pieces = self.tokenizer.pieces()[: self.n_logits]
            self._vocab = pieces + [f"<extra_{i}>" for i in range(len(pieces), self.n_logits)]
        return self._vocab

    @property
    def unk_ids(self) -> set[int]:
        """The tokenizer's unknown-token id, if any (byte-level BPEs have none), for OOV rates."""
        return {self.tokenizer.unk_id} if self.tokenizer.unk_id is not None else set()

    def encode_text(self, text: str) -> list[int]:
        """Text (``normalize_text``, idempotent) -> the LM's token ids, without special tokens."""
        return self.tokenizer.encode(normalize_text(text))

    def _log_softmax(self, logits: torch.Tensor) -> torch.Tensor:
        logits = logits[..., : self.n_logits].float()
        if self.blank_id is not None:
            logits = logits.clone()
            logits[..., self.blank_id] = float("-inf")  # the CTC blank of an asrkit tokenizer is not text
        return torch.log_softmax(logits, dim=-1)

    def _forward(self, ids, mask, positions, kv):
        out = self.model(input_ids=ids, attention_mask=mask, position_ids=positions, use_cache=True,
                         **{self._cache_arg: _make_cache(kv) if kv else None})
        cache = getattr(out, "cache", None) if self._cache_arg == "cache" else out.past_key_values
        return out.logits, _cache_tensors(cache)

    def _step(self, state: HFCausalLMState | None, units: torch.Tensor) -> HFCausalLMState:
        b = units.shape[0]
        ones = torch.ones(b, 1, dtype=torch.long, device=self.device)
        if state is None:  # the start symbol, no cache yet
            mask, positions, kv = ones, torch.zeros(b, 1, dtype=torch.long, device=self.device), None
            length = torch.zeros(b, dtype=torch.long, device=self.device)
        else:
            mask = torch.cat([state.mask, ones], dim=1)
            positions, kv, length = state.length.view(b, 1), list(zip(state.keys, state.values)), state.length
        logits, kv = self._forward(units.view(b, 1), mask, positions, kv)
        return HFCausalLMState(keys=[k for k, _ in kv], values=[v for _, v in kv], mask=mask, length=length + 1,
                               logp=self._log_softmax(logits[:, -1]))

    @torch.inference_mode()
    def prefix_state(self, inputs_embeds: torch.Tensor, attention_mask: torch.Tensor) -> HFCausalLMState:
        """States after arbitrary input-embedding prefixes, e.g. a speech LLM's ``[audio + prompt]``.

        ``inputs_embeds`` (B, S, D) is left-padded: row b's real columns are its last ``attention_mask[b].sum()``
        ones. Positions are ``cumsum(mask) - 1``, as Hugging Face ``generate`` derives them, so the
        states continue exactly like ``generate(inputs_embeds=..., attention_mask=...)`` would.
        """
        mask = attention_mask.to(self.device).long()
        if mask.dim() != 2 or mask.shape != inputs_embeds.shape[:2] or not bool(mask[:, -1].all()):
            raise ValueError("prefix_state needs left-padded prefixes: a (B, S) mask whose last column is all 1")
        positions = (mask.cumsum(1) - 1).clamp(min=0)
        extra = {"logits_to_keep": 1} if "logits_to_keep" in inspect.signature(self.model.forward).parameters else {}
        emb = inputs_embeds.to(self.device, dtype=self.model.get_input_embeddings().weight.dtype)
        out = self.model(inputs_embeds=emb, attention_mask=mask, position_ids=positions, use_cache=True, **extra)
        cache = getattr(out, "cache", None) if self._cache_arg == "cache" else out.past_key_values
        kv = _cache_tensors(cache)
        # Padding columns are never attended to; zeroing them keeps any value computed for a fully masked
        # padding row (NaN in some attention kernels) out of later weighted sums (0 * NaN = NaN).
        keep = mask[:, None, :, None].bool()
        return HFCausalLMState(keys=[k.masked_fill(~keep, 0.0) for k, _ in kv],
                               values=[v.masked_fill(~keep, 0.0) for _, v in kv], mask=mask,
                               length=mask.sum(1), logp=self._log_softmax(out.logits[:, -1]))

    # ---- LanguageModel protocol ------------------------------------------------------------
    @torch.inference_mode()
    def init_state(self, batch: int) -> HFCausalLMState:
        """``batch`` empty prefixes: the start symbol consumed, ``logp`` = p(first token | <s>)."""
        one = self._step(None, torch.tensor([self.bos_id], device=self.device))
        return self.select_states(one, torch.zeros(batch, dtype=torch.long))

    def score(self, state: HFCausalLMState, candidates: torch.Tensor | None = None) -> torch.Tensor:
        """``log p(token | prefix_b)``: (B, V) for all LM tokens, or (B, K) for ``candidates`` (B, K) / (K,)."""
        if candidates is None:
            return state.logp
        candidates = candidates.to(state.logp.device).long()
        return state.logp[:, candidates] if candidates.dim() == 1 else state.logp.gather(1, candidates)

    @torch.inference_mode()
    def advance(self, state: HFCausalLMState, parents: torch.Tensor, units: torch.Tensor) -> HFCausalLMState:
        """Rows ``parents[i]`` extended by ``units[i]``: one batched forward step; ``state`` is not modified."""
        return self._step(self.select_states(state, parents), units.to(self.device).long().view(-1))

    def final_score(self, state: HFCausalLMState) -> torch.Tensor:
        """``log p(eos | prefix_b)``, shape (B,)."""
        return state.logp[:, self.eos_id]

    @torch.inference_mode()
    def score_sentences(self, sentences: Sequence[Sequence[int]], batch_size: int = 16) -> torch.Tensor:
        """``log p(w_1..w_n eos | bos)`` per sentence of LM token ids, float32 (N,), full forward passes."""
        out = torch.zeros(len(sentences))
        for start in range(0, len(sentences), batch_size):
            chunk = [list(s) for s in sentences[start : start + batch_size]]
            t = max(len(s) for s in chunk) + 1
            ids = torch.full((len(chunk), t), self.eos_id, dtype=torch.long)
            targets = torch.full((len(chunk), t), -1, dtype=torch.long)
            mask = torch.zeros(len(chunk), t, dtype=torch.long)
            for i, s in enumerate(chunk):
                ids[i, 0] = self.bos_id
                ids[i, 1 : len(s) + 1] = torch.tensor(s, dtype=torch.long)
                targets[i, : len(s)] = torch.tensor(s, dtype=torch.long)
                targets[i, len(s)] = self.eos_id
                mask[i, : len(s) + 1] = 1
            positions = torch.arange(t).expand(len(chunk), t)
            logits = self.model(input_ids=ids.to(self.device), attention_mask=mask.to(self.device),
                                position_ids=positions.to(self.device), use_cache=False).logits
            logp = self._log_softmax(logits).cpu()
            tok = logp.gather(2, targets.clamp(min=0).unsqueeze(-1)).squeeze(-1)
            out[start : start + len(chunk)] = torch.where(targets >= 0, tok, 0.0).sum(1)
        return out

    # ---- ragged beams ------------------------------------------------------------------------
    @torch.inference_mode()
    def select_states(self, state: HFCausalLMState, rows: torch.Tensor) -> HFCausalLMState:
        """Rows ``rows`` of ``state`` (no step); padding columns that no selected row needs are dropped."""
        rows = rows.to(self.device).long().view(-1)
        length = state.length.index_select(0, rows)
        trim = state.mask.shape[1] - int(length.max()) if len(rows) else 0
        return HFCausalLMState(
            keys=[k.index_select(0, rows)[:, :, trim:] for k in state.keys],
            values=[v.index_select(0, rows)[:, :, trim:] for v in state.values],
            mask=state.mask.index_select(0, rows)[:, trim:], length=length, logp=state.logp.index_select(0, rows),
        )

    @torch.inference_mode()
    def concat_states(self, states: Sequence[HFCausalLMState]) -> HFCausalLMState:
        """One batch from several states (rows in order); shorter caches are left-padded and masked."""
        width = max(s.mask.shape[1] for s in states)
        n_layers = len(states[0].keys)
        return HFCausalLMState(
            keys=[torch.cat([F.pad(s.keys[i], (0, 0, width - s.mask.shape[1], 0)) for s in states])
                  for i in range(n_layers)],
            values=[torch.cat([F.pad(s.values[i], (0, 0, width - s.mask.shape[1], 0)) for s in states])
                    for i in range(n_layers)],
            mask=torch.cat([F.pad(s.mask, (width - s.mask.shape[1], 0)) for s in states]),
            length=torch.cat([s.length for s in states]), logp=torch.cat([s.logp for s in states]),
        )
