"""MooER-style speech LLM: splicing, left padding, prefix LMs, folders, MooER release loading, training.

Everything runs on a tiny random model (SANM 2x32, adapter 64->48->32, Qwen2 2x32 with a LoRA whose B
matrices are randomised so the LoRA is not a no-op) and a tokenizer trained here with Qwen's special tokens.
"""

import json
import math
import random
import shutil

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from asrkit.errors import UserError
from asrkit.frontend import GlobalCMVN
from asrkit.models import load_model
from asrkit.models.speech_llm import (
    QWEN_CHAT_TEMPLATE,
    TASK_PROMPTS,
    AdapterConfig,
    LoraSettings,
    SpeechLLM,
    SpeechLLMConfig,
    load_speech_llm,
    split_multitask,
)
from asrkit.models.speech_llm.prompt import render_prompt
from asrkit.train.precision import describe_precision
from lm.interface import LanguageModel
from tests.conftest import make_mooer_release

CORPUS = ["In the beginning, God created the heavens and the earth.", "The earth was formless and empty.",
          "God said, let there be light, and there was light.", "En el principio crió Dios los cielos y la tierra."]


@pytest.fixture(scope="module")
def parts(tiny_speech_llm):
    return tiny_speech_llm  # built in conftest.py (shared with test_mooer_release_cli.py)


def full_logp(model, audio: torch.Tensor, prompt: list[int], tokens: list[int]) -> torch.Tensor:
    """log p(. | audio, prompt, tokens) from one unpadded full forward pass (the reference)."""
    emb = model.lm.get_input_embeddings()
    x = torch.cat([audio, emb(torch.tensor(prompt + tokens, dtype=torch.long))])[None]
    with torch.no_grad():
        return torch.log_softmax(model.lm(inputs_embeds=x).logits[0, -1].float(), -1)


# ---- prompts and splicing --------------------------------------------------------------------
def test_prompt_and_splice_order(parts):
    m, tok, waves = parts["model"], parts["tok"], parts["waves"]
    text = render_prompt(QWEN_CHAT_TEMPLATE, TASK_PROMPTS["asr"])
    assert text.endswith("Transcribe speech to text. <|im_end|>\n<|im_start|>assistant\n")
    assert text.startswith("<|im_start|>system\nYou are a helpful assistant.<|im_end|>")
    prompt = m.prompt_ids("asr")
    assert prompt == tok.encode(text) and prompt[0] == tok.im_start_id and tok.eos_id in prompt
    feats, lens = m.features(waves)
    assert lens.tolist() == [17, 24]  # ceil(98 / 6), ceil(143 / 6)
    audio = m._audio(waves)
    assert [a.shape[0] for a in audio] == [8, 12]  # T_lfr // 2 placeholders, exactly
    batch = m.build_inputs(audio, "asr")
    p, width = len(prompt), 12 + len(prompt)
    assert batch.inputs_embeds.shape == (2, width, 32)
    emb = m.lm.get_input_embeddings()
    for b, a in enumerate(audio):
        pad = width - a.shape[0] - p
        assert batch.attention_mask[b].tolist() == [0] * pad + [1] * (width - pad)
        assert batch.modality_mask[b].tolist() == [False] * pad + [True] * a.shape[0] + [False] * p
        # audio first, then the whole chat-templated prompt
        torch.testing.assert_close(batch.inputs_embeds[b, pad : pad + a.shape[0]], a)
        torch.testing.assert_close(batch.inputs_embeds[b, pad + a.shape[0] :], emb(torch.tensor(prompt)))
        assert batch.position_ids[b, pad:].tolist() == list(range(width - pad))
    with pytest.raises(UserError, match="not supported"):
        m.prompt_ids("s2s_chat")


def test_split_multitask():
    assert split_multitask("he went home.\nse fue a casa.") == ("he went home.", "se fue a casa.")
    assert split_multitask("only one line") == ("only one line", None)


# ---- batching and the decoding interface ----------------------------------------------------------
def test_left_padding_batch_equals_single(parts):
    m, waves = parts["model"], parts["waves"]
    both = m.generate_ids(waves, "asr", num_beams=3, max_new_tokens=6)
    singles = [m.generate_ids([w], "asr", num_beams=3, max_new_tokens=6)[0] for w in waves]
    assert both == singles
    lm2 = m.prefix_lm(waves, "asr")
    for b, w in enumerate(waves):
        one = m.prefix_lm([w], "asr")
        torch.testing.assert_close(lm2.score(lm2.init_state(2))[b], one.score(one.init_state(1))[0],
                                   atol=1e-4, rtol=1e-4)


