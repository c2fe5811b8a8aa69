"""The LLM's tokenizer: a Hugging Face tokenizer folder with Qwen's chat special tokens.

A real Qwen2-Instruct folder (``vocab.json``/``merges.txt``/``tokenizer.json``) and the tiny LLMs made
here (``tokenizer.json``) load the same way. The roles are Qwen2-Instruct's (its tokenizer_config.json):
``<|im_end|>`` ends the assistant turn (EOS), ``<|endoftext|>`` pads, ``<|im_start|>`` opens a turn,
and there is no BOS.

:func:`train_bpe_tokenizer` builds a Qwen2-style byte-level BPE (NFC normaliser, Qwen2's pre-tokenizer
regex, byte-level alphabet, the three special tokens) with the ``tokenizers`` library. Byte-level BPE
(rather than sentencepiece) keeps the tiny LLM folder a genuine Qwen2 folder, loaded by the same code
as Qwen2-7B-Instruct, and makes ``\\n`` (the asr_ast separator) an ordinary token.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path

from asrkit.errors import UserError

PAD_TOKEN, IM_START, IM_END = "<|endoftext|>", "<|im_start|>", "<|im_end|>"
SPECIAL_TOKENS = (PAD_TOKEN, IM_START, IM_END)
# Qwen2's pre-tokenizer split (tokenizer.json of Qwen2-*): contractions, letter runs with one leading
# non-letter, single digits, punctuation runs, newlines, spaces.
QWEN2_SPLIT = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|"
               r"\s*[\r\n]+|\s+(?!\S)|\s+")


def _generic_class(folder: Path) -> bool:
    try:
        cls = json.loads((folder / "tokenizer_config.json").read_text()).get("tokenizer_class")
    except (OSError, ValueError, AttributeError):
        return True
    return cls in (None, "TokenizersBackend", "PreTrainedTokenizerFast")


class LLMTokenizer:
    """Wraps a transformers tokenizer: ``encode`` (special tokens in the text are parsed), ``decode``,
    ``pieces``, and the ids ``eos_id`` (<|im_end|>), ``pad_id`` (<|endoftext|>), ``im_start_id``."""

    def __init__(self, tok, where: str = "tokenizer"):
        self.tok = tok
        ids = {}
        for t in SPECIAL_TOKENS:
            i = tok.convert_tokens_to_ids(t)
            if i is None or (tok.unk_token_id is not None and i == tok.unk_token_id) or tok.encode(
                    t, add_special_tokens=False) != [i]:
                raise UserError(f"{where}: the tokenizer has no {t} token (a Qwen2-style chat tokenizer is needed)")
            ids[t] = int(i)
        self.pad_id, self.im_start_id, self.eos_id = ids[PAD_TOKEN], ids[IM_START], ids[IM_END]
        self.bos_id = None  # Qwen2 adds no BOS
        self.unk_id = tok.unk_token_id
        self.blank_id = None  # no CTC blank among LLM tokens

    def __len__(self) -> int:
        return len(self.tok)

    def encode(self, text: str) -> list[int]:
        return list(self.tok.encode(text, add_special_tokens=False))

    def decode(self, ids: Iterable[int], skip_special_tokens: bool = True) -> str:
        return self.tok.decode([int(i) for i in ids], skip_special_tokens=skip_special_tokens)

    def pieces(self) -> list[str]:
        return [str(p) for p in self.tok.convert_ids_to_tokens(list(range(len(self.tok))))]

    def save(self, folder: str | Path) -> None:
        self.tok.save_pretrained(str(folder))

    @classmethod
    def from_folder(cls, folder: str | Path) -> LLMTokenizer:
        folder = Path(folder)
        if not any((folder / f).exists() for f in ("tokenizer.json", "vocab.json", "tokenizer_config.json")):
            raise UserError(f"{folder}: no Hugging Face tokenizer (tokenizer.json or vocab.json + merges.txt)")
        from transformers import AutoTokenizer, PreTrainedTokenizerFast

        try:
            if (folder / "tokenizer.json").exists() and _generic_class(folder):
                # transformers 5.x AutoTokenizer would rebuild a generic tokenizer as the model type's own
                # class from the vocabulary; load tokenizer.json exactly as saved.
                tok = PreTrainedTokenizerFast.from_pretrained(str(folder), local_files_only=True)
            else:
                tok = AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
        except Exception as err:  # tokenizer back ends raise many error types; report in one line
            msg = str(err).strip().splitlines()[0] if str(err).strip() else ""
            raise UserError(f"{folder}: cannot load the tokenizer ({type(err).__name__}: {msg})") from None
        return cls(tok, where=str(folder))


def train_bpe_tokenizer(texts: Sequence[str], vocab_size: int) -> LLMTokenizer:
    """A Qwen2-style byte-level BPE with ``vocab_size`` tokens (special tokens at ids 0-2) trained on ``texts``."""
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tk = Tokenizer(models.BPE())
    tk.normalizer = normalizers.NFC()
    tk.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(QWEN2_SPLIT), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=False, use_regex=False),
    ])
    tk.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=list(SPECIAL_TOKENS), show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tk.train_from_iterator([t for t in texts if t.strip()], trainer)
    hf = PreTrainedTokenizerFast(tokenizer_object=tk, eos_token=IM_END, pad_token=PAD_TOKEN,
                                 additional_special_tokens=[IM_START])
    return LLMTokenizer(hf)
