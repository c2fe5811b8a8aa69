"""The decoder suite on the speech-LLM head: beam search = HF generate, and every fusion method runs through
``Recognizer`` with LMs that change the answer towards their text."""

import math

import pytest
import torch

from asrkit.inference import Recognizer
from decoders.ar_beam import ar_beam_search
from lm.ngram.build import build_ngram
from lm.ngram.kenlm_lm import KenLM
from tests.conftest import SPEECH_LLM_CORPUS as CORPUS

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def parts(tiny_speech_llm):
    return tiny_speech_llm  # built in conftest.py


@pytest.mark.parametrize("beam,lp,bias", [(4, 0.8, -0.2), (2, 1.0, 0.0)])
def test_beam_search_matches_generate_on_the_speech_llm(parts, beam, lp, bias):
    m, waves = parts["model"], parts["waves"]
    head = m.prefix_lm(waves, "asr")
    # MooER's generate has min_length 1: with inputs_embeds only, eos is blocked at the first step.
    ours = ar_beam_search(head, len(waves), head.eos_id, beam=beam, max_new_tokens=8, length_penalty=lp,
                          eos_bias=bias, min_new_tokens=1)
    ref = m.generate_ids(waves, "asr", num_beams=beam, max_new_tokens=8, length_penalty=lp, eos_bias=bias)
    assert [list(h[0].units) for h in ours] == ref


@pytest.fixture(scope="module")
def word_lm(parts, tmp_path_factory):
    d = tmp_path_factory.mktemp("llm_lm")
    (d / "c.txt").write_text("\n".join(CORPUS * 10) + "\n")
    build_ngram([d / "c.txt"], 3, "word", d / "w.arpa", memory="64M")
    return d / "w.arpa"


def lm_logprob(lm_path, texts):
    lm = KenLM.load(lm_path)
    return lm.score_sentences([lm.encode_text(t.lower()) for t in texts]).tolist()


def _decode(parts, **kw):
    """Best hypothesis per utterance of the speech-LLM head under ``DecodeConfig(**kw)``."""
    from asrkit.inference import DecodeConfig
    from asrkit.inference.engine import Decoder
    from asrkit.inference.heads import SpeechLLMHead

    head = SpeechLLMHead(parts["model"], "asr")
    return [h[0] for h in Decoder(DecodeConfig(**kw), head).hypotheses(head.acoustics(parts["waves"]))]


def _objective(h, weights: dict, max_new: int, lp: float = 0.8) -> float:
    """S(y) of decoders/ar_beam.py from a hypothesis' parts: (am + sum_k w_k log p_k) / steps^alpha, with
    eos_bias 0; a hypothesis shorter than ``max_new`` ended with eos (one more step)."""
    steps = len(h.units) + (len(h.units) < max_new)
    return (h.am_score + sum(w * h.lm_scores[k] for k, w in weights.items())) / steps ** lp


def _ilm_logprob(m, units) -> float:
    """log p(units | prompt) of the speech LLM without audio, from one unpadded forward pass per token."""
    emb, prompt = m.lm.get_input_embeddings(), m.prompt_ids("asr")
    total = 0.0
    with torch.no_grad():
        for i, u in enumerate(units):
            x = emb(torch.tensor(prompt + list(units[:i]), dtype=torch.long))[None]
            total += float(torch.log_softmax(m.lm(inputs_embeds=x).logits[0, -1].float(), -1)[u])
    return total