def test_prefix_lm_equals_full_forward(parts):
    m, waves, tok = parts["model"], parts["waves"], parts["tok"]
    lm = m.prefix_lm(waves, "asr")
    assert isinstance(lm, LanguageModel) and lm.unit == "token" and lm.eos_id == tok.eos_id
    assert len(lm.vocab) == len(tok) and lm.vocab[tok.eos_id] == "<|im_end|>"
    with pytest.raises(ValueError, match="exactly"):
        lm.init_state(3)
    audio, prompt = m._audio(waves), m.prompt_ids("asr")

    def check(state, prefixes):
        full = lm.score(state)
        for i, (utt, toks) in enumerate(prefixes):
            ref = full_logp(m, audio[utt], prompt, toks)
            torch.testing.assert_close(full[i], ref, atol=1e-4, rtol=1e-4)
            assert lm.final_score(state)[i].item() == pytest.approx(ref[tok.eos_id].item(), abs=1e-4)

    rng = random.Random(0)
    state, prefixes = lm.init_state(2), [(0, []), (1, [])]
    check(state, prefixes)
    old, old_prefixes = state, prefixes
    for _ in range(3):  # ragged beams: this step's rows plus rows of an older state
        keep = [rng.randrange(len(old)) for _ in range(2)]
        beam = lm.concat_states([state, lm.select_states(old, torch.tensor(keep))])
        beam_prefixes = prefixes + [old_prefixes[k] for k in keep]
        old, old_prefixes = state, prefixes
        parents = [rng.randrange(len(beam)) for _ in range(4)]
        units = [rng.randrange(3, len(tok)) for _ in parents]
        state = lm.advance(beam, torch.tensor(parents), torch.tensor(units))
        prefixes = [(beam_prefixes[p][0], beam_prefixes[p][1] + [u]) for p, u in zip(parents, units)]
        check(state, prefixes)
    assert len({len(p[1]) for p in beam_prefixes}) > 1
    # whole-sequence scores = sums of the incremental ones
    seqs = [[5, 9, 17], []]
    got = lm.score_sentences(seqs, rows=[1, 0])
    for (utt, s), g in zip([(1, seqs[0]), (0, seqs[1])], got):
        want = sum(full_logp(m, audio[utt], prompt, s[:t])[s[t]].item() for t in range(len(s)))
        want += full_logp(m, audio[utt], prompt, s)[tok.eos_id].item()
        assert g.item() == pytest.approx(want, abs=1e-3)


def test_greedy_on_prefix_lm_matches_generate(parts):
    """Greedy search on prefix_lm states = Hugging Face generate (1 beam, no EOS bias) on the same inputs."""
    m, waves = parts["model"], parts["waves"]
    lm = m.prefix_lm(waves, "asr")
    state, out, done = lm.init_state(2), [[], []], [False, False]
    for _ in range(6):
        best = lm.score(state).argmax(-1)
        for b in range(2):
            if not done[b]:
                if best[b].item() == lm.eos_id:
                    done[b] = True
                else:
                    out[b].append(best[b].item())
        state = lm.advance(state, torch.arange(2), best)
    assert m.generate_ids(waves, "asr", num_beams=1, eos_bias=0.0, max_new_tokens=6) == out
    assert isinstance(lm.tokenizer.decode(out[0]), str)


def test_prompt_only_lm_has_no_audio(parts):
    m, waves = parts["model"], parts["waves"]
    prompt = m.prompt_ids("ast")
    po = m.prompt_only_lm("ast", 2)
    state = po.init_state(2)
    assert state.length.tolist() == [len(prompt)] * 2
    ref = full_logp(m, torch.zeros(0, 32), prompt, [])
    torch.testing.assert_close(po.score(state)[1], ref, atol=1e-4, rtol=1e-4)
    with_audio = m.prefix_lm(waves[:1], "ast").init_state(1)
    assert (with_audio.logp[0] - ref).abs().max() > 1e-2


