import json
import math
import os
import re
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
torch.set_num_threads(1)

from asrkit.encoder import SANMConfig  # noqa: E402
from asrkit.tokenizer import train_tokenizer  # noqa: E402
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
            # -D: no dither (its random LSBs made every test run train a slightly different model).
            subprocess.run(["sox", "-D", "-G", str(raw), "-r", "16000", "-c", "1", "-b", "16",
                            str(folder / f"{uid}.wav")], check=True)
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


# ---- hand-built CTC emissions and a tiny cat/rat world of LMs (test_decoding_methods.py, test_decoding_engine.py) ----
SENTS = ["the cat sat on the mat", "the rat ate the cheese", "a cat sat on a mat", "the dog sat on the rug"]


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """A BPE tokenizer over SENTS and KenLMs over it: a target domain where cats and rats are equally likely,
    a source domain (the AM's training text) of rats, and a word LM of cats."""
    from lm.ngram.build import build_ngram
    from lm.ngram.kenlm_lm import KenLM

    d = tmp_path_factory.mktemp("methods")
    tok = train_tokenizer(SENTS * 20, d / "sp.model", vocab_size=40)
    # The word "cat" vs "rat" must differ in exactly one piece for the ambiguity below.
    cat, rat = tok.encode("the cat sat on the mat"), tok.encode("the rat sat on the mat")
    assert len(cat) == len(rat) and sum(a != b for a, b in zip(cat, rat)) == 1

    def lm(name, lines, unit, order=3):
        (d / f"{name}.txt").write_text("\n".join(lines) + "\n")
        build_ngram([d / f"{name}.txt"], order, unit, d / f"{name}.arpa", tokenizer=tok if unit == "token" else None,
                    memory="64M")
        return KenLM.load(d / f"{name}.arpa", tokenizer=tok)

    # Target domain: cats and rats equally likely. Source domain (the AM's training text): rats everywhere.
    target = ["the cat sat on the mat", "the rat sat on the mat"] * 10 + ["the dog sat on the rug"]
    source = ["the rat sat on the mat"] * 30 + ["the cat sat on the mat"] + SENTS
    return {
        "dir": d, "tok": tok, "cat": cat, "rat": rat,
        "target_tok": lm("target_tok", target, "token"), "source_tok": lm("source_tok", source, "token"),
        "source_bigram": lm("source_bi", source, "token", order=2),
        "cat_word": lm("cat_word", ["the cat sat on the mat"] * 10 + SENTS, "word"),
    }


def lean_emissions(tok, units, k, lean_to, margin=0.02):
    """Peaky CTC frames for ``units`` with a blank after each unit; at unit k a near coin flip that leans to
    ``lean_to`` by ``margin``."""
    v = tok.vocab_size
    frames = []
    for i, u in enumerate(units):
        row = torch.full((v,), -20.0)
        if i == k:
            row[lean_to] = math.log(0.5) + margin
            row[u] = math.log(0.5) - margin
        else:
            row[u] = 0.0
        frames += [row, torch.full((v,), -20.0).index_fill(0, torch.tensor([0]), 0.0)]
    return torch.log_softmax(torch.stack(frames), dim=-1)


def ambiguous(world):
    """Truth: "the cat ..."; the acoustics lean slightly to "rat" (as an AM trained on rats would)."""
    cat, rat = world["cat"], world["rat"]
    k = next(i for i, (a, b) in enumerate(zip(cat, rat)) if a != b)
    return lean_emissions(world["tok"], cat, k, rat[k]), cat, rat


# ---- CTC frames from per-position piece probabilities (test_tlg.py, test_zh_lm.py) ----
def frame_emissions(tok, positions: list[dict[int, float]], noise: float = 0.0, seed: int = 0) -> torch.Tensor:
    """(T, V) log-probs: for each position a frame with the given piece probabilities, then a blank frame.
    The rest of each frame's mass is spread evenly; ``noise`` perturbs the logits (seeded)."""
    v = tok.vocab_size
    frames = []
    for pos in positions:
        for dist in (pos, {0: 0.9}):
            p = torch.full((v,), (1.0 - sum(dist.values())) / (v - len(dist)))
            for k, q in dist.items():
                p[k] = q
            frames.append(p.log())
    lp = torch.stack(frames)
    if noise:
        lp = lp + noise * torch.randn(lp.shape, generator=torch.Generator().manual_seed(seed))
    return torch.log_softmax(lp, dim=-1)


def piece_emissions(pieces: list[str], frames: list[dict[str, float]]) -> torch.Tensor:
    """Log-probabilities (T, V) over ``pieces`` (blank first) from per-frame {piece: prob}; the rest of each
    frame's mass goes to the blank, every other piece gets 1e-4 before renormalising."""
    index = {p: i for i, p in enumerate(pieces)}
    rows = []
    for f in frames:
        row = torch.full((len(pieces),), 1e-4)
        for unit, p in f.items():
            row[index[unit]] = p
        row[0] = max(1e-4, 1.0 - sum(f.values()))
        rows.append(row / row.sum())
    return torch.log(torch.stack(rows))


def spell(tok, text: str, p: float = 0.9) -> list[dict[int, float]]:
    return [{k: p} for k in tok.encode(text)]


# ---- subtitles and processes (test_subtitles.py, test_cli_long_form.py, test_ddp.py, test_cli_methods.py) ----
VTT_TIME = r"(\d\d):(\d\d):(\d\d)\.(\d\d\d)"


def subtitle_seconds(m, i):
    h, mi, s, ms = (int(m.group(i + k)) for k in range(4))
    assert mi < 60 and s < 60
    return h * 3600 + mi * 60 + s + ms / 1000


def parse_vtt(text):
    assert text.startswith("WEBVTT\n\n") and text.endswith("\n\n")
    out = []
    for block in text[len("WEBVTT\n\n"):-2].split("\n\n"):
        lines = block.split("\n")
        m = re.fullmatch(VTT_TIME + " --> " + VTT_TIME, lines[0])
        assert m, lines[0]
        assert len(lines) >= 2 and all(line.strip() and "-->" not in line for line in lines[1:])
        out.append((subtitle_seconds(m, 1), subtitle_seconds(m, 5), " ".join(lines[1:])))
    return out


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now (for torchrun rendezvous and test servers)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
