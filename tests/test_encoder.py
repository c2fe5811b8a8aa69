import pytest
import torch

from asrkit.encoder import SANMConfig, SANMEncoder, load_encoder_weights
from asrkit.errors import UserError

TINY = SANMConfig(input_size=24, output_size=16, attention_heads=2, linear_units=32, num_blocks=3,
                  dropout_rate=0.0, positional_dropout_rate=0.0, attention_dropout_rate=0.0, kernel_size=5)


def paraformer_keys(cfg: SANMConfig) -> dict[str, tuple[int, ...]]:
    """Key names and shapes of a FunASR SANM encoder checkpoint (paraformer-large's ``encoder.*`` state dict),
    written out by hand (independently of asrkit's module tree, so a renamed module fails this test)."""
    d, i, u, k = cfg.output_size, cfg.input_size, cfg.linear_units, cfg.kernel_size
    keys: dict[str, tuple[int, ...]] = {}
    layers = [("encoders0.0", i)] + [(f"encoders.{n}", d) for n in range(cfg.num_blocks - 1)]
    for name, ind in layers:
        keys.update({
            f"{name}.self_attn.linear_q_k_v.weight": (3 * d, ind),
            f"{name}.self_attn.linear_q_k_v.bias": (3 * d,),
            f"{name}.self_attn.linear_out.weight": (d, d),
            f"{name}.self_attn.linear_out.bias": (d,),
            f"{name}.self_attn.fsmn_block.weight": (d, 1, k),
            f"{name}.feed_forward.w_1.weight": (u, d),
            f"{name}.feed_forward.w_1.bias": (u,),
            f"{name}.feed_forward.w_2.weight": (d, u),
            f"{name}.feed_forward.w_2.bias": (d,),
            f"{name}.norm1.weight": (ind,),
            f"{name}.norm1.bias": (ind,),
            f"{name}.norm2.weight": (d,),
            f"{name}.norm2.bias": (d,),
        })
    keys["after_norm.weight"] = (d,)
    keys["after_norm.bias"] = (d,)
    return keys


def random_state(cfg: SANMConfig, seed: int = 0) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return {k: torch.randn(s, generator=g) * 0.1 for k, s in paraformer_keys(cfg).items()}


def test_paraformer_large_parameter_count():
    enc = SANMEncoder(SANMConfig.paraformer_large())
    assert sum(p.numel() for p in enc.parameters()) == 157_975_648
    assert {k: tuple(v.shape) for k, v in enc.state_dict().items()} == paraformer_keys(SANMConfig())


def test_loads_funasr_model_pt(tmp_path):
    enc_state = random_state(TINY)
    full = {f"encoder.{k}": v for k, v in enc_state.items()}
    # A full Paraformer checkpoint also carries decoder/predictor weights; they must be ignored.
    full["decoder.decoders.0.self_attn.fsmn_block.weight"] = torch.zeros(16, 1, 11)
    full["predictor.cif_output.weight"] = torch.zeros(1, 16)
    torch.save(full, tmp_path / "model.pt")
    enc = SANMEncoder(TINY)
    load_encoder_weights(enc, tmp_path / "model.pt")
    for k, v in enc.state_dict().items():
        torch.testing.assert_close(v, enc_state[k])


def test_loads_mooer_encoder_pth_without_prefix(tmp_path):
    enc_state = random_state(TINY, seed=1)
    torch.save(enc_state, tmp_path / "paraformer-encoder.pth")
    enc = SANMEncoder(TINY)
    load_encoder_weights(enc, tmp_path / "paraformer-encoder.pth")
    torch.testing.assert_close(enc.state_dict()["encoders.1.norm2.bias"], enc_state["encoders.1.norm2.bias"])


def test_refuses_missing_and_unexpected_keys(tmp_path):
    state = random_state(TINY)
    del state["encoders.1.feed_forward.w_1.bias"]
    state["encoders.1.feed_forward.w_3.bias"] = torch.zeros(32)
    torch.save(state, tmp_path / "bad.pth")
    with pytest.raises(UserError) as err:
        load_encoder_weights(SANMEncoder(TINY), tmp_path / "bad.pth")
    msg = str(err.value)
    assert "encoders.1.feed_forward.w_1.bias" in msg and "w_3" in msg and "\n" not in msg


def test_refuses_wrong_depth_and_shape(tmp_path):
    torch.save(random_state(TINY), tmp_path / "enc.pth")
    deeper = SANMConfig(**{**TINY.to_dict(), "num_blocks": 4})
    with pytest.raises(UserError, match="missing"):
        load_encoder_weights(SANMEncoder(deeper), tmp_path / "enc.pth")
    wider = SANMConfig(**{**TINY.to_dict(), "linear_units": 48})
    with pytest.raises(UserError, match="shape mismatch"):
        load_encoder_weights(SANMEncoder(wider), tmp_path / "enc.pth")


def test_padding_does_not_change_valid_frames():
    torch.manual_seed(0)
    enc = SANMEncoder(TINY).eval()
    x = torch.randn(1, 9, 24)
    alone, _ = enc(x, torch.tensor([9]))
    padded = torch.cat([x, 100 * torch.randn(1, 6, 24)], dim=1)
    batch = torch.cat([padded, torch.randn(1, 15, 24)])
    out, lens = enc(batch, torch.tensor([9, 15]))
    assert lens.tolist() == [9, 15]
    torch.testing.assert_close(out[0, :9], alone[0], atol=1e-5, rtol=1e-5)


def test_attention_reaches_beyond_fsmn_kernel():
    torch.manual_seed(0)
    enc = SANMEncoder(TINY).eval()
    x = torch.randn(1, 20, 24, requires_grad=True)
    out, _ = enc(x, torch.tensor([20]))
    # (LayerNorm output sums to a constant, so project on a random direction instead of summing.)
    (out[0, 0] @ torch.randn(16)).backward()
    # Attention lets frame 0 see the last frame, beyond the FSMN's 5-frame kernel.
    assert x.grad[0, -1].abs().sum() > 0