# ---- folders ---------------------------------------------------------------------------------
def test_save_load_roundtrip(parts, tmp_path):
    m, waves = parts["model"], parts["waves"]
    want = m.generate_ids(waves, "ast", num_beams=2, max_new_tokens=5)
    want_lp = m.prefix_lm(waves, "ast").init_state(2).logp
    m.save_pretrained(tmp_path / "lora")
    names = {p.name for p in (tmp_path / "lora").iterdir()}
    assert {"config.json", "encoder.safetensors", "am.mvn", "adapter.safetensors", "llm", "lora"} <= names
    assert set(load_file(str(tmp_path / "lora" / "adapter.safetensors"))) == {
        "encoder_projector.linear1.weight", "encoder_projector.linear1.bias",
        "encoder_projector.linear2.weight", "encoder_projector.linear2.bias"}
    assert (tmp_path / "lora" / "lora" / "adapter_config.json").exists()
    cfg = json.loads((tmp_path / "lora" / "config.json").read_text())
    assert cfg["model_type"] == "speech_llm" and cfg["lora_merged"] is False
    m.save_pretrained(tmp_path / "merged", merge_lora=True)
    assert not (tmp_path / "merged" / "lora").exists()
    assert json.loads((tmp_path / "merged" / "config.json").read_text())["lora_merged"] is True
    for folder in ("lora", "merged"):
        back = load_model(str(tmp_path / folder))
        assert isinstance(back, SpeechLLM) and not back.has_lora
        assert back.generate_ids(waves, "ast", num_beams=2, max_new_tokens=5) == want
        torch.testing.assert_close(back.prefix_lm(waves, "ast").init_state(2).logp, want_lp, atol=1e-4, rtol=1e-4)
    again = SpeechLLM.from_pretrained(tmp_path / "lora", trainable=True)
    assert again.has_lora and {n.split(".")[0] for n, p in again.named_parameters() if p.requires_grad} == {
        "encoder_projector", "llm"}
    assert all("lora_" in n for n, p in again.llm.named_parameters() if p.requires_grad)
    with pytest.raises(UserError, match="only for MooER"):
        load_speech_llm(tmp_path / "lora", llm=parts["llm_dir"])
    with pytest.raises(UserError, match="not a speech LLM folder"):
        load_speech_llm(parts["llm_dir"])
    (tmp_path / "lora" / "adapter.safetensors").unlink()
    with pytest.raises(UserError, match="missing adapter.safetensors"):
        load_speech_llm(tmp_path / "lora")


# ---- MooER release folders ---------------------------------------------------------------------
def make_release(m, root, sub="asr_ast_mtl"):
    return make_mooer_release(m, root, sub)


def test_mooer_release_loads(parts, tmp_path):
    m, waves = parts["model"], parts["waves"]
    root = make_release(m, tmp_path / "MooER-MTL-5K")
    want = m.generate_ids(waves, "ast", num_beams=2, max_new_tokens=5)
    for path, task in ((root, "ast"), (root / "asr_ast_mtl", "ast"), (root, "asr_ast")):
        rel = load_speech_llm(path, llm=parts["llm_dir"], task=task)
        assert rel.config.encoder.num_blocks == 2 and rel.config.adapter.downsample_rate == 2
        assert rel.config.prompts[task] == TASK_PROMPTS["ast"]  # MooER drives its multitask model with 'ast'
        assert rel.generate_ids(waves, task, num_beams=2, max_new_tokens=5) == want
    with pytest.raises(UserError, match="needs its LLM folder"):
        load_speech_llm(root, task="ast")
    with pytest.raises(UserError, match="no MooER model for task 'asr_ast'"):
        load_speech_llm(make_release(m, tmp_path / "asr_only", sub="asr"), llm=parts["llm_dir"], task="asr_ast")


