"""Load a MooER release folder (github.com/MooreThreads/MooER) with a separately given Qwen2-Instruct folder.

Release layout::

    paraformer_encoder/am.mvn                  Kaldi nnet CMVN (560 dims)
    paraformer_encoder/paraformer-encoder.pth  bare SANMEncoder state dict (no ``encoder.`` prefix)
    {asr,ast,asr_ast_mtl}/adapter_project.pt   encoder_projector.linear{1,2}.{weight,bias}
    {asr,ast,asr_ast_mtl}/lora_weights/        peft: adapter_config.json, adapter_model.bin

The encoder's shape (blocks, widths, kernel) is read from the checkpoint's tensor shapes; the attention
head count is not visible in the weights and defaults to Paraformer's 4. The adapter's widths and
downsample rate come from ``adapter_project.pt`` (``in = k * encoder_dim``). Every piece is loaded
strictly (MooER itself loads with ``strict=False``, which silently keeps random weights on a key mismatch):
a missing file, a key or a shape that does not fit is refused with one :class:`UserError` line.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import torch

from asrkit.encoder import SANMConfig, SANMEncoder, encoder_state_dict, load_encoder_weights
from asrkit.errors import UserError
from asrkit.frontend import GlobalCMVN
from asrkit.models.speech_llm.config import AdapterConfig, LoraSettings, SpeechLLMConfig
from asrkit.models.speech_llm.model import SpeechLLM, load_llm
from asrkit.models.speech_llm.prompt import TASK_PROMPTS

# Task -> the release sub-folders that can serve it, in order of preference. MooER's README drives the
# multitask model with the ``ast`` prompt; its answer is "transcript\ntranslation".
TASK_FOLDERS = {"asr": ("asr", "asr_ast_mtl"), "ast": ("ast", "asr_ast_mtl"), "asr_ast": ("asr_ast_mtl",)}
FOLDER_PROMPTS = {
    "asr": {"asr": TASK_PROMPTS["asr"]},
    "ast": {"ast": TASK_PROMPTS["ast"]},
    "asr_ast_mtl": {"asr": TASK_PROMPTS["asr"], "ast": TASK_PROMPTS["ast"], "asr_ast": TASK_PROMPTS["ast"]},
}
ADAPTER_KEYS = ("encoder_projector.linear1.weight", "encoder_projector.linear1.bias",
                "encoder_projector.linear2.weight", "encoder_projector.linear2.bias")
BUNDLED_LLM_NAMES = ("Qwen2-7B-Instruct", "llm")


def is_mooer_release(path: str | Path) -> bool:
    """A release root (has ``paraformer_encoder/``) or one of its task sub-folders."""
    path = Path(path)
    return (path / "paraformer_encoder").is_dir() or (
        (path / "adapter_project.pt").exists() and (path.parent / "paraformer_encoder").is_dir())


def _torch_load(path: Path) -> dict:
    if not path.exists():
        raise UserError(f"{path}: missing (MooER release layout: see docs/speech_llm.md)")
    try:
        obj = torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception as err:  # pickle/zip errors of many types; one line for the user
        raise UserError(f"{path}: cannot read checkpoint ({str(err).splitlines()[0][:120]})") from None
    if isinstance(obj, dict) and isinstance(obj.get("state_dict"), dict):
        obj = obj["state_dict"]
    if not isinstance(obj, dict) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise UserError(f"{path}: not a state dict of tensors")
    return obj


def infer_sanm_config(state: dict[str, torch.Tensor], where: str, attention_heads: int = 4) -> SANMConfig:
    """SANM encoder shape from its state dict (FunASR names, bare or under ``encoder.``)."""
    state = encoder_state_dict(state)
    try:
        blocks = {int(m.group(1)) for k in state if (m := re.match(r"encoders\.(\d+)\.", k))}
        out = state["after_norm.weight"].shape[0]
        cfg = SANMConfig(
            input_size=state["encoders0.0.norm1.weight"].shape[0], output_size=out,
            attention_heads=attention_heads, linear_units=state["encoders0.0.feed_forward.w_1.weight"].shape[0],
            num_blocks=1 + len(blocks), kernel_size=state["encoders0.0.self_attn.fsmn_block.weight"].shape[-1],
            dropout_rate=0.0, positional_dropout_rate=0.0, attention_dropout_rate=0.0,
        )
    except KeyError as err:
        raise UserError(f"{where}: not a Paraformer SANM encoder checkpoint (no {err.args[0]})") from None
    if out % attention_heads:
        raise UserError(f"{where}: encoder width {out} is not divisible by {attention_heads} attention heads")
    return cfg


def _targets(t) -> list[str]:
    # peft stores a list of module names, or one regex string.
    return [t] if isinstance(t, str) else sorted(t or [])


def resolve_release(path: str | Path, task: str) -> tuple[Path, Path]:
    """(release root, task sub-folder) for ``task``."""
    path = Path(path)
    if task not in TASK_FOLDERS:
        raise UserError(f"task {task!r} is not one of {sorted(TASK_FOLDERS)}")
    if (path / "adapter_project.pt").exists() and not (path / "paraformer_encoder").is_dir():
        if path.name not in FOLDER_PROMPTS:
            raise UserError(f"{path}: unknown MooER task folder name (expected one of {sorted(FOLDER_PROMPTS)})")
        if task not in FOLDER_PROMPTS[path.name]:
            raise UserError(f"{path}: a MooER '{path.name}' model cannot do task {task!r} "
                            f"(it serves --task {'|'.join(FOLDER_PROMPTS[path.name])})")
        return path.parent, path
    for name in TASK_FOLDERS[task]:
        if (path / name / "adapter_project.pt").exists():
            return path, path / name
    raise UserError(f"{path}: no MooER model for task {task!r} (looked for "
                    f"{', '.join(n + '/adapter_project.pt' for n in TASK_FOLDERS[task])})")


def load_mooer_release(path: str | Path, llm: str | Path | None, task: str = "asr",
                       dtype: str | torch.dtype | None = None, merge_lora: bool = True,
                       attention_heads: int = 4, device: str | torch.device = "cpu") -> SpeechLLM:
    """A MooER release (root or task sub-folder) + Qwen2-Instruct folder ``llm`` -> :class:`SpeechLLM`."""
    root, sub = resolve_release(path, task)
    if llm is None:
        found = [root / n for n in BUNDLED_LLM_NAMES if (root / n / "config.json").exists()]
        if not found:
            raise UserError(f"{root}: a MooER release needs its LLM folder: pass --llm QWEN2_INSTRUCT_DIR")
        llm = found[0]
    enc_dir = root / "paraformer_encoder"
    enc_path = enc_dir / "paraformer-encoder.pth"
    enc_cfg = infer_sanm_config(_torch_load(enc_path), str(enc_path), attention_heads)
    encoder = SANMEncoder(enc_cfg)
    load_encoder_weights(encoder, enc_path)
    cmvn = GlobalCMVN.from_file(enc_dir / "am.mvn")
    if cmvn.dim != enc_cfg.input_size:
        raise UserError(f"{enc_dir / 'am.mvn'}: {cmvn.dim} dims but the encoder takes {enc_cfg.input_size}")

    ad_path = sub / "adapter_project.pt"
    ad = _torch_load(ad_path)
    missing = [k for k in ADAPTER_KEYS if k not in ad]
    unexpected = sorted(set(ad) - set(ADAPTER_KEYS))
    if missing or unexpected:
        raise UserError(f"{ad_path}: adapter keys do not match MooER's LinearAdapter "
                        f"(missing {missing}, unexpected {unexpected[:4]})")
    hidden, k_in = ad["encoder_projector.linear1.weight"].shape
    llm_dim = ad["encoder_projector.linear2.weight"].shape[0]
    if k_in % enc_cfg.output_size:
        raise UserError(f"{ad_path}: adapter input {k_in} is not a multiple of the encoder width "
                        f"{enc_cfg.output_size}")
    lora_dir = sub / "lora_weights"
    try:
        lcfg = json.loads((lora_dir / "adapter_config.json").read_text())
    except FileNotFoundError:
        raise UserError(f"{lora_dir}: no adapter_config.json (not a LoRA folder)") from None
    except json.JSONDecodeError as err:
        raise UserError(f"{lora_dir / 'adapter_config.json'}: invalid JSON ({err})") from None
    config = SpeechLLMConfig(
        encoder=enc_cfg,
        adapter=AdapterConfig(encoder_dim=enc_cfg.output_size, llm_dim=int(llm_dim), hidden_dim=int(hidden),
                              downsample_rate=k_in // enc_cfg.output_size),
        lora=LoraSettings(r=int(lcfg.get("r", 64)), alpha=int(lcfg.get("lora_alpha", 16)),
                          dropout=float(lcfg.get("lora_dropout", 0.05)),
                          target_modules=_targets(lcfg.get("target_modules"))),
        prompts=dict(FOLDER_PROMPTS[sub.name]),
    )
    llm_model, tokenizer = load_llm(llm, dtype)
    width = llm_model.get_input_embeddings().weight.shape[1]
    if width != llm_dim:
        raise UserError(f"{ad_path}: the adapter outputs {llm_dim} dims but the LLM {llm} has hidden size {width} "
                        f"(wrong --llm folder?)")
    model = SpeechLLM(config, llm_model, tokenizer, cmvn, encoder)
    model.encoder_projector.load_state_dict({k[len("encoder_projector."):]: v.float() for k, v in ad.items()})
    model.load_lora(lora_dir)
    if merge_lora:
        model.merge_lora()
    return model.to(device).eval()
