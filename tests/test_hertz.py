"""hertz-codec encoder: official key layout (both weight-norm spellings, strict), parameter counts,
an independent functional reference, frame-count rule, causality, streaming == offline, the 15-bit
quantizer, the limited-context SANM, and a hertz-front-end CTC model through `asrkit decode`."""

import json
import math
import subprocess
import sys

import pytest
import torch
import torch.nn.functional as F

from asrkit.encoder import SANMConfig, SANMEncoder
from asrkit.encoder.hertz import (
    HertzCodecConfig,
    HertzCodecEncoder,
    HertzQuantizerConfig,
    LatentQuantizer,
    StreamingHertzEncoder,
    build_codec,
    load_codec_checkpoint,
    load_quantizer_checkpoint,
)
from asrkit.errors import UserError
from asrkit.models import CTCModel
from asrkit.models.ctc import CTCModelConfig

FULL = HertzCodecConfig()
# Small codec for the model/CLI tests: same structure (strided convs, then pools), hop 2000.
TINY = HertzCodecConfig(encode_channels=2, channel_ratios=(2, 4, 8, 8, 8, 8), latent_dim=8)


# ---- the released codec checkpoint's layout, written out by hand (not from asrkit's modules) ---------------
def official_codec_shapes() -> dict[str, tuple[int, ...]]:
    """Unfolded weight shapes and biases of the released codec's encoder side, keyed by layer name."""
    shapes = {"encoder.res_stack.0.conv.weight": (16, 1, 7)}
    chans = [16, 64, 128, 256, 256, 256, 256]
    strides = [2, 2, 4, 5, 5, 5]
    for b in range(1, 7):
        c = chans[b - 1]
        for u in range(3):
            shapes[f"encoder.res_stack.{b}.res_block.{u}.conv1.conv.weight"] = (c, c, 7)
            shapes[f"encoder.res_stack.{b}.res_block.{u}.conv2.weight"] = (c, c, 1)
        if chans[b] != c:
            shapes[f"encoder.res_stack.{b}.res_block.3.conv.weight"] = (chans[b], c, 2 * strides[b - 1])
            shapes[f"encoder.res_stack.{b}.res_block.3.conv.bias"] = (chans[b],)
    shapes["compressor.proj_in.weight"] = (64, 256)
    shapes["compressor.proj_in.bias"] = (64,)
    return shapes


def official_checkpoint(spelling: str, seed: int = 0) -> tuple[dict, dict]:
    """A full-size codec state dict as torch saves it (weight norm in ``spelling``, decoder keys included),
    and the folded weights it stands for."""
    g = torch.Generator().manual_seed(seed)
    ckpt, folded = {}, {}
    for key, shape in official_codec_shapes().items():
        if not key.endswith(".weight"):
            ckpt[key] = folded[key] = torch.randn(shape, generator=g) * 0.1
            continue
        v = torch.randn(shape, generator=g) / math.sqrt(math.prod(shape[1:]))
        gain = torch.rand((shape[0],) + (1,) * (len(shape) - 1), generator=g) + 0.5
        base = key[: -len("weight")]
        if spelling == "parametrizations":
            ckpt[base + "parametrizations.weight.original0"], ckpt[base + "parametrizations.weight.original1"] = gain, v
        else:
            ckpt[base + "weight_g"], ckpt[base + "weight_v"] = gain, v
        folded[key] = gain * v / v.flatten(1).norm(dim=1).view(-1, *([1] * (v.dim() - 1)))
    # Decoder side: loaded by hertz-dev, ignored by an encoder-only loader.
    ckpt["compressor.proj_out.parametrizations.weight.original0"] = torch.ones(256, 1)
    ckpt["compressor.proj_out.parametrizations.weight.original1"] = torch.randn(256, 32, generator=g)
    ckpt["compressor.proj_out.bias"] = torch.zeros(256)
    ckpt["decoder.multiplier_proj.bias"] = torch.zeros(1024)
    ckpt["decoder.res_stack.3.res_block.0.pad_buffer"] = torch.zeros(1, 1024, 1)
    return ckpt, folded