def _break(name):
    def encoder_missing(root):
        (root / "paraformer_encoder" / "paraformer-encoder.pth").unlink()

    def encoder_prefix_mismatch(root):
        p = root / "paraformer_encoder" / "paraformer-encoder.pth"
        state = torch.load(p, weights_only=True)
        state["encoders.0.extra.weight"] = torch.zeros(3)
        torch.save(state, p)

    def cmvn_dims(root):
        GlobalCMVN(torch.zeros(80), torch.ones(80)).save(root / "paraformer_encoder" / "am.mvn")

    def adapter_keys(root):
        p = root / "asr_ast_mtl" / "adapter_project.pt"
        state = torch.load(p, weights_only=True)
        state["projector.linear1.weight"] = state.pop("encoder_projector.linear1.weight")
        torch.save(state, p)

    def adapter_width(root):
        p = root / "asr_ast_mtl" / "adapter_project.pt"
        state = torch.load(p, weights_only=True)
        state["encoder_projector.linear2.weight"] = torch.zeros(40, 48)
        state["encoder_projector.linear2.bias"] = torch.zeros(40)
        torch.save(state, p)

    def lora_shape(root):
        p = root / "asr_ast_mtl" / "lora_weights" / "adapter_model.bin"
        state = torch.load(p, weights_only=True)
        key = next(k for k in state if "lora_A" in k)
        state[key] = torch.zeros(3, state[key].shape[1])
        torch.save(state, p)

    def lora_missing_key(root):
        p = root / "asr_ast_mtl" / "lora_weights" / "adapter_model.bin"
        state = torch.load(p, weights_only=True)
        state.pop(next(k for k in state if "lora_B" in k))
        torch.save(state, p)

    def lora_file(root):
        (root / "asr_ast_mtl" / "lora_weights" / "adapter_model.bin").unlink()

    return locals()[name]


@pytest.mark.parametrize("case, message", [
    ("encoder_missing", "paraformer-encoder.pth: missing"),
    ("encoder_prefix_mismatch", "encoder keys do not match"),
    ("cmvn_dims", "am.mvn"),
    ("adapter_keys", "adapter keys do not match"),
    ("adapter_width", "hidden size 32"),
    ("lora_shape", "LoRA adapter"),
    ("lora_missing_key", "LoRA weights: keys do not match"),
    ("lora_file", "no adapter_model"),
])
def test_mooer_release_refusals(parts, tmp_path, case, message):
    root = make_release(parts["model"], tmp_path / "rel")
    _break(case)(root)
    with pytest.raises(UserError, match=message) as err:
        load_speech_llm(root, llm=parts["llm_dir"], task="ast")
    assert "\n" not in str(err.value)


# ---- training ----------------------------------------------------------------------------------
def test_training_updates_only_adapter_and_lora(parts):
    m0 = parts["model"]
    m = SpeechLLM(m0.config, m0._base_llm(), parts["tok"], m0.frontend.cmvn, m0.encoder)
    m.add_lora()
    m.train()
    assert not m.encoder.training  # the frozen encoder never runs dropout
    frozen = {n: p.detach().clone() for n, p in m.named_parameters() if not p.requires_grad}
    opt = torch.optim.Adam(m.trainable_parameters(), lr=1e-2)
    feats, lens = m.features(parts["waves"])
    enc, enc_lens = m.encode(feats, lens)
    answers = [parts["tok"].encode(CORPUS[0]) + [parts["tok"].eos_id], parts["tok"].encode(CORPUS[3]) +
               [parts["tok"].eos_id]]
    losses = []
    for _ in range(15):
        terms = m(enc, enc_lens, ["asr", "ast"], answers)
        assert terms.n_tokens == sum(len(a) for a in answers) and terms.n_ctc == 0
        opt.zero_grad()
        terms.total().backward()
        opt.step()
        losses.append(terms.nll_value / terms.n_tokens)
    assert losses[-1] < losses[0] - 0.1 and math.isfinite(losses[-1])
    for n, p in m.named_parameters():
        if n in frozen:
            assert torch.equal(p, frozen[n]), n
    # adapter CTC (aux_ctc.py): only the adapter gets gradients, against the frozen embedding matrix
    m.zero_grad()
    spoken = [a[:3] for a in answers]  # 8 and 12 adapter frames: room for 3 tokens
    terms = m(enc, enc_lens, ["asr", "ast"], None, spoken)
    assert terms.n_tokens == 0 and terms.n_ctc == sum(len(a) for a in spoken) and terms.ctc_value > 0
    terms.total(1.0).backward()
    assert all((p.grad is None) == ("lora" in n) for n, p in m.named_parameters() if p.requires_grad)


