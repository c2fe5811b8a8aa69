import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
torch.set_num_threads(1)

from asrkit.encoder import SANMConfig  # noqa: E402
from asrkit.train.config import OptimConfig, TrainConfig  # noqa: E402
from asrkit.train.trainer import Trainer  # noqa: E402

os.environ.setdefault("HF_HUB_OFFLINE", "1")


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


SENTENCES = [
    "in the beginning god created the heavens and the earth",
    "the earth was formless and empty",
    "god said let there be light and there was light",
    "god saw the light and saw that it was good",
]


def synth(folder, voices=("en-us", "en-gb+m3")):
    if not shutil.which("espeak-ng") or not shutil.which("sox"):
        pytest.fail("espeak-ng and sox are required (run install.sh)")
    lines = []
    for i, text in enumerate(SENTENCES):
        for v in voices:
            uid = f"u{i}-{v.replace('+', '_')}"
            raw = folder / f"{uid}.raw.wav"
            subprocess.run(["espeak-ng", "-v", v, "-s", "160", "-w", str(raw), text], check=True)
            subprocess.run(["sox", "-G", str(raw), "-r", "16000", "-c", "1", "-b", "16", str(folder / f"{uid}.wav")],
                           check=True)
            raw.unlink()
            lines.append({"id": uid, "audio": f"{uid}.wav", "text": text})
    manifest = folder / "m.jsonl"
    manifest.write_text("".join(json.dumps(x) + "\n" for x in lines))
    return manifest


@pytest.fixture(scope="session")
def trained(tmp_path_factory):
    """A tiny CTC model trained for real on espeak-ng speech: (folder, Trainer)."""
    folder = tmp_path_factory.mktemp("ctc")
    manifest = synth(folder)
    cfg = TrainConfig(
        vocab_size=40,
        encoder=SANMConfig(output_size=48, attention_heads=2, linear_units=96, num_blocks=2, dropout_rate=0.0,
                           positional_dropout_rate=0.0, attention_dropout_rate=0.0),
        optim=OptimConfig(epochs=25, lr=3e-3, warmup_steps=10, max_frames=300, specaug=False, save_every=1000,
                          log_every=1000, average_last=1),
    )
    trainer = Trainer(cfg, str(manifest), str(manifest), str(folder / "exp"), nj=1)
    trainer.train()
    return folder, trainer




# ---- a tiny random speech LLM and MooER release folders (test_speech_llm.py, test_mooer_release_cli.py) ----
SPEECH_LLM_CORPUS = ["In the beginning, God created the heavens and the earth.", "The earth was formless and empty.",
                     "God said, let there be light, and there was light.",
                     "En el principio crió Dios los cielos y la tierra."]


@pytest.fixture(scope="module")
def tiny_speech_llm(tmp_path_factory) -> dict:
    """SANM 2x32, adapter 64->48->32, Qwen2 2x32 with a LoRA whose B matrices are randomised (so the LoRA is not a
    no-op), and a BPE tokenizer trained here with Qwen's special tokens. Module scope: some tests add LoRA layers
    to its LLM. Returns {"tok", "llm_dir" (the Qwen2 folder), "model", "waves" (two noise waveforms)}."""
    import numpy as np
    from transformers import Qwen2Config, Qwen2ForCausalLM

    from asrkit.frontend import GlobalCMVN
    from asrkit.models.speech_llm import (
        QWEN_CHAT_TEMPLATE,
        TASK_PROMPTS,
        AdapterConfig,
        LoraSettings,
        SpeechLLM,
        SpeechLLMConfig,
    )
    from asrkit.models.speech_llm.prompt import render_prompt
    from asrkit.models.speech_llm.tokenizer import train_bpe_tokenizer

    texts = SPEECH_LLM_CORPUS * 20 + [render_prompt(QWEN_CHAT_TEMPLATE, p) for p in TASK_PROMPTS.values()] * 5
    tok = train_bpe_tokenizer(texts, 300)
    torch.manual_seed(0)
    qcfg = Qwen2Config(vocab_size=len(tok), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                       num_attention_heads=4, num_key_value_heads=2, eos_token_id=tok.eos_id,
                       pad_token_id=tok.pad_id, tie_word_embeddings=False)
    llm = Qwen2ForCausalLM(qcfg).eval()
    llm_dir = tmp_path_factory.mktemp("qwen")
    llm.save_pretrained(llm_dir)
    tok.save(llm_dir)
    cfg = SpeechLLMConfig(
        encoder=SANMConfig(output_size=32, attention_heads=4, linear_units=64, num_blocks=2),
        adapter=AdapterConfig(encoder_dim=32, llm_dim=32, hidden_dim=48, downsample_rate=2),
        lora=LoraSettings(r=4, alpha=8),
    )
    cmvn = GlobalCMVN(torch.full((560,), -8.0) + 0.1 * torch.randn(560), 0.15 + 0.02 * torch.rand(560))
    model = SpeechLLM(cfg, llm, tok, cmvn)
    model.add_lora()
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "lora_B" in name:
                p.normal_(0.0, 0.3)
    model.eval()
    rng = np.random.default_rng(0)
    # 1.00 s -> 98 fbank frames -> T_lfr 17 (odd: one frame dropped); 1.45 s -> 143 -> T_lfr 24.
    waves = [0.1 * rng.standard_normal(n).astype(np.float32) for n in (16000, 23200)]
    return {"tok": tok, "llm_dir": llm_dir, "model": model, "waves": waves}