def reference_encode(w: dict, wave: torch.Tensor) -> torch.Tensor:
    """Functional re-statement of §3.2 on folded weights: (B, N) -> mu (B, T, 32)."""
    def cconv(x, weight, bias=None, stride=1, dilation=1):
        return F.conv1d(F.pad(x, ((weight.size(-1) - 1) * dilation, 0)), weight, bias, stride, dilation=dilation)

    x = cconv(wave[:, None] / 0.05, w["encoder.res_stack.0.conv.weight"])
    for b, s in zip(range(1, 7), [2, 2, 4, 5, 5, 5]):
        p = f"encoder.res_stack.{b}.res_block"
        for u, d in enumerate((1, 3, 9)):
            y = cconv(F.elu(x), w[f"{p}.{u}.conv1.conv.weight"], dilation=d)
            x = x + F.conv1d(F.elu(y), w[f"{p}.{u}.conv2.weight"])
        x = (cconv(x, w[f"{p}.3.conv.weight"], w[f"{p}.3.conv.bias"], stride=s) if f"{p}.3.conv.weight" in w
             else F.avg_pool1d(x, s, s))
    return F.linear(x.transpose(1, 2), w["compressor.proj_in.weight"], w["compressor.proj_in.bias"])[..., :32]


def wave(n: int, batch: int = 1, seed: int = 0) -> torch.Tensor:
    return torch.randn(batch, n, generator=torch.Generator().manual_seed(seed)) * 0.1


# ---- parameter counts ---------------------------------------------------------------------------------
def test_full_size_parameter_counts():
    codec = HertzCodecEncoder(FULL)
    assert codec.encoder_parameters() == 5_515_824
    assert sum(p.numel() for p in codec.compressor.parameters()) == 16_448
    # With the weight-norm gains g: one per output channel of every conv.
    ckpt, _ = official_checkpoint("parametrizations")
    enc = {k: v for k, v in ckpt.items() if k.startswith("encoder.")}
    assert sum(v.numel() for v in enc.values()) == 5_522_144
    assert {k: tuple(v.shape) for k, v in codec.state_dict().items()} == official_codec_shapes()
    assert FULL.hop == 2000 and FULL.frame_rate == 8.0 and FULL.receptive_field() == 41_262


# ---- checkpoint loading ----------------------------------------------------------------------------------
@pytest.mark.parametrize("spelling", ["parametrizations", "weight_g"])
def test_loads_official_checkpoint_both_spellings(tmp_path, spelling):
    ckpt, folded = official_checkpoint(spelling)
    torch.save(ckpt, tmp_path / "inference_apatosaurus_95000.pt")
    codec = load_codec_checkpoint(HertzCodecEncoder(FULL), tmp_path / "inference_apatosaurus_95000.pt")
    for k, v in codec.state_dict().items():
        torch.testing.assert_close(v, folded[k])
    x = wave(6000, batch=2)
    with torch.inference_mode():
        mu, lengths = codec.latents(x)
        torch.testing.assert_close(mu, reference_encode(folded, x), rtol=1e-4, atol=1e-4)
    assert mu.shape == (2, 3, 32) and lengths.tolist() == [3, 3]


def test_spellings_agree_and_nesting_is_unwrapped(tmp_path):
    a, _ = official_checkpoint("parametrizations", seed=3)
    b, _ = official_checkpoint("weight_g", seed=3)
    torch.save({"state_dict": a}, tmp_path / "a.pt")
    torch.save(b, tmp_path / "b.pt")
    sa = load_codec_checkpoint(HertzCodecEncoder(FULL), tmp_path / "a.pt").state_dict()
    sb = load_codec_checkpoint(HertzCodecEncoder(FULL), tmp_path / "b.pt").state_dict()
    for k in sa:
        torch.testing.assert_close(sa[k], sb[k], rtol=0, atol=0)


@pytest.mark.parametrize("damage, message", [
    ("drop", "missing"),
    ("extra", "unexpected"),
    ("shape", "shape mismatch"),
    ("both", "more than one spelling"),
    ("orphan", "no matching"),
])
def test_strict_codec_loading(tmp_path, damage, message):
    ckpt, _ = official_checkpoint("parametrizations")
    key = "encoder.res_stack.3.res_block.1.conv1.conv.parametrizations.weight"
    if damage == "drop":
        del ckpt["encoder.res_stack.2.res_block.3.conv.bias"]
    elif damage == "extra":
        ckpt["encoder.res_stack.4.res_block.3.conv.bias"] = torch.zeros(256)
    elif damage == "shape":
        ckpt[key + ".original1"] = torch.zeros(128, 128, 5)
    elif damage == "both":
        ckpt["encoder.res_stack.3.res_block.1.conv1.conv.weight_g"] = ckpt[key + ".original0"]
        ckpt["encoder.res_stack.3.res_block.1.conv1.conv.weight_v"] = ckpt[key + ".original1"]
    else:
        del ckpt[key + ".original0"]
    torch.save(ckpt, tmp_path / "bad.pt")
    with pytest.raises(UserError, match=message) as err:
        load_codec_checkpoint(HertzCodecEncoder(FULL), tmp_path / "bad.pt")
    assert str(tmp_path / "bad.pt") in str(err.value) and "\n" not in str(err.value)