def test_word_dropout_hides_the_fed_answer_tokens_only_in_training(parts):
    """word_dropout=1 feeds the pad embedding for every answer token: the NLL changes (the labels do not),
    it equals feeding pad ids by hand, and in eval mode word dropout does nothing."""
    m0 = parts["model"]
    m = SpeechLLM(m0.config, m0._base_llm(), parts["tok"], m0.frontend.cmvn, m0.encoder)
    feats, lens = m.features(parts["waves"])
    enc, enc_lens = m.encode(feats, lens)
    tok = parts["tok"]
    answers = [tok.encode(CORPUS[0]) + [tok.eos_id], tok.encode(CORPUS[3]) + [tok.eos_id]]
    m.eval()
    plain = m(enc, enc_lens, ["asr", "asr"], answers).nll_value
    assert m(enc, enc_lens, ["asr", "asr"], answers, word_dropout=1.0).nll_value == plain
    m.train()
    m.lm.eval()  # no LLM dropout: the difference below is the word dropout's alone
    dropped = m(enc, enc_lens, ["asr", "asr"], answers, word_dropout=1.0)
    assert dropped.n_tokens == sum(len(a) for a in answers) and abs(dropped.nll_value - plain) > 1e-3
    # the same as splicing pad tokens in by hand, scored against the true answers
    y = m.encoder_projector(enc.float())
    n = m.encoder_projector.output_lengths(enc_lens)
    batch = m.build_inputs([y[b, : int(n[b])] for b in range(2)], "asr", answers)
    pads = m.build_inputs([y[b, : int(n[b])] for b in range(2)], "asr", [[tok.pad_id] * len(a) for a in answers])
    hidden = m.lm.model(inputs_embeds=pads.inputs_embeds, attention_mask=pads.attention_mask,
                        position_ids=pads.position_ids).last_hidden_state
    labels = batch.labels[:, 1:]
    sel = labels != -100
    by_hand = torch.nn.functional.cross_entropy(m.lm.lm_head(hidden[:, :-1][sel]).float(), labels[sel],
                                                reduction="sum")
    assert math.isclose(float(by_hand.detach()), dropped.nll_value, rel_tol=1e-4)


def test_trainer_end_to_end(parts, tmp_path):
    """A real (tiny) run: CTC encoder folder + manifests with audio -> cached encoder outputs -> 2 epochs,
    resumable, final folder loads for decoding."""
    import soundfile as sf

    from asrkit.models.ctc import CTCModel, CTCModelConfig
    from asrkit.tokenizer import train_tokenizer
    from asrkit.train.speech_llm import SpeechLLMTrainConfig, SpeechLLMTrainer

    m = parts["model"]
    ctc_dir = tmp_path / "ctc"
    sp = train_tokenizer([t.lower() for t in CORPUS] * 5, tmp_path / "sp.model", vocab_size=30)
    ctc = CTCModel(CTCModelConfig(vocab_size=sp.vocab_size, encoder=m.config.encoder), sp, m.frontend.cmvn)
    ctc.encoder.load_state_dict(m.encoder.state_dict())
    ctc.save_pretrained(ctc_dir)
    rng = np.random.default_rng(1)
    lines = []
    for i in range(6):
        sf.write(tmp_path / f"u{i}.wav", 0.1 * rng.standard_normal(12000 + 1600 * i).astype(np.float32), 16000)
        lines.append({"id": f"u{i}", "audio": f"u{i}.wav", "text": CORPUS[i % 4], "translation": CORPUS[(i + 1) % 3]})
    manifest = tmp_path / "m.jsonl"
    manifest.write_text("".join(json.dumps(x) + "\n" for x in lines))
    cfg = SpeechLLMTrainConfig(adapter_hidden=48, lora=LoraSettings(r=4, alpha=8))
    cfg.optim.epochs, cfg.optim.max_tokens, cfg.optim.warmup_steps, cfg.optim.lr = 2, 400, 2, 5e-3
    cfg.optim.dev_max_new_tokens = 4
    cfg.optim.ctc_warmup_steps, cfg.optim.ctc_weight, cfg.optim.ctc_max_tokens = 3, 0.3, 300
    args = (cfg, ctc_dir, parts["llm_dir"], [f"{manifest}:asr", f"{manifest}:ast"], tmp_path / "exp",
            [f"{manifest}:asr"], tmp_path / "feats")
    SpeechLLMTrainer(*args).train()
    hist = json.loads((tmp_path / "exp" / "model" / "train_history.json").read_text())
    assert [h["epoch"] for h in hist] == [1, 2] and "m_wer" in hist[0]
    assert hist[1]["train_loss"] < hist[0]["train_loss"]
    model = load_speech_llm(tmp_path / "exp" / "model", task="ast")
    assert len(model.generate(parts["waves"], "ast", max_new_tokens=3)) == 2
    # resume: a finished run has nothing left to do and keeps its state
    t = SpeechLLMTrainer(*args)
    assert t.resume() and t.epoch == 2 and t.step == 3 + 2 * t.steps_per_epoch
    log = (tmp_path / "exp" / "train.log").read_text()
    assert "adapter CTC reading" in log and f"; precision: {describe_precision('cpu', cfg.optim.amp)}\n" in log
    shutil.rmtree(tmp_path / "exp")


