"""Neural LMs: asrkit's Transformer LM and local Hugging Face causal LMs behind the LM interface.

The Hugging Face model is a tiny random Qwen2 (vocab 80, hidden 32, 2 layers, 4 heads, 2 KV heads)
saved with ``save_pretrained`` next to a tiny asrkit sentencepiece ``tokenizer.model`` (60 pieces,
no BOS/EOS pieces): HFCausalLM falls back to that file because the folder has no HF tokenizer files,
and takes BOS/EOS from config.json (ids 60 and 61, which the tokenizer never produces).
"""

import json
import math
import random
import shutil

import pytest
import torch

from asrkit.cli.main import main as cli
from asrkit.errors import UserError
from asrkit.tokenizer import train_tokenizer
from lm.causal import HFCausalLM
from lm.interface import LanguageModel
from lm.load import load_lm
from lm.neural import TransformerLM, TransformerLMConfig

torch.set_num_threads(1)

WORDS = {
    "subj": ["the king", "the people", "moses", "the lord", "his servant", "the prophet"],
    "verb": ["spoke to", "went unto", "blessed", "sent", "called", "saw"],
    "obj": ["the city", "israel", "the priests", "his brethren", "the children of israel", "the land"],
}


def corpus(n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    return [f"{rng.choice(WORDS['subj'])} {rng.choice(WORDS['verb'])} {rng.choice(WORDS['obj'])}" for _ in range(n)]


@pytest.fixture(scope="module")
def spm(tmp_path_factory):
    path = tmp_path_factory.mktemp("spm") / "tokenizer.model"
    return train_tokenizer(corpus(200, 0), path, vocab_size=60)


def tiny_transformer(tok, positions="sinusoidal", seed=0) -> TransformerLM:
    torch.manual_seed(seed)
    cfg = TransformerLMConfig(vocab_size=tok.vocab_size, d_model=32, n_heads=4, n_layers=2, d_ff=64, dropout=0.0,
                              max_len=64, positions=positions)
    return TransformerLM(cfg, tok).eval()


@pytest.fixture(scope="module")
def qwen_dir(spm, tmp_path_factory):
    from transformers import Qwen2Config, Qwen2ForCausalLM

    torch.manual_seed(0)
    cfg = Qwen2Config(vocab_size=80, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                      num_attention_heads=4, num_key_value_heads=2, bos_token_id=60, eos_token_id=61, pad_token_id=62,
                      tie_word_embeddings=False)
    folder = tmp_path_factory.mktemp("qwen")
    Qwen2ForCausalLM(cfg).save_pretrained(folder)
    shutil.copy(spm.path, folder / "tokenizer.model")
    return folder


# ---- reference log-probabilities from one full forward pass -------------------------------
def ref_next_logp(lm, prefix: list[int]) -> torch.Tensor:
    """log p(. | <s> prefix) over all outputs, from a full (non-incremental) forward pass."""
    with torch.no_grad():
        if isinstance(lm, TransformerLM):
            logits, _ = lm(torch.tensor([[lm.eos_id, *prefix]]))
            return torch.log_softmax(logits[0, -1], -1)
        logits = lm.model(input_ids=torch.tensor([[lm.bos_id, *prefix]])).logits[0, -1].float()
        logits[0] = float("-inf")  # the spm fallback's <blk> (id 0) is masked by HFCausalLM
        return torch.log_softmax(logits, -1)


def check_state(lm, state, prefixes: list[list[int]]) -> None:
    assert len(state) == len(prefixes)
    full = lm.score(state)
    assert full.shape == (len(prefixes), len(lm.vocab))
    assert torch.isinf(full[:, 0]).all()  # blank
    for i, p in enumerate(prefixes):
        ref = ref_next_logp(lm, p)
        torch.testing.assert_close(full[i], ref[: full.shape[1]], atol=2e-5, rtol=1e-5)
        torch.testing.assert_close(lm.final_score(state)[i], ref[lm.eos_id], atol=2e-5, rtol=1e-5)


def random_walk(lm, n_units: int, steps: int = 4, seed: int = 0) -> None:
    """Advance random parents with random units, mixing in rows of older states (ragged lengths),
    and compare every state with full forward passes."""
    rng = random.Random(seed)
    state, prefixes = lm.init_state(2), [[], []]
    check_state(lm, state, prefixes)
    old, old_prefixes = state, prefixes
    for _ in range(steps):
        # A beam made of this step's rows and some rows of an older state: different lengths.
        keep = [rng.randrange(len(old)) for _ in range(2)]
        beam = lm.concat_states([state, lm.select_states(old, torch.tensor(keep))])
        beam_prefixes = prefixes + [old_prefixes[k] for k in keep]
        check_state(lm, beam, beam_prefixes)
        old, old_prefixes = state, prefixes
        parents = [rng.randrange(len(beam)) for _ in range(5)]
        units = [rng.randrange(1, n_units) for _ in parents]
        state = lm.advance(beam, torch.tensor(parents), torch.tensor(units))
        prefixes = [beam_prefixes[p] + [u] for p, u in zip(parents, units)]
        check_state(lm, state, prefixes)
    assert len({len(p) for p in beam_prefixes}) > 1  # the walk really was ragged


# ---- Transformer LM -------------------------------------------------------------------------
@pytest.mark.parametrize("positions", ["sinusoidal", "learned"])
def test_transformer_incremental_equals_full(spm, positions):
    lm = tiny_transformer(spm, positions)
    assert isinstance(lm, LanguageModel) and lm.unit == "token" and len(lm.vocab) == spm.vocab_size
    random_walk(lm, spm.vocab_size)


def test_transformer_candidates_and_sentences(spm):
    lm = tiny_transformer(spm)
    sents = [lm.encode_text(t) for t in ["Moses spoke to Israel!", "the land", ""]]
    assert sents[0] == spm.encode("moses spoke to israel")
    state = lm.init_state(3)
    total = torch.zeros(3)
    for t in range(max(map(len, sents)) + 1):
        alive = torch.tensor([t <= len(s) for s in sents])
        ended = torch.tensor([t == len(s) for s in sents])
        units = torch.tensor([s[t] if t < len(s) else 2 for s in sents])
        cand = torch.stack([units, torch.full_like(units, 5), torch.full_like(units, 0)], 1)
        sub = lm.score(state, cand)
        torch.testing.assert_close(sub, lm.score(state).gather(1, cand))
        torch.testing.assert_close(lm.score(state, torch.tensor([3, 7])), lm.score(state)[:, [3, 7]])
        step = torch.where(ended, lm.final_score(state), sub[:, 0])
        total += torch.where(alive, step, 0.0)
        state = lm.advance(state, torch.arange(3), units)
    torch.testing.assert_close(lm.score_sentences(sents), total, atol=1e-4, rtol=1e-5)
    # probabilities over units + </s> sum to one
    torch.testing.assert_close(lm.score(state).exp().sum(1) + lm.final_score(state).exp(), torch.ones(3))


def test_transformer_save_load(spm, tmp_path):
    lm = tiny_transformer(spm, "learned", seed=3)
    lm.save_pretrained(tmp_path / "lm")
    assert json.loads((tmp_path / "lm" / "config.json").read_text())["model_type"] == "transformer_lm"
    loaded = load_lm(tmp_path / "lm")
    assert isinstance(loaded, TransformerLM) and loaded.config == lm.config
    sents = [lm.encode_text(t) for t in corpus(5, 1)]
    torch.testing.assert_close(loaded.score_sentences(sents), lm.score_sentences(sents))


def test_lm_train_cli(spm, tmp_path, capsys):
    (tmp_path / "train.txt").write_text("\n".join(corpus(300, 1)) + "\n")
    (tmp_path / "dev.txt").write_text("\n".join(corpus(30, 2)) + "\n")
    conf = {"model": {"d_model": 32, "n_heads": 4, "n_layers": 1, "d_ff": 64, "dropout": 0.0, "max_len": 32},
            "optim": {"epochs": 6, "lr": 1e-2, "warmup_steps": 5, "max_tokens": 500, "log_every": 10,
                      "save_every": 10}}
    (tmp_path / "conf.json").write_text(json.dumps(conf))
    args = ["lm", "train", "--text", str(tmp_path / "train.txt"), "--dev", str(tmp_path / "dev.txt"),
            "--tokenizer", str(spm.path), "--output", str(tmp_path / "lm"), "--config", str(tmp_path / "conf.json")]
    assert cli(args) == 0
    history = json.loads((tmp_path / "lm" / "train_history.json").read_text())
    ppl = [h["dev_ppl"] for h in history]
    assert len(ppl) == 6 and ppl[-1] < ppl[0] / 2 and ppl[-1] < spm.vocab_size / 4, ppl
    lm = load_lm(tmp_path / "lm")
    assert isinstance(lm, TransformerLM)
    dev = [lm.encode_text(t) for t in corpus(30, 2)]
    units = sum(len(s) + 1 for s in dev)
    assert math.exp(-lm.score_sentences(dev).sum().item() / units) == pytest.approx(ppl[-1], rel=0.05)  # bf16 vs fp32
    assert (tmp_path / "lm.exp" / "checkpoint.pt").exists()
    assert cli([*args, "--resume"]) == 0
    log = (tmp_path / "lm.exp" / "train.log").read_text()
    assert "resumed from" in log and "; precision: " in log
    capsys.readouterr()
    assert cli(["lm", "train", "--text", str(tmp_path / "nope.txt"), "--tokenizer", str(spm.path),
                "--output", str(tmp_path / "x")]) == 2
    assert "no such text corpus" in capsys.readouterr().err


# ---- Hugging Face causal LM -------------------------------------------------------------------
def test_hf_incremental_equals_full(qwen_dir):
    lm = load_lm(qwen_dir)
    assert isinstance(lm, HFCausalLM) and isinstance(lm, LanguageModel)
    assert (lm.bos_id, lm.eos_id) == (60, 61) and len(lm.vocab) == 80 and lm.vocab[0] == "<blk>"
    random_walk(lm, 80, seed=1)


def test_hf_candidates_and_sentences(qwen_dir, spm):
    lm = HFCausalLM.from_pretrained(qwen_dir)
    sents = [lm.encode_text(t) for t in ["The King blessed Israel.", "moses", ""]]
    assert sents[0] == spm.encode("the king blessed israel")
    state = lm.advance(lm.init_state(2), torch.tensor([0, 1]), torch.tensor([sents[0][0], sents[1][0]]))
    cand = torch.tensor([[3, 61, 7], [9, 9, 1]])
    torch.testing.assert_close(lm.score(state, cand), lm.score(state).gather(1, cand))
    # score_sentences = manual sum over the logits of one forward pass on <s> w_1..w_n
    got = lm.score_sentences(sents)
    for i, s in enumerate(sents):
        with torch.no_grad():
            logits = lm.model(input_ids=torch.tensor([[60, *s]])).logits[0].float()
        logits[:, 0] = float("-inf")
        logp = torch.log_softmax(logits, -1)
        want = sum(logp[t, u].item() for t, u in enumerate(s)) + logp[len(s), 61].item()
        assert got[i].item() == pytest.approx(want, abs=1e-4)


def test_hf_tokenizer_json(qwen_dir, tmp_path):
    """A folder with a Hugging Face tokenizer uses it (and its BOS/EOS)."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    words = ["<unk>", "<s>", "</s>"] + sorted({w for t in corpus(200, 0) for w in t.split()})
    tk = Tokenizer(models.WordLevel({w: i for i, w in enumerate(words)}, unk_token="<unk>"))
    tk.pre_tokenizer = pre_tokenizers.Whitespace()
    folder = tmp_path / "qwen_wl"
    shutil.copytree(qwen_dir, folder)
    (folder / "tokenizer.model").unlink()
    PreTrainedTokenizerFast(tokenizer_object=tk, unk_token="<unk>", bos_token="<s>", eos_token="</s>").save_pretrained(
        folder)
    lm = load_lm(folder)
    assert (lm.bos_id, lm.eos_id) == (1, 2) and lm.vocab[:3] == ["<unk>", "<s>", "</s>"]
    assert lm.encode_text("Moses saw ZEBRAS") == [words.index("moses"), words.index("saw"), 0]
    assert torch.isfinite(lm.score_sentences([lm.encode_text("moses saw the land")])).all()


# ---- errors ----------------------------------------------------------------------------------
def test_bad_folders(spm, qwen_dir, tmp_path):
    with pytest.raises(UserError, match="no such"):
        load_lm(tmp_path / "missing")
    with pytest.raises(UserError, match="no such"):
        HFCausalLM.from_pretrained(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserError, match="no config.json"):
        load_lm(tmp_path / "empty")
    with pytest.raises(UserError, match="no config.json"):
        HFCausalLM.from_pretrained(tmp_path / "empty")

    bad = tmp_path / "badjson"
    bad.mkdir()
    (bad / "config.json").write_text("{not json")
    with pytest.raises(UserError, match="invalid JSON"):
        load_lm(bad)
    with pytest.raises(UserError, match="invalid JSON"):
        HFCausalLM.from_pretrained(bad)

    noweights = tmp_path / "noweights"
    shutil.copytree(qwen_dir, noweights)
    (noweights / "model.safetensors").unlink()
    with pytest.raises(UserError, match="no weights"):
        load_lm(noweights)

    broken = tmp_path / "broken"
    shutil.copytree(qwen_dir, broken)
    cfg = json.loads((broken / "config.json").read_text())
    (broken / "config.json").write_text(json.dumps({**cfg, "model_type": "no_such_arch"}))
    with pytest.raises(UserError, match="cannot load the causal LM"):
        load_lm(broken)
    (broken / "config.json").write_text(json.dumps({**cfg, "hidden_size": 48}))  # weights no longer fit
    with pytest.raises(UserError, match="cannot load the causal LM"):
        load_lm(broken)

    notok = tmp_path / "notok"
    shutil.copytree(qwen_dir, notok)
    (notok / "tokenizer.model").unlink()
    with pytest.raises(UserError, match="no tokenizer"):
        load_lm(notok)

    tlm = tmp_path / "tlm"
    tiny_transformer(spm).save_pretrained(tlm)
    (tlm / "model.safetensors").write_bytes(b"garbage")
    with pytest.raises(UserError, match="unreadable"):
        load_lm(tlm)
    tiny_transformer(spm).save_pretrained(tlm)
    cfg = json.loads((tlm / "config.json").read_text())
    (tlm / "config.json").write_text(json.dumps({**cfg, "d_model": 48, "n_heads": 4}))
    with pytest.raises(UserError, match="does not match"):
        load_lm(tlm)
    (tlm / "config.json").write_text(json.dumps({**cfg, "bogus": 1}))
    with pytest.raises(UserError, match="unknown key"):
        load_lm(tlm)
    (tlm / "tokenizer.model").unlink()
    with pytest.raises(UserError, match="missing tokenizer.model"):
        load_lm(tlm)