def test_fusion_methods_on_the_llm_head(parts, word_lm, tmp_path):
    """Every method's answers follow from its equation: the ranking score is the weighted sum of the parts it
    reports, an LM that disagrees with the speech LLM (its own base LLM without LoRA, a Hugging Face causal LM
    over the same tokens) changes the answer, and a target LM cancelled by the same source LM changes nothing."""
    m, waves = parts["model"], parts["waves"]
    hf = str(parts["llm_dir"])
    n = 10
    common = dict(beam=4, max_new_tokens=n, eos_bias=0.0)
    beam = _decode(parts, method="beam", **common)
    units = [h.units for h in beam]
    # Greedy: the arg-max token at each step of the conditioned LLM (eos ends an answer).
    head = m.prefix_lm(waves, "asr")
    for b, got in enumerate(Recognizer(m, method="greedy", **common).decode_waves(waves)):
        lm, state, want = head, head.select_states(head.init_state(len(waves)), torch.tensor([b])), []
        for _ in range(n):
            u = int(lm.score(state)[0].argmax())
            if u == head.eos_id:
                break
            want.append(u)
            state = lm.advance(state, torch.tensor([0]), torch.tensor([u]))
        assert got == m.tokenizer.decode(want)
    # Beam: the decoders' search with the config's beam, length penalty and eos bias.
    ref = ar_beam_search(m.prefix_lm(waves, "asr"), len(waves), head.eos_id, beam=4, max_new_tokens=n,
                         length_penalty=0.8, eos_bias=0.0)
    assert units == [h[0].units for h in ref]
    for h in beam:
        assert h.lm_scores == {} and math.isclose(h.score, _objective(h, {}, n), rel_tol=1e-5)
    # Shallow fusion: lambda = 0 is the beam search; lambda = 1 changes the answer; S(y) adds lambda log p_LM.
    assert [h.units for h in _decode(parts, method="shallow_fusion", lm=hf, lm_weight=0.0, **common)] == units
    fused = _decode(parts, method="shallow_fusion", lm=hf, lm_weight=1.0, **common)
    assert [h.units for h in fused] != units
    for h in fused:
        assert set(h.lm_scores) == {"lm"} and math.isclose(h.score, _objective(h, {"lm": 1.0}, n), rel_tol=1e-5)
    # Density ratio and LODR: the same LM as target and source at the same weight cancels (the beam search's
    # answers); without the source term it would be shallow fusion's different answers.
    for method in ("density_ratio", "lodr"):
        same = _decode(parts, method=method, lm=hf, lm_weight=1.0, source_lm=hf, source_weight=1.0, **common)
        assert [h.units for h in same] == units
        for h in same:
            assert set(h.lm_scores) == {"lm", "source_lm"}
            assert math.isclose(h.score, _objective(h, {"lm": 1.0, "source_lm": -1.0}, n), rel_tol=1e-5)
    # ILME: mu = 0 is shallow fusion; the internal LM's score is the prompt-only LLM's log-probability.
    no_ilm = _decode(parts, method="ilme", lm=hf, lm_weight=1.0, ilm_weight=0.0, **common)
    assert [h.units for h in no_ilm] == [h.units for h in fused]
    ilme = _decode(parts, method="ilme", lm=hf, lm_weight=1.0, ilm_weight=0.5, **common)
    for h in ilme:
        assert set(h.lm_scores) == {"lm", "ilm"}
        assert math.isclose(h.score, _objective(h, {"lm": 1.0, "ilm": -0.5}, n), rel_tol=1e-5)
        assert math.isclose(h.lm_scores["ilm"], _ilm_logprob(m, h.units), rel_tol=1e-4)
    # Rescore: the beam search's 4-best re-ranked by first-pass score + lambda log p_LM(text); it changes
    # at least one answer here.
    from asrkit.inference.heads import SpeechLLMHead
    from asrkit.text import normalize_text
    from lm.load import load_lm

    lm = load_lm(hf)
    first = ar_beam_search(m.prefix_lm(waves, "asr"), len(waves), head.eos_id, beam=4, max_new_tokens=n,
                   length_penalty=0.8, eos_bias=0.0, nbest=4)
    text = SpeechLLMHead(m, "asr").text
    want = []
    for nb in first:
        lp = lm.score_sentences([lm.encode_text(normalize_text(text(h.units))) for h in nb]).tolist()
        want.append(max(zip(nb, lp), key=lambda x: x[0].score + 1.0 * x[1])[0].units)
    rescored = _decode(parts, method="rescore", lm=hf, lm_weight=1.0, nbest=4, **common)
    assert [h.units for h in rescored] == want != units
    # LODR over a word LM: a bigram is accepted, a trigram refused (the low-order source the method needs).
    from asrkit.errors import UserError

    d = tmp_path
    (d / "c.txt").write_text("\n".join(CORPUS * 10) + "\n")
    build_ngram([d / "c.txt"], 2, "word", d / "w2.arpa", memory="64M")
    lodr = _decode(parts, method="lodr", lm=hf, lm_weight=1.0, source_lm=str(d / "w2.arpa"), source_weight=0.5,
                   **common)
    for h in lodr:
        assert set(h.lm_scores) == {"lm", "source_lm"}
        assert math.isclose(h.score, _objective(h, {"lm": 1.0, "source_lm": -0.5}, n), rel_tol=1e-5)
    with pytest.raises(UserError, match="low-order"):
        _decode(parts, method="lodr", lm=hf, source_lm=str(word_lm), source_weight=0.5, **common)
    for method, extra in [("shallow_fusion", {"lm": str(word_lm)}), ("rescore", {"lm": str(word_lm), "nbest": 4}),
                          ("density_ratio", {"lm": str(word_lm), "source_lm": str(word_lm), "source_weight": 0.5}),
                          ("ilme", {"lm": str(word_lm), "ilm_weight": 0.5})]:
        out = Recognizer(m, method=method, **extra, **common).decode_waves(waves)
        assert len(out) == 2 and all(isinstance(t, str) for t in out)