# ---- the bundled model -------------------------------------------------------------------------
def test_bundled_speech_llm(capsys):
    """bible-en-speechllm-tiny is listed by `asrkit models`, loads by name and transcribes bundled samples."""
    from asrkit.cli.main import main
    from asrkit.frontend import load_audio
    from asrkit.metrics import wer
    from asrkit.models.registry import PRETRAINED_DIR

    assert main(["models"]) == 0
    line = next(x for x in capsys.readouterr().out.splitlines() if x.startswith("bible-en-speechllm-tiny"))
    assert "\tspeech_llm\t" in line and "tasks asr,asr_ast,ast" in line
    folder = PRETRAINED_DIR / "bible-en-speechllm-tiny"
    assert (folder / "README.md").exists() and sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) < 30e6
    m = load_speech_llm("bible-en-speechllm-tiny")
    samples = PRETRAINED_DIR.parent / "samples"
    utts = [json.loads(x) for x in (samples / "samples.jsonl").read_text().splitlines()][:4]
    waves = [load_audio(samples / u["audio"]) for u in utts]
    hyps = m.generate(waves, "asr", num_beams=1)
    # The card's test-set WER is ~22 % (beam 4); a broken model, front end or splice gives ~100 % or more.
    assert wer([u["text"] for u in utts], hyps).value < 75
    # The multitask answer on Spanish audio is a transcript line and a translation line.
    es = [json.loads(x) for x in (samples / "samples_es.jsonl").read_text().splitlines()][:2]
    answers = m.generate([load_audio(samples / u["audio"]) for u in es], "asr_ast", num_beams=1)
    assert all(len([x for x in a.split("\n") if x.strip()]) == 2 for a in answers)


def test_latent_inputs_without_encoder(parts, tmp_path):
    """encoder_type "none" (e.g. hertz-codec latents) with downsample rate 1: inputs are encoder outputs."""
    cfg = SpeechLLMConfig(encoder_type="none", adapter=AdapterConfig(encoder_dim=16, llm_dim=32, hidden_dim=24,
                                                                      downsample_rate=1))
    m = SpeechLLM(cfg, parts["model"]._base_llm(), parts["tok"])
    latents = [torch.randn(7, 16), torch.randn(4, 16)]
    assert [a.shape[0] for a in m._audio(latents)] == [7, 4]  # one placeholder per latent frame
    want = m.generate_ids(latents, "asr", num_beams=2, max_new_tokens=4)
    with pytest.raises(UserError, match="no acoustic encoder"):
        m.features([np.zeros(16000, dtype=np.float32)])
    m.save_pretrained(tmp_path / "latent")
    assert not (tmp_path / "latent" / "encoder.safetensors").exists()
    assert load_speech_llm(tmp_path / "latent").generate_ids(latents, "asr", num_beams=2, max_new_tokens=4) == want


def test_speech_llm_training_config_follows_the_one_config_rule(tmp_path):
    import json

    import pytest

    from asrkit.errors import UserError
    from asrkit.train.speech_llm import SpeechLLMTrainConfig

    bad = tmp_path / "c.json"
    bad.write_text(json.dumps({"optim": {"epochz": 3}}))
    with pytest.raises(UserError, match="epochz"):
        SpeechLLMTrainConfig.load(bad)
    bad.write_text(json.dumps({"optim": {"lr": "high"}}))
    with pytest.raises(UserError, match="lr"):
        SpeechLLMTrainConfig.load(bad)
    good = tmp_path / "g.json"
    good.write_text(json.dumps({"lora": {"r": 8, "alpha": 16}, "optim": {"epochs": 2, "ctc_weight": 0.5}}))
    cfg = SpeechLLMTrainConfig.load(good)
    assert (cfg.lora.r, cfg.optim.epochs, cfg.optim.ctc_weight) == (8, 2, 0.5)
