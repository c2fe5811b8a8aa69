"""The decoder suite on the speech-LLM head: beam search = HF generate, and every fusion method runs through
``Recognizer`` with LMs that change the answer towards their text."""

import math

import pytest
import torch

from asrkit.inference import Recognizer
from decoders.ar_beam import ar_beam_search
from lm.ngram.build import build_ngram
from lm.ngram.kenlm_lm import KenLM
from tests.test_speech_llm import CORPUS, parts  # noqa: F401  (module fixture)

torch.set_num_threads(1)


@pytest.mark.parametrize("beam,lp,bias", [(4, 0.8, -0.2), (2, 1.0, 0.0)])
def test_beam_search_matches_generate_on_the_speech_llm(parts, beam, lp, bias):  # noqa: F811
    m, waves = parts["model"], parts["waves"]
    head = m.prefix_lm(waves, "asr")
    # MooER's generate has min_length 1: with inputs_embeds only, eos is blocked at the first step.
    ours = ar_beam_search(head, len(waves), head.eos_id, beam=beam, max_new_tokens=8, length_penalty=lp,
                          eos_bias=bias, min_new_tokens=1)
    ref = m.generate_ids(waves, "asr", num_beams=beam, max_new_tokens=8, length_penalty=lp, eos_bias=bias)
    assert [list(h[0].units) for h in ours] == ref


@pytest.fixture(scope="module")
def word_lm(parts, tmp_path_factory):  # noqa: F811
    d = tmp_path_factory.mktemp("llm_lm")
    (d / "c.txt").write_text("\n".join(CORPUS * 10) + "\n")
    build_ngram([d / "c.txt"], 3, "word", d / "w.arpa", memory="64M")
    return d / "w.arpa"


def lm_logprob(lm_path, texts):
    lm = KenLM.load(lm_path)
    return lm.score_sentences([lm.encode_text(t.lower()) for t in texts]).tolist()


def test_fusion_methods_on_the_llm_head(parts, word_lm):  # noqa: F811
    m, waves = parts["model"], parts["waves"]
    common = dict(beam=4, max_new_tokens=10, eos_bias=0.0)
    for method, extra in [("greedy", {}), ("beam", {}), ("shallow_fusion", {"lm": str(word_lm)}),
                          ("rescore", {"lm": str(word_lm), "nbest": 4}),
                          ("density_ratio", {"lm": str(word_lm), "source_lm": str(word_lm), "source_weight": 0.5}),
                          ("ilme", {"lm": str(word_lm), "ilm_weight": 0.5})]:
        out = Recognizer(m, method=method, **extra, **common).decode_waves(waves)
        assert len(out) == 2 and all(isinstance(t, str) for t in out)


def test_word_lm_over_byte_level_llm_tokens(parts, word_lm):  # noqa: F811
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


def test_ilme_subtracts_the_prompt_only_llm(parts, word_lm):  # noqa: F811
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
        assert best.lm_scores["ilm"] < 0  # a log-probability of the prompt-only LLM


def test_llm_ilme_refuses_a_ctc_prior(parts, word_lm, tmp_path):  # noqa: F811
    """The old LLM dispatch silently ignored --ilm; the speech LLM's internal LM is itself without audio."""
    from asrkit.errors import UserError

    with pytest.raises(UserError, match="--ilm") as err:
        Recognizer(parts["model"], method="ilme", lm=str(word_lm), ilm=str(tmp_path / "prior.json"))
    assert "\n" not in str(err.value)


def test_bonuses_are_scorers_on_the_llm_head(parts, word_lm):  # noqa: F811
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
