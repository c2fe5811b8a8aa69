"""Any CTC model: a Hugging Face CTC folder (a tiny random Wav2Vec2ForCTC saved here with save_pretrained)
decoded end to end by `asrkit decode -m DIR` with beam search and hotwords, and saved log-probabilities
decoded by `asrkit decode --emissions FILE.npz --tokens tokens.txt`."""

import json

import numpy as np
import pytest
import soundfile as sf
import torch

from asrkit.cli.main import main

LETTERS = list("abcdefghijklmnopqrstuvwxyz'")


@pytest.fixture(scope="module")
def hf_folder(tmp_path_factory):
    transformers = pytest.importorskip("transformers")
    d = tmp_path_factory.mktemp("hf")
    vocab = {"<pad>": 0, "<s>": 1, "</s>": 2, "<unk>": 3, "|": 4, **{c.upper(): 5 + i for i, c in enumerate(LETTERS)}}
    (d / "vocab.json").write_text(json.dumps(vocab))
    tok = transformers.Wav2Vec2CTCTokenizer(str(d / "vocab.json"), unk_token="<unk>", pad_token="<pad>",
                                            word_delimiter_token="|")
    fe = transformers.Wav2Vec2FeatureExtractor(feature_size=1, sampling_rate=16000, padding_value=0.0,
                                               do_normalize=True, return_attention_mask=False)
    transformers.Wav2Vec2Processor(feature_extractor=fe, tokenizer=tok).save_pretrained(d)
    torch.manual_seed(0)
    cfg = transformers.Wav2Vec2Config(vocab_size=len(vocab), hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                                      intermediate_size=32, conv_dim=(16, 16), conv_stride=(5, 4), conv_kernel=(10, 8),
                                      num_conv_pos_embeddings=8, num_conv_pos_embedding_groups=2, pad_token_id=0,
                                      do_stable_layer_norm=False, feat_extract_norm="group")
    transformers.Wav2Vec2ForCTC(cfg).save_pretrained(d)
    rng = np.random.default_rng(0)
    for i, n in enumerate((8000, 12000)):
        sf.write(d / f"u{i}.wav", (0.1 * rng.standard_normal(n)).astype(np.float32), 16000)
    return d


def test_hf_ctc_folder_decodes_end_to_end(hf_folder, tmp_path):
    from asrkit.inference import Recognizer
    from asrkit.models.hf_ctc import HFCTCModel

    rec = Recognizer(str(hf_folder), method="beam", beam=4)
    assert isinstance(rec.model, HFCTCModel)
    vocab = rec.model.tokenizer
    assert vocab.blank_id == 0 and vocab.pieces()[4] == "\u2581" and vocab.pieces()[5] == "a"
    waves = [sf.read(hf_folder / f"u{i}.wav", dtype="float32")[0] for i in range(2)]
    lp, lens = rec.emissions(waves)
    assert lp.shape[-1] == 32 and lens.tolist() == [398, 598]  # conv kernels 10, 8 and strides 5, 4
    # Beam search over the random model's (near uniform) output and its best path spell only vocabulary letters.
    for texts in (rec.decode_waves(waves), Recognizer(rec.model, method="greedy").decode_waves(waves)):
        assert len(texts) == 2 and all(set(t) <= set(LETTERS) | {" "} for t in texts)
    # The CLI, with hotwords: a phrase the random model's beam puts nowhere still decodes, and is scored.
    hot = tmp_path / "hot.txt"
    hot.write_text("zebedee\n")
    out = tmp_path / "hyp.jsonl"
    inputs = [str(hf_folder / "u0.wav"), str(hf_folder / "u1.wav")]
    assert main(["decode", "-q", "-m", str(hf_folder), "--method", "beam", "--beam", "4", "--hotwords", str(hot),
                 "--hotword-weight", "50", "-i", *inputs, "-o", str(out)]) == 0
    texts = [json.loads(line)["text"] for line in out.read_text().splitlines()]
    assert len(texts) == 2 and any("zebedee" in t for t in texts)  # a huge weight forces the phrase in


def test_emissions_npz_cli(tmp_path, capsys):
    tokens = tmp_path / "tokens.txt"
    chars = ["<blk>", "<unk>", "|"] + list("abcdefghijklmnopqrstuvwxyz")
    tokens.write_text("".join(f"{c} {i}\n" for i, c in enumerate(chars)))

    def frames(text):
        rows = []
        for ch in text:
            for unit in ("|" if ch == " " else ch, "<blk>"):
                row = np.full(len(chars), -9.0, dtype=np.float32)
                row[chars.index(unit)] = -0.01
                rows.append(row)
        return np.stack(rows)

    npz = tmp_path / "em.npz"
    np.savez(npz, a=frames("the cat"), b=frames("sat on"), bad=np.zeros((3, 5), dtype=np.float32))
    out = tmp_path / "hyp.jsonl"
    rc = main(["decode", "--emissions", str(npz), "--tokens", str(tokens), "--method", "beam", "-o", str(out)])
    assert rc == 1  # one utterance had the wrong width: one line, the others decoded
    assert "'bad' has shape (3, 5)" in capsys.readouterr().err
    assert [json.loads(x) for x in out.read_text().splitlines()] == [{"id": "a", "text": "the cat"},
                                                                    {"id": "b", "text": "sat on"}]
    for argv, msg in [(["--tokens", str(tokens)], "no such file"), ([], "needs --tokens")]:
        rc = main(["decode", "--emissions", str(tmp_path / "none.npz"), *argv, "-o", str(tmp_path / "x.jsonl")])
        assert rc != 0 and msg in capsys.readouterr().err
