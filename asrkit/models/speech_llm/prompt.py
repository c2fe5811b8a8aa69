"""MooER prompt templates, audio/prompt splicing and left-padded batching (as in MooER's inference code,
github.com/MooreThreads/MooER).

A MooER input row is ``[pad ... pad][audio_1 .. audio_A][<|im_start|>system ... assistant\\n]``:

- the audio embeddings come **first**, before the whole chat-templated prompt (not inside the user turn);
- ``A = T_enc // k`` placeholders, exactly the adapter's output length (``T_enc`` encoder frames,
  ``k`` the adapter's downsample rate; for the Paraformer encoder ``T_enc = T_lfr``);
- a batch left-pads the [audio + prompt] part of each row to the longest one with the pad token
  (``<|endoftext|>``) and attention 0, so every row ends at the same column and generation appends
  new tokens on the right; ``modality_mask`` is True on ``[left_pad, left_pad + A)``;
- for training, the answer (target text + ``<|im_end|>``) is right-padded after that, with labels -100
  everywhere except on the answer tokens.

Positions are ``cumsum(attention_mask) - 1`` (0 for padding), as Hugging Face ``generate`` derives them,
so a row's positions do not depend on how much padding its batch needed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch

# Qwen chat wrapper (MooER's 'qwen' template); the task prompt is inserted at {}.
QWEN_CHAT_TEMPLATE = (
    "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\n{}<|im_end|>\n"
    "<|im_start|>assistant\n"
)

# MooER's task prompts, trailing space included (the released models were trained with it).
# ``asr_ast`` (transcript, newline, translation) is asrkit's own prompt; MooER's multitask release is
# driven with the ``ast`` prompt instead, which mooer_release.py sets for that folder.
TASK_PROMPTS = {
    "asr": "Transcribe speech to text. ",
    "ast": "Translate speech to english text. ",
    "asr_ast": "Transcribe speech to text, then translate it to english text. ",
}

IGNORE_INDEX = -100


def render_prompt(template: str, prompt: str) -> str:
    """The chat-templated prompt text (``template`` with ``{}`` replaced by the task prompt)."""
    return template.replace("{}", prompt, 1)


def split_multitask(text: str) -> tuple[str, str | None]:
    """MooER's multitask output ``transcript\\ntranslation`` -> (transcript, translation).

    With exactly two non-empty lines the first is the transcript and the second the translation;
    otherwise the whole text is the transcript and the translation is None (as MooER's inference does).
    """
    lines = [line.strip() for line in text.strip().split("\n") if line.strip()]
    if len(lines) == 2:
        return lines[0], lines[1]
    return " ".join(lines), None


def answer_ids(row: Sequence[int], eos_id: int, pad_id: int) -> list[int]:
    """The answer in one row of generated ids: up to the first ``eos_id`` (``<|im_end|>``), without ``pad_id``.

    Only ``<|im_end|>`` ends an answer, as in MooER; ``<|endoftext|>`` (Qwen's pad, also what ``generate``
    writes after a finished row) is dropped wherever it stands and the tokens after it are kept, which is
    what MooER's ``batch_decode(skip_special_tokens=True)`` does with it.
    """
    row = list(row)
    if eos_id in row:
        row = row[: row.index(eos_id)]
    return [i for i in row if i != pad_id]


@dataclass
class SplicedBatch:
    """LLM inputs of one batch. ``labels`` is None at inference (no answer part)."""

    inputs_embeds: torch.Tensor  # (B, L, D)
    attention_mask: torch.Tensor  # (B, L) long, 1 = real column
    position_ids: torch.Tensor  # (B, L) long
    modality_mask: torch.Tensor  # (B, L) bool, True on audio positions
    labels: torch.Tensor | None = None  # (B, L) long, -100 outside the answers
    prefix_lengths: torch.Tensor | None = None  # (B,) real [audio + prompt] length per row


def splice(
    audio: Sequence[torch.Tensor],
    prompts: Sequence[Sequence[int]],
    embed: Callable[[torch.Tensor], torch.Tensor],
    pad_id: int,
    answers: Sequence[Sequence[int]] | None = None,
) -> SplicedBatch:
    """Build left-padded ``[audio + prompt]`` (+ right-padded ``answer``) LLM inputs.

    ``audio[b]``: (A_b, D) adapter outputs of row b (may be (0, D) for prompt-only rows);
    ``prompts[b]``: the chat-templated prompt's token ids; ``embed``: the LLM's input embedding;
    ``answers[b]``: target ids incl. the final ``<|im_end|>`` (training only).

    As in MooER, ids are built with -1 at audio positions, embedded with -1 -> 0, the audio positions
    are zeroed and the adapter rows written there. The caller's tensors are not modified.
    """
    b = len(audio)
    prefix = [int(a.shape[0]) + len(p) for a, p in zip(audio, prompts)]
    left = max(prefix)
    ans = [list(x) for x in answers] if answers is not None else [[] for _ in range(b)]
    width = left + max((len(a) for a in ans), default=0)
    ids = torch.full((b, width), pad_id, dtype=torch.long)
    mask = torch.zeros(b, width, dtype=torch.long)
    modality = torch.zeros(b, width, dtype=torch.bool)
    labels = torch.full((b, width), IGNORE_INDEX, dtype=torch.long)
    for i in range(b):
        start = left - prefix[i]
        n_audio = int(audio[i].shape[0])
        ids[i, start : start + n_audio] = -1
        modality[i, start : start + n_audio] = True
        ids[i, start + n_audio : left] = torch.tensor(list(prompts[i]), dtype=torch.long)
        mask[i, start:left] = 1
        if ans[i]:
            a = torch.tensor(ans[i], dtype=torch.long)
            ids[i, left : left + len(a)] = a
            labels[i, left : left + len(a)] = a
            mask[i, left : left + len(a)] = 1
    emb = embed(ids.masked_fill(modality, 0).to(_device_of(embed)))
    dev = emb.device
    modality_d = modality.to(dev)
    rows = [a for a in audio if a.shape[0] > 0]
    if rows:
        src = torch.cat(rows).to(device=dev, dtype=emb.dtype)
        emb = emb.masked_fill(modality_d[..., None], 0.0).masked_scatter(modality_d[..., None], src)
    positions = (mask.cumsum(1) - 1).clamp(min=0)
    return SplicedBatch(
        inputs_embeds=emb, attention_mask=mask.to(dev), position_ids=positions.to(dev), modality_mask=modality_d,
        labels=labels.to(dev) if answers is not None else None, prefix_lengths=torch.tensor(prefix),
    )


def _device_of(embed: Callable) -> torch.device:
    weight = getattr(embed, "weight", None)
    return weight.device if weight is not None else torch.device("cpu")
