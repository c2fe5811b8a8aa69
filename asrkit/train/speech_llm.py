"""Train a speech LLM's adapter and LoRA on top of a frozen encoder and a pretrained LLM (MooER recipe).

Only ``encoder_projector`` (the LinearAdapter) and the LoRA matrices are trained; the encoder and the
LLM's own weights stay frozen. Loss: summed NLL of the answer tokens (target text + ``<|im_end|>``)
divided by their number (mean per token). Each example has a task (``asr``: transcript, ``ast``:
English translation, ``asr_ast``: both on two lines) and the task's MooER prompt. Encoder outputs are
computed once per manifest and cached (:mod:`asrkit.train.speech_llm_data`), so training runs the adapter
and the LLM only.

AdamW, linear warmup + cosine decay, gradient clipping, bf16 autocast; resumable checkpoints
(``EXP/checkpoint.pt``), logging and the DDP split (each rank takes every world_size-th batch; gloo on
CPU, nccl on GPU, under ``torchrun``) come from :mod:`asrkit.train` (the epoch loop of
:mod:`asrkit.train.loop`). After each epoch: dev loss, and greedy WER (asr) / BLEU (ast) on the dev
manifests. The final model folder is ``EXP/model``.

Optionally (``optim.ctc_warmup_steps``) the adapter is first trained alone with the CTC loss of
:mod:`asrkit.models.speech_llm.aux_ctc` (the spoken transcript in LLM tokens), which makes a tiny LLM
start using the audio much sooner; the LR schedule spans warm-up and main phase, and a resumed run
continues in the right phase.

    asrkit speech-llm train --config conf.json --encoder-model CTC_DIR --llm LLM_DIR \\
        --data train_en.jsonl:asr train_es.jsonl:ast --dev dev_en.jsonl:asr dev_es.jsonl:ast -o EXP
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from torch.nn.parallel import DistributedDataParallel

from asrkit.errors import UserError
from asrkit.models.ctc import CTCModel
from asrkit.models.speech_llm.aux_ctc import ctc_greedy_text
from asrkit.models.speech_llm.config import AdapterConfig, LoraSettings, SpeechLLMConfig
from asrkit.models.speech_llm.model import LossTerms, SpeechLLM, load_llm
from asrkit.models.speech_llm.prompt import TASK_PROMPTS
from asrkit.train import distributed
from asrkit.train.bookkeeping import epochs_schedule
from asrkit.train.loop import EpochTrainer
from asrkit.train.precision import autocast, describe_precision
from asrkit.train.speech_llm_data import collate, encoder_cache, make_batches, make_examples
from asrkit.utils.config_io import load_config
from asrkit.utils.progress import progress


@dataclass
class SpeechLLMOptim:
    epochs: int = 4
    lr: float = 1e-3
    warmup_steps: int = 200
    final_lr_ratio: float = 0.05
    weight_decay: float = 0.01
    max_tokens: int = 3000  # padded LLM positions per batch (per rank)
    max_duration: float = 20.0  # longer training utterances are skipped
    grad_clip: float = 1.0
    amp: str = "bf16"
    seed: int = 0
    save_every: int = 100
    log_every: int = 25
    dev_max_new_tokens: int = 120
    # Adapter CTC (aux_ctc.py): adapter-only warm-up steps before the LLM loss, and the weight of the same
    # loss added afterwards (0 = MooER's loss alone). Not in MooER; needed by tiny LLMs on small budgets.
    ctc_warmup_steps: int = 0
    ctc_weight: float = 0.0
    ctc_tau: float = 0.1
    ctc_max_tokens: int = 6000  # warm-up batch size (the LLM is not run, so batches can be larger)
    ctc_lr: float = 3e-3  # warm-up LR (linear ramp over its first 100 steps, then constant)
    # Word dropout of the teacher-forced answer tokens (SpeechLLM.forward): 0 = MooER's training.
    word_dropout: float = 0.0


@dataclass
class SpeechLLMTrainConfig:
    adapter_hidden: int = 2048
    downsample_rate: int = 2
    lora: LoraSettings = field(default_factory=LoraSettings)
    optim: SpeechLLMOptim = field(default_factory=SpeechLLMOptim)

    @classmethod
    def load(cls, path: str | Path | None) -> SpeechLLMTrainConfig:
        return load_config(cls, path, "speech LLM training config")

    def to_dict(self) -> dict:
        return {"adapter_hidden": self.adapter_hidden, "downsample_rate": self.downsample_rate,
                "lora": asdict(self.lora), "optim": asdict(self.optim)}


def parse_spec(spec: str) -> tuple[Path, str]:
    """``manifest.jsonl:task`` -> (path, task)."""
    path, sep, task = spec.rpartition(":")
    if not sep or not path:
        raise UserError(f"{spec}: expected MANIFEST:TASK (e.g. train_en.jsonl:asr)")
    if not Path(path).exists():
        raise UserError(f"{path}: no such manifest")
    return Path(path), task


class SpeechLLMTrainer(EpochTrainer):
    def __init__(self, config: SpeechLLMTrainConfig, encoder_model: str | Path, llm: str | Path, data: list[str],
                 exp: str | Path, dev: list[str] | None = None, feats_dir: str | Path | None = None,
                 cache_dir: str | Path | None = None, init_adapter: str | Path | None = None, nj: int = 1,
                 quiet: bool = False):
        self.cfg, self.quiet = config, quiet
        self.exp = Path(exp)
        self.rank, self.world, self.device = distributed.setup()
        self.main = self.rank == 0
        if self.main:
            self.exp.mkdir(parents=True, exist_ok=True)
            (self.exp / "train_config.json").write_text(json.dumps(config.to_dict(), indent=2) + "\n")
        ctc = CTCModel.from_pretrained(encoder_model).to(self.device)
        cache = Path(cache_dir) if cache_dir else self.exp / "enc_cache"
        specs = [parse_spec(s) for s in data]
        dev_specs = [parse_spec(s) for s in dev or []]
        # Rank 0 fills the caches first so the other ranks only read them.
        if self.main:
            for path, _ in specs + dev_specs:
                encoder_cache(path, ctc.encoder, ctc.frontend, cache, feats_dir, nj=nj)
        distributed.barrier()
        caches = [encoder_cache(p, ctc.encoder, ctc.frontend, cache, feats_dir) for p, _ in specs + dev_specs]
        self.sources = [c[0] for c in caches]

        llm_model, tok = load_llm(llm)
        torch.manual_seed(config.optim.seed)
        mcfg = SpeechLLMConfig(
            encoder=ctc.config.encoder, frontend=ctc.config.frontend,
            adapter=AdapterConfig(encoder_dim=ctc.config.encoder.output_size,
                                  llm_dim=llm_model.get_input_embeddings().weight.shape[1],
                                  hidden_dim=config.adapter_hidden, downsample_rate=config.downsample_rate),
            lora=config.lora,
            # The model serves the tasks it is trained on; others are refused with the task list.
            prompts={t: TASK_PROMPTS[t] for t in sorted({task for _, task in specs}) if t in TASK_PROMPTS},
        )
        self.model = SpeechLLM(mcfg, llm_model, tok, ctc.frontend.cmvn, ctc.encoder).to(self.device)
        if init_adapter is not None:
            self._load_adapter(Path(init_adapter))
        self.model.add_lora()
        self.tok = tok
        o = config.optim
        max_enc = int(o.max_duration / ctc.config.frontend.frame_shift_s)
        self.train_ex = []
        for i, (_path, task) in enumerate(specs):
            self.model.prompt_ids(task)  # refuses unknown tasks
            self.train_ex += make_examples(caches[i][1], task, i, tok.encode, tok.eos_id, max_enc)
        self.dev_sets = []  # (task, examples)
        for j, (path, task) in enumerate(dev_specs):
            src = len(specs) + j
            self.dev_sets.append((path.stem, task, make_examples(caches[src][1], task, src, tok.encode, tok.eos_id)))
        if not self.train_ex:
            raise UserError("no training examples (check the manifests' text/translation fields)")
        self.prompt_len = max(len(self.model.prompt_ids(t)) for _, t in specs)
        # The warm-up leaves the LoRA without gradients, which DDP must be told about.
        self.ddp = (
            DistributedDataParallel(self.model, device_ids=[self.device.index] if self.device.type == "cuda" else None,
                                    find_unused_parameters=config.optim.ctc_warmup_steps > 0)
            if self.world > 1 else self.model
        )
        params = self.model.trainable_parameters()
        decay = [p for p in params if p.dim() > 1]
        no_decay = [p for p in params if p.dim() <= 1]
        self.opt = torch.optim.AdamW([{"params": decay, "weight_decay": o.weight_decay},
                                      {"params": no_decay, "weight_decay": 0.0}], lr=o.lr, betas=(0.9, 0.98))
        self.steps_per_epoch = len(self._batches(0)) // self.world
        if self.steps_per_epoch == 0:
            raise UserError("too little data for one batch per process")
        self.warm_per_epoch = max(1, len(self._warm_batches(0)) // self.world)
        main = epochs_schedule(o, self.steps_per_epoch, offset=o.ctc_warmup_steps)

        def schedule(step: int) -> float:
            # LR multiplier: the warm-up phase has its own constant LR, the main phase MooER's warmup + decay.
            if step < o.ctc_warmup_steps:
                return min(1.0, (step + 1) / 100) * o.ctc_lr / o.lr
            return main(step)

        self.sched = torch.optim.lr_scheduler.LambdaLR(self.opt, schedule)
        self.epoch, self.batch_in_epoch, self.step = 0, 0, 0
        self.history: list[dict] = []
        n_train = sum(p.numel() for p in params)
        n_all = sum(p.numel() for p in self.model.parameters())
        tasks = {t: sum(e.task == t for e in self.train_ex) for t in sorted({e.task for e in self.train_ex})}
        self.log(f"speech LLM {n_all / 1e6:.2f}M params, {n_train / 1e6:.2f}M trainable (adapter + LoRA); "
                 f"train examples {tasks}; {self.steps_per_epoch} steps/epoch, world {self.world}, {self.device}; "
                 f"precision: {describe_precision(self.device.type, o.amp)}")

    def _load_adapter(self, folder: Path) -> None:
        """Start the adapter from a speech LLM folder's ``adapter.safetensors`` (continued training)."""
        from safetensors.torch import load_file

        path = folder / "adapter.safetensors"
        if not path.exists():
            raise UserError(f"{folder}: no adapter.safetensors to start the adapter from")
        prefix = "encoder_projector."
        state = {k[len(prefix):]: v.float() for k, v in load_file(str(path)).items() if k.startswith(prefix)}
        own = self.model.encoder_projector.state_dict()
        if set(state) != set(own) or any(state[k].shape != v.shape for k, v in own.items()):
            raise UserError(f"{path}: adapter keys/shapes do not match this encoder and LLM")
        self.model.encoder_projector.load_state_dict(state)
        self.log(f"adapter initialised from {path}")

    def _batches(self, epoch: int) -> list[list[int]]:
        o = self.cfg.optim
        return make_batches(self.train_ex, o.max_tokens, o.seed + epoch, self.cfg.downsample_rate, self.prompt_len)

    def _warm_batches(self, epoch: int) -> list[list[int]]:
        o = self.cfg.optim
        return make_batches(self.train_ex, o.ctc_max_tokens, o.seed + 1000 + epoch, self.cfg.downsample_rate, 0)

    def _loss(self, model, batch: list[int], examples, llm: bool = True, ctc: bool = False) -> LossTerms:
        enc, lens, tasks, answers, spoken = collate(batch, examples, self.sources)
        with autocast(self.device.type, self.cfg.optim.amp):
            return model(enc.to(self.device), lens.to(self.device), tasks, answers if llm else None,
                         spoken if ctc else None, self.cfg.optim.ctc_tau, self.cfg.optim.word_dropout)

    def warmup(self) -> None:
        """Adapter-only CTC steps (global steps ``0 .. ctc_warmup_steps - 1``); resumable by step."""
        o = self.cfg.optim
        if self.step >= o.ctc_warmup_steps:
            return
        self.ddp.train()
        tot, n_tok, t0, cur = 0.0, 0, time.time(), None
        bar = progress(range(self.step, o.ctc_warmup_steps), desc="adapter CTC warm-up", unit="batch",
                       disable=not self.main or self.quiet, initial=self.step, total=o.ctc_warmup_steps)
        for s in bar:
            e, i = divmod(s, self.warm_per_epoch)
            if cur != e:
                batches, cur = self._warm_batches(e)[self.rank :: self.world][: self.warm_per_epoch], e
            terms = self._loss(self.ddp, batches[i], self.train_ex, llm=False, ctc=True)
            self.optimizer_step(terms.total(1.0), 1, -1, o.grad_clip, o.save_every)
            tot, n_tok = tot + terms.ctc_value, n_tok + terms.n_ctc
            if self.step % o.log_every == 0:
                self.log(f"warm-up step {self.step} adapter CTC loss/token {tot / max(1, n_tok):.3f} "
                         f"lr {self.sched.get_last_lr()[0]:.2e} {n_tok / (time.time() - t0):.0f} tokens/s")
                tot, n_tok, t0 = 0.0, 0, time.time()
        self.batch_in_epoch = 0
        if self.main:
            self.log("adapter CTC reading of dev utterances after warm-up: " + " | ".join(self._ctc_samples()))
        self.save_checkpoint()

    @torch.inference_mode()
    def _ctc_samples(self, n: int = 2) -> list[str]:
        out = []
        for _, _, exs in self.dev_sets[:1]:
            for ex in exs[:n]:
                enc, lens, *_ = collate([exs.index(ex)], exs, self.sources)
                y = self.model.encoder_projector(enc.to(self.device))[0, : int(lens[0]) // self.cfg.downsample_rate]
                out.append(ctc_greedy_text(y, self.model.lm.get_input_embeddings().weight, self.tok.pad_id,
                                           self.tok.decode))
        return out

    # ---- the epoch loop's parts (asrkit/train/loop.py) --------------------------------------
    loss_unit, rate_unit = "token", "tokens/s"

    def epoch_batches(self, epoch: int) -> list[list[int]]:
        return self._batches(epoch)

    def batch_loss(self, index: int, batch: list[int]) -> tuple[torch.Tensor, int, float, int]:
        o = self.cfg.optim
        terms = self._loss(self.ddp, batch, self.train_ex, ctc=o.ctc_weight > 0)
        # total() is already a mean per token (and per CTC token): the step divides by 1.
        return terms.total(o.ctc_weight), 1, terms.nll_value, terms.n_tokens

    def epoch_record(self, loss_sum: float, count: int) -> dict:
        return {"train_loss": loss_sum / max(1, count), **self.evaluate()}

    def epoch_written(self) -> None:
        # A usable folder after every epoch, so a run cut short still leaves a model to evaluate.
        self.model.eval().save_pretrained(self.exp / "last_epoch_model")
        (self.exp / "last_epoch_model" / "train_history.json").write_text(json.dumps(self.history, indent=2) + "\n")
        self.model.train()

    def finish(self) -> None:
        self.model.eval().save_pretrained(self.exp / "model")
        (self.exp / "model" / "train_history.json").write_text(json.dumps(self.history, indent=2) + "\n")
        self.log(f"wrote {self.exp / 'model'}")

    def train(self) -> None:
        """The adapter CTC warm-up (if configured), then the epochs."""
        self.warmup()
        self.run_epochs(self.cfg.optim)

    @torch.inference_mode()
    def evaluate(self) -> dict:
        """Per dev set: teacher-forced loss per token, and greedy WER (asr) or BLEU (ast) of generated text."""
        from asrkit.metrics import corpus_bleu, wer

        self.model.eval()
        out: dict = {}
        o = self.cfg.optim
        for name, task, exs in self.dev_sets:
            if not exs:
                continue
            tot, n, hyps, refs = 0.0, 0, [], []
            batches = make_batches(exs, o.max_tokens, 0, self.cfg.downsample_rate, self.prompt_len)
            for batch in batches:
                terms = self._loss(self.model, batch, exs)
                tot, n = tot + terms.nll_value, n + terms.n_tokens
                enc, lens, _, answers, _ = collate(batch, exs, self.sources)
                feats = [enc[i, : lens[i]] for i in range(len(batch))]
                hyps += self._generate_from_encoder(feats, task)
                refs += [self.tok.decode(a) for a in answers]
            out[f"{name}_loss"] = tot / max(1, n)
            if task == "asr":
                out[f"{name}_wer"] = wer(refs, hyps).value
            elif task == "ast":
                out[f"{name}_bleu"] = corpus_bleu(refs, hyps).value
        self.model.train()
        return out

    def _generate_from_encoder(self, enc: list[torch.Tensor], task: str) -> list[str]:
        m = self.model
        audio = m.audio_embeddings(torch.nn.utils.rnn.pad_sequence(enc, batch_first=True),
                                   torch.tensor([e.shape[0] for e in enc]))
        batch = m.build_inputs(audio, task)
        gen = m.lm.generate(inputs_embeds=batch.inputs_embeds, attention_mask=batch.attention_mask,
                            generation_config=m.generation_config(num_beams=1, max_new_tokens=self.cfg.optim
                                                                  .dev_max_new_tokens, eos_bias=0.0))
        return [self.tok.decode(row).strip() for row in gen.tolist()]