def test_word_lm_over_byte_level_llm_tokens(parts, word_lm):
    """Accumulated over the LLM's tokens (case, punctuation, leading-space words), the adapter's score is the
    word LM's log-probability of the normalised sentence."""
    from lm.ngram.word_fusion import as_token_lm

    tok = parts["model"].tokenizer
    kenlm = KenLM.load(word_lm)
    lm = as_token_lm(kenlm, tok)
    text = "In the beginning, God created the heavens."
    ids = tok.encode(text)
    state, total = lm.init_state(1), 0.0
    for u in ids:
        total += float(lm.score(state, torch.tensor([[u]]))[0, 0])
        state = lm.advance(state, torch.tensor([0]), torch.tensor([u]))
    total += float(lm.final_score(state)[0])
    want = lm_logprob(word_lm, ["in the beginning god created the heavens"])[0]
    assert abs(total - want) < 1e-3


def test_ilme_subtracts_the_prompt_only_llm(parts, word_lm):
    from decoders.ilme import ilme
    from lm.ngram.word_fusion import as_token_lm

    m, waves = parts["model"], parts["waves"]
    head = m.prefix_lm(waves, "asr")
    lm = as_token_lm(KenLM.load(word_lm), m.tokenizer)
    scorers = ilme(lm, 0.5, m.prompt_only_lm("asr", len(waves)), 0.7)
    hyps = ar_beam_search(head, len(waves), head.eos_id, beam=3, scorers=scorers, max_new_tokens=6)
    for h in hyps:
        best = h[0]
        assert set(best.lm_scores) == {"lm", "ilm"}
        # The prompt-only LLM's log-probability of the answer (no eos: these answers stop at max_new_tokens).
        assert len(best.units) == 6
        assert math.isclose(best.lm_scores["ilm"], _ilm_logprob(m, best.units), rel_tol=1e-4)


def test_llm_ilme_refuses_a_ctc_prior(parts, word_lm, tmp_path):
    """The old LLM dispatch silently ignored --ilm; the speech LLM's internal LM is itself without audio."""
    from asrkit.errors import UserError

    with pytest.raises(UserError, match="--ilm") as err:
        Recognizer(parts["model"], method="ilme", lm=str(word_lm), ilm=str(tmp_path / "prior.json"))
    assert "\n" not in str(err.value)


