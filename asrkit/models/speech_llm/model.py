"""MooER-style speech LLM: frozen encoder -> LinearAdapter (one embedding per 120 ms) -> causal LLM + LoRA.

Pipeline (MooER, github.com/MooreThreads/MooER; arXiv 2408.05101): 16 kHz waveform -> Kaldi fbank (80) ->
LFR 7/6 -> ``am.mvn`` CMVN -> SANM encoder (60 ms frames, frozen) -> :class:`LinearAdapter` (k = 2 frames
concatenated, 120 ms per embedding) -> ``[audio + chat-templated prompt]`` left-padded (:mod:`.prompt`) ->
Qwen2 (``*ForCausalLM``) with LoRA (peft; r 64, alpha 16, dropout 0.05 on q,k,v,o,up,gate,down). Trained parts:
adapter and LoRA.

Training loss: ``-sum_t log p(y_t | audio, prompt, y_<t)`` over the answer tokens (the target text and
the final ``<|im_end|>``), as MooER/SLAM-LLM (labels -100 over audio and prompt).

Folder layout written by :meth:`SpeechLLM.save_pretrained`::

    config.json            model_type "speech_llm": encoder/frontend/adapter/LoRA/generation settings, prompts
    encoder.safetensors    SANM encoder (FunASR key names)        } absent with encoder_type "none"
    am.mvn                 Kaldi nnet CMVN of the 560-dim LFR features }
    adapter.safetensors    encoder_projector.linear{1,2}.{weight,bias} (MooER's adapter_project.pt keys)
    llm/                   the base LLM: a Hugging Face folder (config.json, model.safetensors, tokenizer files)
    lora/                  peft adapter (adapter_config.json, adapter_model.safetensors); absent when
                           config.json says "lora_merged": true (the LoRA is then folded into llm/)
    README.md              model card (optional)
"""

from __future__ import annotations

import copy
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file
from torch import nn

from asrkit.encoder import SANMEncoder
from asrkit.errors import UserError
from asrkit.frontend import Frontend, GlobalCMVN, lfr_length
from asrkit.frontend.fbank import num_frames
from asrkit.models.speech_llm.adapter import LinearAdapter
from asrkit.models.speech_llm.aux_ctc import adapter_ctc_loss
from asrkit.models.speech_llm.conditioned_lm import ConditionedLM
from asrkit.models.speech_llm.config import SpeechLLMConfig
from asrkit.models.speech_llm.prompt import SplicedBatch, answer_ids, render_prompt, splice
from asrkit.models.speech_llm.tokenizer import LLMTokenizer
from asrkit.utils.config_io import read_json_object
from asrkit.utils.dtypes import as_dtype
from asrkit.utils.safe_load import load_safetensors


def load_llm(folder: str | Path, dtype: str | torch.dtype | None = None):
    """A local Hugging Face causal LM folder -> (model in eval mode, :class:`LLMTokenizer`); one-line errors."""
    from lm.causal.hf_causal_lm import HFCausalLM

    hf = HFCausalLM.from_pretrained(folder, dtype=as_dtype(dtype))
    return hf.model.eval(), LLMTokenizer.from_folder(folder)


def _is_peft(model) -> bool:
    try:
        from peft import PeftModel
    except ImportError:  # peft is a dependency; without it there simply is no LoRA wrapper
        return False
    return isinstance(model, PeftModel)


def _check_state(own: dict[str, torch.Tensor], got: dict[str, torch.Tensor], where: str) -> None:
    missing, unexpected = sorted(set(own) - set(got)), sorted(set(got) - set(own))
    if missing or unexpected:
        raise UserError(f"{where}: keys do not match (missing {missing[:4]}, unexpected {unexpected[:4]})")
    bad = [f"{k} {tuple(got[k].shape)} != {tuple(v.shape)}" for k, v in own.items() if got[k].shape != v.shape]
    if bad:
        raise UserError(f"{where}: shape mismatch: {', '.join(bad[:3])}")