def test_not_a_checkpoint(tmp_path):
    (tmp_path / "x.pt").write_text("hello")
    with pytest.raises(UserError, match="cannot read checkpoint"):
        load_codec_checkpoint(HertzCodecEncoder(TINY), tmp_path / "x.pt")
    with pytest.raises(UserError, match="no such checkpoint"):
        load_codec_checkpoint(HertzCodecEncoder(TINY), tmp_path / "missing.pt")


# ---- frame counts, causality, streaming ---------------------------------------------------------------------
def test_length_rule_and_batch_independence():
    codec = build_codec(FULL, seed=1)
    n = 2 * 2000 + 123
    x = wave(n)
    with torch.inference_mode():
        out = codec.encode(x)
        padded = codec(F.pad(x, (0, 3 * 2000 - n)))[0]
        # Batched with a longer item: the shorter one's valid latents are unchanged.
        batch = torch.cat([F.pad(x, (0, 3000)), wave(n + 3000, seed=5)])
        both = codec.encode(batch, torch.tensor([n, n + 3000]))
    assert out.mu.shape == (1, 3, 32) and out.lengths.tolist() == [3]
    torch.testing.assert_close(out.mu, padded, rtol=0, atol=0)
    assert both.lengths.tolist() == [3, 4]
    torch.testing.assert_close(both.mu[0, :3], out.mu[0], rtol=1e-5, atol=1e-5)
    # z sampling is reproducible with a generator and centred on mu.
    z1 = out.sample(torch.Generator().manual_seed(0))
    z2 = out.sample(torch.Generator().manual_seed(0))
    assert torch.equal(z1, z2) and not torch.equal(z1, out.mu)


def test_causality_and_receptive_field():
    """Latent t depends on samples 2000 t + 1984 - 41261 .. 2000 t + 1984 and on nothing else."""
    codec = build_codec(FULL, seed=2)
    n, t = 44_000, 20
    x = wave(n)
    last = 2000 * t + 1984
    first = last - FULL.receptive_field() + 1
    with torch.inference_mode():
        ref = codec.encode(x).mu[0]

        def changed(pos: int) -> torch.Tensor:
            y = x.clone()
            y[0, pos] += 1.0
            return (codec.encode(y).mu[0] != ref).any(dim=-1)

        after = changed(last + 1)
        assert not after[: t + 1].any() and after[t + 1]
        assert changed(last)[t]
        assert changed(first)[t] and not changed(first - 1)[t]
        # Perturbing everything after frame t's end leaves latents <= t untouched.
        y = x.clone()
        y[0, 2000 * (t + 1):] = torch.randn(n - 2000 * (t + 1))
        assert torch.equal(codec.encode(y).mu[0, : t + 1], ref[: t + 1])


def test_streaming_equals_offline():
    codec = build_codec(FULL, seed=3)
    n = 5 * 2000 + 777
    x = wave(n, batch=2)
    with torch.inference_mode():
        offline = codec.encode(x)
    for sizes in ([2000] * 6, [1, 1999, 3333, 17, 2650, 2777]):
        stream = StreamingHertzEncoder(codec)
        mus, pos, counts = [], 0, []
        for size in sizes:
            mu, logvar = stream.push(x[:, pos : pos + size])
            pos = min(pos + size, n)
            mus.append(mu)
            counts.append(mu.size(1))
        mu, logvar = stream.finish()
        mus.append(mu)
        assert pos == n
        streamed = torch.cat(mus, dim=1)
        torch.testing.assert_close(streamed, offline.mu, rtol=1e-5, atol=1e-5)
        torch.testing.assert_close(logvar, offline.logvar[:, -1:], rtol=1e-5, atol=1e-5)
        if sizes[0] == 2000:  # one latent per full 125 ms chunk, as soon as the chunk arrives
            assert counts == [1, 1, 1, 1, 1, 0] and mu.size(1) == 1
        assert stream.state_size() < 90_000  # bounded: kernel spans only, independent of the audio length


# ---- quantizer -----------------------------------------------------------------------------------------
def official_quantizer_shapes(dim: int = 2048, ffn: int = 8192) -> dict[str, tuple[int, ...]]:
    return {
        "input.weight": (dim, 32), "input.bias": (dim,),
        "ffnn.gateup_proj.weight": (2 * ffn, dim), "ffnn.down_proj.weight": (dim, ffn),
        "compressor.project_in.weight": (5, dim), "compressor.project_in.bias": (5,),
        "compressor.project_out.weight": (dim, 5), "compressor.project_out.bias": (dim,),
    }