def test_bonuses_are_scorers_on_the_llm_head(parts, word_lm):
    """The insertion bonus (per token) and the word bonus reach the autoregressive search in every method (the old
    LLM dispatch ignored --insertion-bonus outside rescore), with their counts in each hypothesis."""
    from asrkit.inference import DecodeConfig
    from asrkit.inference.engine import Decoder
    from asrkit.inference.heads import SpeechLLMHead

    m, waves = parts["model"], parts["waves"]
    head = SpeechLLMHead(m, "asr")
    acoustics = head.acoustics(waves)
    common = dict(beam=2, max_new_tokens=6, eos_bias=0.0)

    def best(**kw):
        return [h[0] for h in Decoder(DecodeConfig(**common, **kw), head).hypotheses(acoustics)]

    def words(h):
        return float(head.word_bonus().score_sentences([h.units])[0])

    def words_so_far(h):
        """Completed words without the end of the answer (answers cut at max_new_tokens never see their eos)."""
        wb, state, n = head.word_bonus(), head.word_bonus().init_state(1), 0.0
        for u in h.units:
            n += float(wb.score(state, torch.tensor([[u]]))[0, 0])
            state = wb.advance(state, torch.tensor([0]), torch.tensor([u]))
        return n

    free = best(method="beam")
    # A bonus per token adds beta * |y| to the running score, which the search divides by (steps)^alpha: the same
    # hypotheses (this random LLM never ends before max_new_tokens, so steps = |y|), each scored that much higher.
    for method, extra in [("beam", {}), ("shallow_fusion", {"lm": str(word_lm), "lm_weight": 0.0})]:
        bonus = best(method=method, insertion_bonus=0.5, **extra)
        for a, b in zip(free, bonus):
            assert a.units == b.units and b.lm_scores["unit_bonus"] == len(b.units)
            assert len(b.units) == common["max_new_tokens"]
            assert math.isclose((b.score - a.score) * len(b.units) ** 0.8, 0.5 * len(b.units), rel_tol=1e-4)
    # A word bonus moves the search to answers with more words, in rescore's first pass too.
    for method, extra in [("beam", {}), ("rescore", {"lm": str(word_lm), "lm_weight": 0.0, "nbest": 2})]:
        more = best(method=method, word_bonus=3.0, **extra)
        assert sum(map(words, more)) > sum(map(words, free))
        assert all(h.lm_scores["word_bonus"] == words_so_far(h) for h in more)


def test_lm_prior_needs_ctc_emissions(tmp_path, capsys):
    """`asrkit lm prior` asks the model's head for CTC emissions; a speech LLM's head has none (one line)."""
    from pathlib import Path

    from asrkit.cli.main import main

    sample = sorted((Path(__file__).parent.parent / "asrkit" / "samples").glob("*.flac"))[0]
    rc = main(["lm", "prior", "-m", "bible-en-speechllm-tiny", "-i", str(sample), "-o", str(tmp_path / "p.json")])
    errors = [x for x in capsys.readouterr().err.splitlines() if "error" in x]
    assert rc == 2 and len(errors) == 1 and "needs a CTC model" in errors[0], errors
    assert not (tmp_path / "p.json").exists()


def test_prune_topk_is_the_llm_pre_beam(parts, word_lm, monkeypatch):
    """--prune-topk reaches the autoregressive search as its pre-beam (the tokens the scorers see); 0 is refused."""
    import decoders.ar_beam
    from asrkit.errors import UserError
    from asrkit.inference import DecodeConfig
    from asrkit.inference.engine import Decoder
    from asrkit.inference.heads import SpeechLLMHead

    with pytest.raises(UserError, match="--prune-topk must be at least 1"):
        DecodeConfig(prune_topk=0).check()
    seen = []
    real = decoders.ar_beam.ar_beam_search

    def spy(*args, **kwargs):
        seen.append(kwargs["pre_beam"])
        return real(*args, **kwargs)

    monkeypatch.setattr(decoders.ar_beam, "ar_beam_search", spy)
    head = SpeechLLMHead(parts["model"], "asr")
    acoustics = head.acoustics(parts["waves"])
    for k in (None, 64):
        cfg = DecodeConfig(method="shallow_fusion", lm=str(word_lm), beam=2, max_new_tokens=3, prune_topk=k)
        Decoder(cfg.check(), head).hypotheses(acoustics)
    assert seen == [None, 64]