def make_mooer_release(m, root: Path, sub: str = "asr_ast_mtl") -> Path:
    """Write speech LLM ``m`` as a MooER release with the real layout: ``paraformer_encoder/{am.mvn,
    paraformer-encoder.pth}`` and ``SUB/adapter_project.pt`` + ``SUB/lora_weights/`` (peft, adapter_model.bin).
    Call again with another ``sub`` to add a task folder to the same root."""
    from safetensors.torch import load_file

    enc = root / "paraformer_encoder"
    if not enc.is_dir():
        enc.mkdir(parents=True)
        m.frontend.cmvn.save(enc / "am.mvn")
        torch.save(m.encoder.state_dict(), enc / "paraformer-encoder.pth")
    (root / sub).mkdir()
    adapter = {f"encoder_projector.{k}": v.clone() for k, v in m.encoder_projector.state_dict().items()}
    torch.save(adapter, root / sub / "adapter_project.pt")
    lora = root / sub / "lora_weights"
    m.llm.save_pretrained(str(lora))
    # Released LoRA weights are adapter_model.bin (torch pickles), not safetensors.
    torch.save(load_file(str(lora / "adapter_model.safetensors")), lora / "adapter_model.bin")
    (lora / "adapter_model.safetensors").unlink()
    return root


# ---- tiny TLG graphs (test_tlg.py; `asrkit decode --method tlg` on the trained model, test_cli_methods.py) ----
def build_word_lm_and_tlg(folder: Path, tokenizer, lines: list[str], topologies=("standard",)):
    """A word 3-gram of ``lines`` (``folder/word3.arpa``) and one TLG graph per CTC topology over ``tokenizer``
    (``folder/graph_TOPOLOGY``). Returns (arpa, {topology: graph folder}, {topology: graph.json dict})."""
    from decoders.tlg import build_tlg
    from lm.ngram.build import build_ngram

    (folder / "corpus.txt").write_text("\n".join(lines) + "\n")
    arpa = folder / "word3.arpa"
    build_ngram([folder / "corpus.txt"], 3, "word", arpa)
    graphs = {topo: folder / f"graph_{topo}" for topo in topologies}
    infos = {topo: build_tlg(arpa, tokenizer, g, topology=topo) for topo, g in graphs.items()}
    return arpa, graphs, infos


@pytest.fixture(scope="session")
def trained_tlg(trained, tmp_path_factory):
    """The trained CTC model's folder and a TLG graph over its tokenizer from a word 3-gram of its sentences."""
    model = trained[0] / "exp" / "model"
    _, graphs, _ = build_word_lm_and_tlg(tmp_path_factory.mktemp("tlg_trained"), model / "tokenizer.model",
                                         SENTENCES * 5)
    return model, graphs["standard"]