def test_quantizer_full_size_layout():
    shapes = official_quantizer_shapes()
    assert sum(math.prod(s) for s in shapes.values()) == 50_421_765
    with torch.device("meta"):  # full size without spending time on 50M random weights
        q = LatentQuantizer()
    assert {k: tuple(v.shape) for k, v in q.state_dict().items()} == shapes
    assert q.config.codebook_size == 32768


def test_quantizer_checkpoint_codes_and_indices(tmp_path):
    # Official key names at reduced width (the full-size layout is checked above).
    cfg = HertzQuantizerConfig(dim=64, ffn_dim=128)
    shapes = official_quantizer_shapes(64, 128)
    g = torch.Generator().manual_seed(0)
    state = {k: torch.randn(s, generator=g) / math.sqrt(s[-1]) for k, s in shapes.items()}
    state["compressor.project_in.weight"] *= 30  # spread z so that every level is used
    torch.save(state, tmp_path / "inference_volcano_3.pt")
    q = load_quantizer_checkpoint(LatentQuantizer(cfg), tmp_path / "inference_volcano_3.pt")
    lat = torch.randn(4, 50, 32, generator=g)
    with torch.inference_mode():
        out = q(lat)
    assert out.out.shape == (4, 50, 64) and out.codes.shape == (4, 50, 5) and out.indices.shape == (4, 50)
    assert out.indices.dtype == torch.long and out.indices.min() >= 0 and out.indices.max() < 32768
    allowed = torch.arange(-4, 4) / 4
    assert torch.isin(out.codes, allowed).all() and len(out.codes.unique()) == 8
    # FSQ's index formula (Mentzer et al., 2023, "Finite Scalar Quantization", arXiv 2309.15505), and its inverse.
    expect = ((out.codes * 4 + 4) * torch.tensor([1, 8, 64, 512, 4096])).sum(-1).round().long()
    assert torch.equal(out.indices, expect)
    assert torch.equal(q.compressor.indices_to_codes(out.indices), out.codes)
    del state["ffnn.down_proj.weight"]
    torch.save(state, tmp_path / "bad.pt")
    with pytest.raises(UserError, match="missing"):
        load_quantizer_checkpoint(LatentQuantizer(cfg), tmp_path / "bad.pt")


def test_fsq_extremes_and_gradient():
    q = LatentQuantizer(HertzQuantizerConfig(latent_dim=4, dim=8, ffn_dim=16))
    fsq = q.compressor
    z = torch.tensor([[-50.0, -0.2, 0.0, 0.2, 50.0]])
    codes = fsq.quantize(z)
    assert codes[0, 0] == -1.0 and codes[0, -1] == 0.75 and codes[0, 2] == 0.0  # tanh(shift)*half_l - 0.5 = 0
    all_idx = torch.arange(32768)
    assert torch.equal(fsq.codes_to_indices(fsq.indices_to_codes(all_idx)), all_idx)
    lat = torch.randn(3, 4, requires_grad=True)
    q(lat).out.sum().backward()  # straight-through rounding keeps the quantizer trainable
    assert lat.grad is not None and lat.grad.abs().sum() > 0


# ---- limited-context SANM -----------------------------------------------------------------------------------
def test_sanm_lookahead_is_bounded():
    cfg = SANMConfig(input_size=8, output_size=16, attention_heads=2, linear_units=32, num_blocks=3, kernel_size=5,
                     sanm_shift=1, right_context=1, dropout_rate=0, positional_dropout_rate=0,
                     attention_dropout_rate=0)
    assert cfg.fsmn_right == 1 and cfg.lookahead_frames() == 3
    torch.manual_seed(0)
    enc = SANMEncoder(cfg).eval()
    x = torch.randn(1, 20, 8)
    lens = torch.tensor([20])
    ref = enc(x, lens)[0]
    y = x.clone()
    y[0, 10:] = torch.randn(10, 8)  # random, not a constant shift (which the pre-norm LayerNorm would remove)
    out = enc(y, lens)[0]
    assert torch.allclose(out[0, :7], ref[0, :7], atol=1e-6)  # frame 6 sees at most frame 9
    assert not torch.allclose(out[0, 7], ref[0, 7])
    assert SANMConfig().lookahead_frames() is None and "right_context" not in SANMConfig().to_dict()


