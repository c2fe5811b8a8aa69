"""Smoke test of bench/peer_ctc_lm.py's decoders on two synthetic utterances with tiny LMs.

The emissions spell known sentences with peaky CTC frames; in one of them a piece is a near coin flip
that leans to a wrong word, so every LM-fused decoder (asrkit, pyctcdecode, flashlight) must read the
LM to get it right, while greedy decoding must not.
"""

import importlib.util
import json
import math
import sys
from pathlib import Path

import pytest
import torch

# The peers come with `bash install.sh --dev` (the dev extra: flashlight-text; install.sh: pyctcdecode), which
# .ci/run runs: a missing peer fails this module instead of skipping it.
try:
    import flashlight.lib.text.decoder  # noqa: F401
    import pyctcdecode  # noqa: F401
except ImportError as err:
    raise ImportError(f"{err}: the peer decoders are test dependencies; run bash install.sh --dev") from None

from asrkit.tokenizer import train_tokenizer  # noqa: E402
from lm.ngram.build import build_ngram  # noqa: E402
from lm.ngram.kenlm_lm import KenLM  # noqa: E402
from lm.ngram.word_fusion import TokenizedWordLM  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def _bench():
    spec = importlib.util.spec_from_file_location("peer_ctc_lm", ROOT / "bench" / "peer_ctc_lm.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules["peer_ctc_lm"] = mod  # dataclasses look their module up by name
    spec.loader.exec_module(mod)
    return mod


def _emissions(tok, target: list[int], wrong: list[int] | None) -> torch.Tensor:
    """Peaky frames for ``target`` (each unit then a blank); where ``wrong`` differs, the frame gives
    the wrong unit a slight edge over the right one."""
    frames = []
    for i, u in enumerate(target):
        row = torch.full((tok.vocab_size,), -20.0)
        if wrong is not None and wrong[i] != u:
            row[wrong[i]] = math.log(0.5) + 0.05
            row[u] = math.log(0.5) - 0.05
        else:
            row[u] = 0.0
        frames += [row, torch.full((tok.vocab_size,), -20.0).index_fill(0, torch.tensor([0]), 0.0)]
    return torch.log_softmax(torch.stack(frames), dim=-1)


CORPUS = ["the cat sat on the mat", "the cat ate the rat", "a cat sat on a mat", "the dog ate the bone"] * 20
CLEAN, FLIP, WRONG = "the dog ate the bone", "the cat sat on the mat", "the cat rat on the mat"


def _two_utterances(bench, tok) -> list:
    """A clean utterance and one whose single differing unit of FLIP leans to WRONG's (the LM must fix it)."""
    target, wrong = tok.encode(FLIP), tok.encode(WRONG)
    assert len(target) == len(wrong) and sum(a != b for a, b in zip(target, wrong)) == 1
    return [bench.Utterance("clean", CLEAN, 1.0, _emissions(tok, tok.encode(CLEAN), None)),
            bench.Utterance("flip", FLIP, 1.0, _emissions(tok, target, wrong))]


def test_peer_decoders_on_synthetic_emissions(tmp_path):
    bench = _bench()
    (tmp_path / "c.txt").write_text("\n".join(CORPUS) + "\n")
    tok = train_tokenizer(CORPUS, tmp_path / "sp.model", vocab_size=40)
    token_arpa, word_arpa = tmp_path / "tok.arpa", tmp_path / "word.arpa"
    build_ngram([tmp_path / "c.txt"], 3, "token", token_arpa, tokenizer=tok, memory="64M")
    build_ngram([tmp_path / "c.txt"], 3, "word", word_arpa, memory="64M")

    clean_text, flip_text, wrong_text = CLEAN, FLIP, WRONG
    utts = _two_utterances(bench, tok)

    greedy = bench.run_decoder(bench.greedy_decoder(tok), utts)
    assert greedy.hyps == [clean_text, wrong_text]

    token_lm = KenLM.load(token_arpa, tokenizer=tok)
    word_lm = KenLM.load(word_arpa)
    ours_token = bench.ours_decoder(token_lm, tok, 4, "token")
    decoders = [
        ours_token,
        ours_token.variant(token_min_logp=None, beam_prune_logp=None),  # no pyctcdecode pruning
        ours_token.variant(python=True),  # the Python reference search
        bench.ours_decoder(token_lm, tok, 4, "token", batch=2),
        bench.flashlight_lexfree_decoder(token_arpa, tok, 4),
        bench.ours_decoder(TokenizedWordLM(word_lm, tok), tok, 4, "word"),
        bench.pyctcdecode_decoder(word_arpa, word_lm.vocab, tok, 4),
        bench.flashlight_lexicon_decoder(word_arpa, word_lm.vocab, tok, 4),
    ]
    rows = []
    for dec in decoders:
        dec.set_weights(0.5, 0.5)
        res = bench.run_decoder(dec, utts, batch=2)
        assert res.hyps == [clean_text, flip_text], dec.name
        assert res.wer == 0.0 and res.n == 2 and res.cpu_s > 0
        bench.retime(dec, utts, res, batch=2)  # a second timed pass must reproduce the output
        assert len(res.pass_cpu) == 2 and res.cpu_s == min(res.pass_cpu)
        rows.append(bench.Row(dec.name, dec.unit, dec.beam, (0.5, 0.5), 0.0, res, dec.setup_s))

    # Tuning picks a grid point by dev WER: with lambda = 0 no decoder can fix the flipped piece.
    tr = bench.tune(decoders[0], utts, [0.0, 0.5], [0.0])
    assert tr.best == (0.5, 0.0) and tr.grid[0][2] > 0.0 and tr.dev_wer == 0.0

    assert decoders[1].name == "asrkit (no token_min_logp) (no beam_prune_logp)"
    assert decoders[2].name == "asrkit (python)"
    table = bench.format_table(rows)
    assert table.count("\n") == len(rows) + 1
    assert "| asrkit | word | 4 |" in table and "x |" in table  # speed ratios are filled in
    assert any("word LM" in line for line in bench.target_lines(rows))


def test_weight_helpers(tmp_path):
    bench = _bench()
    corpus = ["the cat sat on the mat", "a dog ate the bone"] * 10
    tok = train_tokenizer(corpus, tmp_path / "sp.model", vocab_size=30)
    labels = bench.pyctcdecode_labels(tok.pieces(), tok.blank_id)
    assert labels[0] == "" and labels[1:] == tok.pieces()[1:]
    # The cost table: each method's time per utterance over plain beam search's, against the targets.
    def row(name, unit, ups):
        return bench.Row(name, unit, 8, (0.5, 1.0), None, bench.RunResult([], 5.0, 10, 10.0, [10 / ups]), 0.0)

    table = bench.overhead_table([row("asrkit beam (no LM)", "-", 100.0), row("asrkit", "token", 80.0),
                                  row("asrkit", "word", 50.0), row("asrkit LODR", "token", 70.0)])
    assert "| shallow fusion, token 4-gram | 8 | 5.00 | 80.0 | 1.25x | <= 1.3x: met |" in table
    assert "| shallow fusion, word 3-gram | 8 | 5.00 | 50.0 | 2.00x | <= 1.3x: NOT met |" in table
    assert "1.43x | <= 1.5x: met |" in table
    assert bench.overhead_table([row("asrkit", "token", 80.0)]) == ""


def test_reuse_tuned_json(tmp_path):
    bench = _bench()
    report = {
        "argv": ["--max-utts", "2"], "n_test": 2, "n_dev": 2, "audio_s": 3.0,
        "rows": [
            {"decoder": "asrkit", "unit": "token", "beam": 4, "lambda": 0.8, "beta": 2.0, "dev_wer": 10.0,
             "test_wer": 5.0, "utts_per_s": 20.0, "pass_cpu_s": [0.1, 0.2], "setup_s": 0.5},
            # a sweep row of a report written before the "section" field: no dev WER, not a tuned row
            {"decoder": "asrkit (prune_topk 2)", "unit": "token", "beam": 4, "lambda": 0.8, "beta": 2.0,
             "dev_wer": None, "test_wer": 7.0, "utts_per_s": 40.0, "pass_cpu_s": [0.05], "setup_s": 0.5},
            {"decoder": "asrkit", "unit": "word", "beam": 4, "lambda": 0.5, "beta": 1.0, "dev_wer": 12.0,
             "test_wer": 6.0, "utts_per_s": 20.0, "pass_cpu_s": [0.1], "setup_s": 0.1, "section": "min_logp"},
        ],
        "grid": [{"decoder": "asrkit", "unit": "token", "beam": 4, "lambda": lam, "beta": 2.0, "dev_wer": w}
                 for lam, w in ((0.5, 11.0), (0.8, 10.0))],
    }
    path = tmp_path / "r.json"
    path.write_text(json.dumps(report))
    tuned = bench.load_tuned(path)
    assert list(tuned.best) == [("asrkit", "token", 4)]  # only main rows with a dev WER carry weights
    assert tuned.best[("asrkit", "token", 4)].best == (0.8, 2.0)
    assert [g[0] for g in tuned.best[("asrkit", "token", 4)].grid] == [0.5, 0.8]
    assert [r["decoder"] for r in tuned.rows] == ["asrkit"] and tuned.tuned_by == ["--max-utts", "2"]
    path.write_text("{}")
    with pytest.raises(bench.UserError, match="not a peer_ctc_lm.py JSON report"):
        bench.load_tuned(path)
    with pytest.raises(bench.UserError, match="no such file"):
        bench.load_tuned(tmp_path / "missing.json")
    # argparse would take "-8,-5" for an option name; the value is glued to its flag first
    assert bench._glue_negative_lists(["--ours-min-logp", "-8,-5", "--beams", "8"]) == [
        "--ours-min-logp=-8,-5", "--beams", "8"]
    assert bench._glue_negative_lists(["--ours-min-logp", "--beams"]) == ["--ours-min-logp", "--beams"]


def test_hotword_peer_bench_on_a_name_the_model_misreads(tmp_path):
    """bench/peer_hotwords.py end to end on synthetic emissions: the spoken name loses to a near spelling by
    a hair; with the name as a hotword asrkit writes it, and both decoders' rows are in the report."""
    spec = importlib.util.spec_from_file_location("peer_hotwords", ROOT / "bench" / "peer_hotwords.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    import numpy as np

    corpus = ["the cat saw zed", "the cat saw zad", "a dog saw the cat", "zed and zad saw a dog"] * 20
    tok = train_tokenizer(corpus, tmp_path / "sp.model", vocab_size=30)
    said, written = "the cat saw zed", "the cat saw zad"
    target, wrong = tok.encode(said), tok.encode(written)
    assert len(target) == len(wrong) and sum(a != b for a, b in zip(target, wrong)) == 1
    np.savez(tmp_path / "e.npz", u1=_emissions(tok, target, wrong).numpy(),
             u2=_emissions(tok, tok.encode("a dog saw the cat"), None).numpy())
    (tmp_path / "m.jsonl").write_text('{"id": "u1", "text": "The cat saw Zed."}\n'
                                      '{"id": "u2", "text": "A dog saw the cat."}\n')
    lists = tmp_path / "lists"
    lists.mkdir()
    (lists / "biased_names.txt").write_text("zed\n")
    (lists / "hotwords_1.txt").write_text("zed\n")
    out = tmp_path / "r.md"
    assert mod.main(["--emissions", str(tmp_path / "e.npz"), "--test", str(tmp_path / "m.jsonl"),
                     "--lists", str(lists), "--tokens", str(tmp_path / "sp.model"), "--sizes", "0,1",
                     "--max-utts", "0", "--repeats", "1", "--pyctc-weights", "10", "--no-full",
                     "--out", str(out)]) == 0
    rows = {(r["decoder"], r["phrases"]): r for r in json.loads(out.with_suffix(".json").read_text())["rows"]}
    assert set(rows) == {("pyctcdecode", 0), ("asrkit", 0), ("pyctcdecode", 1), ("asrkit", 1)}
    assert rows["asrkit", 0]["recall"] == 0.0 and rows["asrkit", 1]["recall"] == 100.0
    assert rows["asrkit", 1]["wer"] == 0.0 and rows["pyctcdecode", 0]["recall"] == 0.0
    assert "| pyctcdecode | 1 | 10.0 |" in out.read_text()


def test_wav2vec2_style_character_row(tmp_path):
    """bench/peer_ctc_chars.py --row en: a character model's units as a wav2vec2 vocabulary (``<pad>``, ``|``,
    letters) for asrkit and pyctcdecode with a word 3-gram; both must read the LM where a letter leans wrong."""
    bench = _bench()  # registers peer_ctc_lm, which peer_ctc_chars imports
    spec = importlib.util.spec_from_file_location("peer_ctc_chars", ROOT / "bench" / "peer_ctc_chars.py")
    chars = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(chars)
    (tmp_path / "c.txt").write_text("\n".join(CORPUS) + "\n")
    tok = train_tokenizer(CORPUS, tmp_path / "sp.model", vocab_size=64, units="char")
    word_arpa = tmp_path / "word.arpa"
    build_ngram([tmp_path / "c.txt"], 3, "word", word_arpa, memory="64M")
    labels = chars.wav2vec2_labels(tok)
    assert labels[0] == "<pad>" and "|" in labels and "t" in labels and "\u2581" not in labels

    utts = _two_utterances(bench, tok)
    plain, ours, peer = chars.en_decoders(word_arpa, tok, [4], [-10.0, -40.0])[4]
    assert [o for o, _ in ours] == [o for o, _ in peer] == [-10.0, -40.0] and len(plain) == 1
    assert (plain[0][1].name, ours[0][1].unit, peer[0][1].name) == ("asrkit beam (no LM)", "word", "pyctcdecode")
    assert bench.run_decoder(plain[0][1], utts).hyps == [CLEAN, WRONG]
    for _, dec in ours + peer:
        dec.set_weights(0.5, 0.5)
        assert bench.run_decoder(dec, utts).hyps == [CLEAN, FLIP], dec.name