@dataclass
class LossTerms:
    """Summed losses of a batch and their token counts (``nll``: answer tokens; ``ctc``: adapter CTC)."""

    nll: torch.Tensor | float = 0.0
    n_tokens: int = 0
    ctc: torch.Tensor | float = 0.0
    n_ctc: int = 0

    @property
    def nll_value(self) -> float:
        return float(self.nll.detach()) if isinstance(self.nll, torch.Tensor) else float(self.nll)

    @property
    def ctc_value(self) -> float:
        return float(self.ctc.detach()) if isinstance(self.ctc, torch.Tensor) else float(self.ctc)

    def total(self, ctc_weight: float = 0.0) -> torch.Tensor:
        """``nll / n_tokens + ctc_weight * ctc / n_ctc`` (mean per token; absent terms count 0)."""
        out = self.nll / max(1, self.n_tokens) if self.n_tokens else 0.0
        if ctc_weight and self.n_ctc:
            out = out + ctc_weight * self.ctc / self.n_ctc
        return out


class SpeechLLM(nn.Module):
    """Frozen encoder + trainable adapter + LLM (LoRA trainable). See the module docstring."""

    def __init__(self, config: SpeechLLMConfig, llm, tokenizer: LLMTokenizer, cmvn: GlobalCMVN | None = None,
                 encoder: SANMEncoder | None = None):
        super().__init__()
        self.config = config
        self.encoder = None
        if config.encoder_type == "sanm":
            self.encoder = encoder if encoder is not None else SANMEncoder(config.encoder)
            self.encoder.requires_grad_(False)  # frozen, as in MooER
        try:
            self.frontend = Frontend(config.frontend, cmvn)
        except ValueError as err:
            raise UserError(f"am.mvn: {err}") from None
        self.encoder_projector = LinearAdapter(config.adapter)
        self.llm = llm
        self.tokenizer = tokenizer
        hidden = self.lm.get_input_embeddings().weight.shape[1]
        if hidden != config.adapter.llm_dim:
            raise UserError(f"the LLM's hidden size {hidden} != the adapter's output size {config.adapter.llm_dim}")
        self._prompt_ids: dict[str, list[int]] = {}
        self.eval()

    # ---- parts -------------------------------------------------------------------------------
    @property
    def lm(self):
        """The Hugging Face ``*ForCausalLM`` itself (LoRA layers, if any, are injected into it)."""
        return self.llm.get_base_model() if _is_peft(self.llm) else self.llm

    @property
    def has_lora(self) -> bool:
        return _is_peft(self.llm)

    @property
    def device(self) -> torch.device:
        return self.encoder_projector.linear1.weight.device

    @property
    def eos_id(self) -> int:
        return self.tokenizer.eos_id

    def train(self, mode: bool = True) -> SpeechLLM:
        super().train(mode)
        if self.encoder is not None:
            self.encoder.eval()  # frozen: no dropout, so cached encoder outputs equal the live ones
        return self

    def add_lora(self) -> None:
        """Wrap the LLM with a fresh LoRA (``config.lora``); the LLM's own weights are frozen."""
        from peft import LoraConfig, get_peft_model

        if self.has_lora:
            raise ValueError("the LLM already has a LoRA adapter")
        c = self.config.lora
        self.llm = get_peft_model(self.llm, LoraConfig(r=c.r, lora_alpha=c.alpha, lora_dropout=c.dropout,
                                                       target_modules=list(c.target_modules), bias="none",
                                                       task_type="CAUSAL_LM"))

    def load_lora(self, folder: str | Path, trainable: bool = False) -> None:
        """Attach a peft LoRA folder (``adapter_config.json`` + ``adapter_model.{safetensors,bin}``); every
        saved tensor must fit the model by name and shape."""
        from peft import PeftModel
        from peft.utils import get_peft_model_state_dict, load_peft_weights

        folder = Path(folder)
        if not (folder / "adapter_config.json").exists():
            raise UserError(f"{folder}: no adapter_config.json (not a LoRA folder)")
        if not any((folder / f).exists() for f in ("adapter_model.safetensors", "adapter_model.bin")):
            raise UserError(f"{folder}: no adapter_model.safetensors or adapter_model.bin")
        try:
            saved = load_peft_weights(str(folder), device="cpu")
            self.llm = PeftModel.from_pretrained(self.llm, str(folder), is_trainable=trainable)
        except Exception as err:  # peft raises ValueError/RuntimeError/KeyError for configs that do not fit
            msg = str(err).strip().splitlines()[0][:200] if str(err).strip() else ""
            raise UserError(f"{folder}: cannot load the LoRA adapter ({type(err).__name__}: {msg})") from None
        want = get_peft_model_state_dict(self.llm)
        _check_state(want, saved, f"{folder}: LoRA weights")
        self.config.lora.r = int(self.llm.peft_config["default"].r)
        self.config.lora.alpha = int(self.llm.peft_config["default"].lora_alpha)

    def merge_lora(self) -> None:
        """Fold the LoRA into the LLM's weights (``W += (alpha/r) B A``); faster inference, no longer trainable."""
        if self.has_lora:
            self.llm = self.llm.merge_and_unload()

    def trainable_parameters(self) -> list[nn.Parameter]:
        return [p for p in self.parameters() if p.requires_grad]

    # ---- inputs ------------------------------------------------------------------------------
    def prompt_ids(self, task: str) -> list[int]:
        if task not in self.config.prompts:
            raise UserError(f"task {task!r} is not supported by this model (tasks: {', '.join(self.config.tasks)})")
        if task not in self._prompt_ids:
            text = render_prompt(self.config.chat_template, self.config.prompts[task])
            self._prompt_ids[task] = self.tokenizer.encode(text)
        return self._prompt_ids[task]

    def features(self, inputs: Sequence) -> tuple[torch.Tensor, torch.Tensor]:
        """Waveforms (1-D, 16 kHz, [-1, 1]) and/or feature matrices (2-D) -> padded (B, T, D) float32, lengths.

        With ``encoder_type`` "sanm" a 2-D input is normalised LFR features (T_lfr, 560); with "none" it is
        the encoder output itself (e.g. hertz latents)."""
        feats = []
        for x in inputs:
            t = torch.as_tensor(np.asarray(x) if not isinstance(x, torch.Tensor) else x).float()
            if t.dim() == 1:
                if self.encoder is None:
                    raise UserError("this speech LLM has no acoustic encoder: pass encoder outputs (T, D)")
                t = self.frontend(t)
            elif t.dim() != 2:
                raise ValueError(f"an input must be a waveform (N,) or features (T, D), got shape {tuple(t.shape)}")
            feats.append(t)
        lengths = torch.tensor([f.shape[0] for f in feats], dtype=torch.long)
        return nn.utils.rnn.pad_sequence(feats, batch_first=True), lengths

    @torch.no_grad()
    def encode(self, feats: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Frozen encoder: (B, T, 560) -> (B, T, E), lengths (identity for ``encoder_type`` "none")."""
        feats, lengths = feats.to(self.device), lengths.to(self.device)
        if self.encoder is None:
            return feats, lengths
        return self.encoder(feats, lengths)

    def audio_length(self, num_samples: int) -> int:
        """Audio embeddings a 16 kHz waveform of ``num_samples`` gives: ``T_lfr // k`` with ``T_lfr`` the LFR
        frames of its fbank (the Paraformer encoder keeps the length); 0 means too short to decode."""
        fb = self.config.frontend
        lfr = lfr_length(num_frames(num_samples, fb.fbank), fb.lfr_n)
        return int(self.encoder_projector.output_lengths(torch.tensor([lfr]))[0])

    def audio_embeddings(self, enc: torch.Tensor, lengths: torch.Tensor) -> list[torch.Tensor]:
        """Adapter outputs per utterance: ``lengths[b] // k`` rows of ``llm_dim`` (MooER's ``T_lfr // 2``)."""
        y = self.encoder_projector(enc.to(self.device).float())
        n = self.encoder_projector.output_lengths(lengths.cpu())
        if bool((n == 0).any()):
            raise UserError(f"an utterance is too short: fewer than {self.config.adapter.downsample_rate} "
                            f"encoder frames")
        return [y[b, : int(n[b])] for b in range(y.shape[0])]

    def build_inputs(self, audio: Sequence[torch.Tensor], tasks: str | Sequence[str],
                     answers: Sequence[Sequence[int]] | None = None) -> SplicedBatch:
        tasks = [tasks] * len(audio) if isinstance(tasks, str) else list(tasks)
        return splice(audio, [self.prompt_ids(t) for t in tasks], self.lm.get_input_embeddings(),
                      self.tokenizer.pad_id, answers)

    @torch.inference_mode()
    def adapter_ctc_log_probs(self, audio: Sequence[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """CTC log-posteriors over the LLM's tokens read off the adapter outputs (:mod:`.aux_ctc`), one row per
        120 ms, blank = ``<|endoftext|>``: (B, A, V) padded, and the valid rows (B,)."""
        emb = self.lm.get_input_embeddings().weight.float()
        tau = self.config.adapter.ctc_tau
        lengths = torch.tensor([a.shape[0] for a in audio])
        y = torch.nn.utils.rnn.pad_sequence([a.float() for a in audio], batch_first=True)
        return torch.log_softmax(y @ emb.T / tau, dim=-1).cpu(), lengths

    def _audio(self, inputs: Sequence) -> list[torch.Tensor]:
        feats, lengths = self.features(inputs)
        enc, enc_lens = self.encode(feats, lengths)
        return self.audio_embeddings(enc, enc_lens)

    # ---- training ----------------------------------------------------------------------------
    def forward(self, enc: torch.Tensor, enc_lens: torch.Tensor, tasks: Sequence[str],
                answers: Sequence[Sequence[int]] | None, spoken: Sequence[Sequence[int]] | None = None,
                ctc_tau: float = 0.1, word_dropout: float = 0.0) -> LossTerms:
        """Training losses from encoder outputs: the summed NLL (natural log) of ``answers`` (ids incl. the
        final ``<|im_end|>``; logits only where a label is), and with ``spoken`` the adapter CTC loss of
        :mod:`.aux_ctc`. ``answers=None`` skips the LLM (adapter CTC warm-up).

        ``word_dropout`` p: each answer token *fed* to the LLM (teacher forcing) is replaced, with probability p,
        by the pad token's embedding, the labels unchanged (word dropout, Bowman et al., 2016, "Generating
        sentences from a continuous space"): the LLM cannot predict the next token from the text so far
        alone and has to read the audio, the failure of a small LLM that writes fluent text unrelated to it."""
        y = self.encoder_projector(enc.to(self.device).float())
        n_audio = self.encoder_projector.output_lengths(enc_lens.cpu())
        terms = LossTerms()
        if spoken is not None:
            terms.ctc, terms.n_ctc = adapter_ctc_loss(y, n_audio, spoken, self.lm.get_input_embeddings().weight,
                                                      self.tokenizer.pad_id, ctc_tau)
        if answers is None:
            return terms
        batch = self.build_inputs([y[b, : int(n_audio[b])] for b in range(y.shape[0])], tasks, answers)
        lm = self.lm
        if word_dropout > 0 and self.training:
            drop = (batch.labels != -100) & (torch.rand(batch.labels.shape) < word_dropout)
            pad = lm.get_input_embeddings().weight[self.tokenizer.pad_id]
            batch.inputs_embeds = torch.where(drop.to(self.device)[..., None], pad.to(batch.inputs_embeds.dtype),
                                              batch.inputs_embeds)
        hidden = lm.model(inputs_embeds=batch.inputs_embeds, attention_mask=batch.attention_mask,
                          position_ids=batch.position_ids, use_cache=False).last_hidden_state
        labels = batch.labels[:, 1:]
        sel = labels != -100
        logits = lm.lm_head(hidden[:, :-1][sel])
        terms.nll, terms.n_tokens = F.cross_entropy(logits.float(), labels[sel], reduction="sum"), int(sel.sum())
        return terms

    # ---- inference ---------------------------------------------------------------------------
    def generation_config(self, num_beams: int | None = None, length_penalty: float | None = None,
                          max_new_tokens: int | None = None, eos_bias: float | None = None, **kwargs):
        """MooER's ``generate`` settings (config.json ``generation``), each overridable."""
        from transformers import GenerationConfig

        g = self.config.generation
        bias = g.eos_bias if eos_bias is None else eos_bias
        beams = g.num_beams if num_beams is None else num_beams
        if beams > 1:  # transformers warns about a length penalty without beams
            kwargs["length_penalty"] = g.length_penalty if length_penalty is None else length_penalty
        return GenerationConfig(
            num_beams=beams, do_sample=False, min_length=1,
            max_new_tokens=g.max_new_tokens if max_new_tokens is None else max_new_tokens,
            repetition_penalty=1.0, eos_token_id=self.tokenizer.eos_id, pad_token_id=self.tokenizer.pad_id,
            bos_token_id=None, sequence_bias={(self.tokenizer.eos_id,): bias} if bias else None, **kwargs,
        )

    @torch.inference_mode()
    def generate_ids(self, inputs: Sequence, task: str, **gen) -> list[list[int]]:
        """Token ids from Hugging Face ``generate`` on the spliced inputs: each row up to its first
        ``<|im_end|>``, without ``<|endoftext|>`` (:func:`.prompt.answer_ids`, MooER's stopping rule)."""
        batch = self.build_inputs(self._audio(inputs), task)
        out = self.lm.generate(inputs_embeds=batch.inputs_embeds, attention_mask=batch.attention_mask,
                               generation_config=self.generation_config(**gen))
        return [answer_ids(row, self.tokenizer.eos_id, self.tokenizer.pad_id) for row in out.tolist()]

    def generate(self, inputs: Sequence, task: str, num_beams: int | None = None, **gen) -> list[str]:
        """Text per input, MooER's decoding: HF ``generate(inputs_embeds=..., attention_mask=...)`` with
        num_beams 4, length_penalty 0.8, sequence_bias {(eos,): -0.2}, max_new_tokens 200 unless overridden.
        For ``asr_ast`` the text is ``transcript\\ntranslation`` (see :func:`.prompt.split_multitask`)."""
        ids = self.generate_ids(inputs, task, num_beams=num_beams, **gen)
        return [self.tokenizer.decode(x).strip() for x in ids]

    @torch.inference_mode()
    def prefix_lm(self, inputs: Sequence, task: str) -> ConditionedLM:
        """The LLM as a :class:`~lm.interface.LanguageModel` whose row b continues utterance b's
        ``[audio + prompt]`` prefix (batch size = ``len(inputs)``)."""
        audio = self._audio(inputs)
        batch = self.build_inputs(audio, task)
        lm = ConditionedLM(self.lm, self.tokenizer, batch.inputs_embeds, batch.attention_mask, name="speech_llm")
        lm.audio = audio  # the adapter outputs, for joint CTC/attention decoding (adapter_ctc_log_probs)
        return lm

    @torch.inference_mode()
    def prompt_only_lm(self, task: str, batch: int = 1) -> ConditionedLM:
        """Like :meth:`prefix_lm` but the prefix is the prompt alone, without audio (the internal LM for ILME)."""
        empty = torch.zeros(0, self.config.adapter.llm_dim, device=self.device)
        b = self.build_inputs([empty] * batch, task)
        return ConditionedLM(self.lm, self.tokenizer, b.inputs_embeds, b.attention_mask, name="speech_llm_prompt")

    # ---- save_pretrained / from_pretrained -----------------------------------------------------
    def _base_llm(self):
        """The LLM without LoRA, as a fresh model (LoRA wrappers' ``base_layer`` weights renamed back)."""
        lm = self.lm
        state = {k.replace(".base_layer.", "."): v for k, v in lm.state_dict().items() if "lora_" not in k}
        fresh = type(lm)(lm.config)
        fresh.load_state_dict(state, strict=True)
        return fresh

    def save_pretrained(self, folder: str | Path, dtype: torch.dtype = torch.float32, merge_lora: bool = False,
                        readme: str | None = None) -> None:
        """Write the folder described in the module docstring. ``merge_lora`` folds the LoRA into ``llm/``."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        cfg = copy.deepcopy(self.config)
        cfg.lora_merged = merge_lora or not self.has_lora
        (folder / "config.json").write_text(json.dumps(cfg.to_dict(), indent=2) + "\n")

        def cast(state: dict) -> dict:
            return {k: v.detach().to("cpu", dtype).contiguous() for k, v in state.items()}

        if self.encoder is not None:
            save_file(cast(self.encoder.state_dict()), str(folder / "encoder.safetensors"), metadata={"format": "pt"})
            if self.frontend.cmvn is not None:
                self.frontend.cmvn.save(folder / "am.mvn")
        adapter = {f"encoder_projector.{k}": v for k, v in self.encoder_projector.state_dict().items()}
        save_file(cast(adapter), str(folder / "adapter.safetensors"), metadata={"format": "pt"})
        if self.has_lora and merge_lora:
            llm = copy.deepcopy(self.llm).merge_and_unload()
        elif self.has_lora:
            llm = self._base_llm()
        else:  # never cast the live model
            llm = self.lm if self.lm.dtype == dtype else copy.deepcopy(self.lm)
        llm.to(dtype).save_pretrained(str(folder / "llm"))
        self.tokenizer.save(folder / "llm")
        if self.has_lora and not merge_lora:
            self.llm.save_pretrained(str(folder / "lora"))
            path = folder / "lora" / "adapter_model.safetensors"
            if dtype != torch.float32 and path.exists():
                save_file(cast(load_file(str(path))), str(path), metadata={"format": "pt"})
        if readme:
            (folder / "README.md").write_text(readme)

    @classmethod
    def from_pretrained(cls, folder: str | Path, merge_lora: bool = True, dtype: str | torch.dtype | None = None,
                        trainable: bool = False, device: str | torch.device = "cpu") -> SpeechLLM:
        """Load a speech LLM folder. ``merge_lora`` folds the LoRA in (inference); ``trainable`` keeps it
        separate and trainable (continued training)."""
        folder = Path(folder)
        cfg_path = folder / "config.json"
        if not cfg_path.exists():
            raise UserError(f"{folder}: not a speech LLM folder (missing config.json)")
        config = SpeechLLMConfig.from_dict(read_json_object(cfg_path, "model config"), str(cfg_path))
        need = ["adapter.safetensors", "llm/config.json"]
        if config.encoder_type == "sanm":
            need += ["encoder.safetensors", "am.mvn"]
        if not config.lora_merged:
            need.append("lora/adapter_config.json")
        for name in need:
            if not (folder / name).exists():
                raise UserError(f"{folder}: not a complete speech LLM folder (missing {name})")
        llm, tokenizer = load_llm(folder / "llm", dtype)
        cmvn = GlobalCMVN.from_file(folder / "am.mvn") if config.encoder_type == "sanm" else None
        model = cls(config, llm, tokenizer, cmvn)
        if model.encoder is not None:
            state = load_safetensors(folder / "encoder.safetensors")
            _check_state(model.encoder.state_dict(), state, str(folder / "encoder.safetensors"))
            model.encoder.load_state_dict({k: v.float() for k, v in state.items()})
        state = load_safetensors(folder / "adapter.safetensors")
        own = {f"encoder_projector.{k}": v for k, v in model.encoder_projector.state_dict().items()}
        _check_state(own, state, str(folder / "adapter.safetensors"))
        model.encoder_projector.load_state_dict({k[len("encoder_projector."):]: v.float() for k, v in state.items()})
        if not config.lora_merged:
            model.load_lora(folder / "lora", trainable=trainable)
            if merge_lora and not trainable:
                model.merge_lora()
        return model.to(device).eval()