# ---- the CTC model with a hertz front end ---------------------------------------------------------------------
def test_paraformer_config_stays_byte_compatible(root):
    path = root / "asrkit/pretrained/bible-en-ctc-small/config.json"
    cfg = CTCModelConfig.from_dict(json.loads(path.read_text()))
    assert cfg.frontend_type == "paraformer"
    assert json.dumps(cfg.to_dict(), indent=2) + "\n" == path.read_text()
    hz = CTCModelConfig.from_dict({"model_type": "sanm_ctc", "vocab_size": 10, "frontend": "hertz"})
    assert hz.frontend_type == "hertz" and CTCModelConfig.from_dict(hz.to_dict()).to_dict() == hz.to_dict()
    with pytest.raises(UserError, match="unknown frontend type"):
        CTCModelConfig.from_dict({"model_type": "sanm_ctc", "vocab_size": 10, "frontend": {"type": "mel"}})


@pytest.fixture(scope="module")
def hertz_model(tmp_path_factory):
    """A tiny hertz-front-end CTC model trained for real (cached codec outputs) on espeak-ng speech."""
    from conftest import synth

    from asrkit.train.config import HertzTrainConfig, OptimConfig, TrainConfig
    from asrkit.train.trainer import Trainer

    folder = tmp_path_factory.mktemp("hertz_ctc")
    manifest = synth(folder, voices=("en-us",))
    cfg = TrainConfig(
        vocab_size=30, frontend="hertz", hertz=HertzTrainConfig(codec=TINY, train_proj_in=True),
        encoder=SANMConfig(input_size=16, output_size=32, attention_heads=2, linear_units=64, num_blocks=2,
                           dropout_rate=0.0, positional_dropout_rate=0.0, attention_dropout_rate=0.0,
                           sanm_shift=2, right_context=2),
        optim=OptimConfig(epochs=3, lr=3e-3, warmup_steps=2, max_frames=200, specaug=True, save_every=1000,
                          log_every=1000, average_last=2),  # averaging must keep the frozen codec bit-exact
    )
    trainer = Trainer(cfg, str(manifest), str(manifest), str(folder / "exp"), nj=1)
    trainer.train()
    return folder, trainer


def test_hertz_model_folder_and_decode_cli(hertz_model, root):
    folder, trainer = hertz_model
    model_dir = folder / "exp" / "model"
    cfg = json.loads((model_dir / "config.json").read_text())
    assert cfg["frontend"]["type"] == "hertz" and cfg["encoder"]["right_context"] == 2
    model = CTCModel.from_pretrained(model_dir)
    assert model.codec is not None and model.frontend.cmvn.dim == 8
    # The codec weights in the folder are the seeded codec the latents were cached with; proj_in was trained.
    ref = build_codec(TINY, seed=0).state_dict()
    for k, v in model.codec.state_dict().items():
        if k.startswith("compressor."):
            assert not torch.equal(v, ref[k])
        else:
            torch.testing.assert_close(v, ref[k], rtol=0, atol=0)
    # Training reads cached codec outputs, decoding recomputes them from audio: same emissions.
    ex = trainer.dev_ex[:3]
    from asrkit.train.latents import collate_hidden

    h, lens, _, _ = collate_hidden(list(range(3)), ex, trainer.dev[0], None)
    from asrkit.frontend import load_audio

    audio = {it["id"]: folder / it["audio"] for it in map(json.loads, (folder / "m.jsonl").read_text().splitlines())}
    frames = [model.frontend(load_audio(audio[e.uid])) for e in ex]
    batch = torch.nn.utils.rnn.pad_sequence(frames, batch_first=True)
    with torch.inference_mode():
        lp_cache, n_cache = model(h, lens, inputs="hidden")
        lp_wave, n_wave = model(batch, torch.tensor([f.size(0) for f in frames]))
    assert torch.equal(n_cache, n_wave)
    for b, n in enumerate(n_cache.tolist()):  # frames past each length differ (zeros vs encoded silence)
        torch.testing.assert_close(lp_wave[b, :n], lp_cache[b, :n], rtol=1e-4, atol=1e-4)
    # `asrkit decode --model DIR` on the hertz model.
    hyp = folder / "hyp.jsonl"
    proc = subprocess.run([sys.executable, "-m", "asrkit.cli.main", "decode", "--model", str(model_dir),
                           "--input", str(folder / "m.jsonl"), "--output", str(hyp), "-q"],
                          cwd=root, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    rows = [json.loads(line) for line in hyp.read_text().splitlines()]
    assert sorted(r["id"] for r in rows) == sorted(audio)
    assert all(isinstance(r["text"], str) for r in rows)
