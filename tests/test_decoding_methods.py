"""Each decoding method on hand-built CTC emissions where the right answer is known and an LM must change it,
plus the autoregressive beam search against Hugging Face ``generate``."""

import math

import pytest
import torch

from decoders.ar_beam import ar_beam_search
from decoders.ctc_prefix_beam import (
    ctc_prefix_beam_search,
    ctc_prefix_beam_search_batch,
    ctc_prefix_beam_search_reference,
)
from decoders.density_ratio import density_ratio, lodr
from decoders.ilme import estimate_ctc_label_prior, ilme
from decoders.rescoring import rescore_nbest
from decoders.shallow_fusion import shallow_fusion
from lm.ngram.build import build_ngram
from lm.ngram.kenlm_lm import KenLM
from lm.ngram.word_fusion import TokenizedWordLM
from lm.unigram import UnigramLM
from tests.conftest import SENTS, ambiguous, lean_emissions

torch.set_num_threads(1)
def best(lp, scorers, **kw):
    return list(ctc_prefix_beam_search(lp, beam=8, scorers=scorers, **kw)[0].units)


def test_batched_search_equals_one_utterance_at_a_time(world):
    g = torch.Generator().manual_seed(1)
    lps = [torch.log_softmax(torch.randn(t, world["tok"].vocab_size, generator=g) * 3, -1) for t in (9, 14, 5)]
    padded = torch.nn.utils.rnn.pad_sequence(lps, batch_first=True)
    scorers = shallow_fusion(world["target_tok"], 0.4)
    batch = ctc_prefix_beam_search_batch(padded, torch.tensor([9, 14, 5]), beam=6, scorers=scorers, nbest=3)
    for lp, hyps in zip(lps, batch):
        one = ctc_prefix_beam_search(lp, beam=6, scorers=scorers, nbest=3)
        assert [h.units for h in hyps] == [h.units for h in one]
        assert all(math.isclose(a.score, b.score, rel_tol=1e-6) for a, b in zip(hyps, one))


def test_token_min_logp_skips_unlikely_units_only(world):
    g = torch.Generator().manual_seed(2)
    lp = torch.log_softmax(torch.randn(12, world["tok"].vocab_size, generator=g) * 4, -1)
    scorers = shallow_fusion(world["target_tok"], 0.4)
    full = ctc_prefix_beam_search(lp, beam=6, scorers=scorers, nbest=3)
    # A threshold below every log-probability changes nothing ...
    same = ctc_prefix_beam_search(lp, beam=6, scorers=scorers, nbest=3, token_min_logp=-1e9)
    assert [h.units for h in same] == [h.units for h in full]
    # ... and with a threshold every emitted unit had log p >= threshold at some frame.
    pruned = ctc_prefix_beam_search(lp, beam=6, scorers=scorers, nbest=3, token_min_logp=-2.0)
    allowed = {int(u) for u in (lp >= -2.0).nonzero()[:, 1]}
    assert all(set(h.units) <= allowed for h in pruned)
    # A prefix-pruning margin wider than any score gap changes nothing either.
    wide = ctc_prefix_beam_search(lp, beam=6, scorers=scorers, nbest=3, beam_prune_logp=1e9)
    assert [h.units for h in wide] == [h.units for h in full]
    # Peaky frames (blank only) leave the result of the easy ambiguous case unchanged.
    amb, cat, rat = ambiguous(world)
    assert list(ctc_prefix_beam_search(amb, beam=8, token_min_logp=-5.0)[0].units) == rat


def test_word_level_fusion_scores_whole_words(world):
    lp, cat, rat = ambiguous(world)
    assert best(lp, []) == rat
    word_lm = TokenizedWordLM(world["cat_word"], world["tok"])
    hyp = ctc_prefix_beam_search(lp, beam=8, scorers=shallow_fusion(word_lm, 0.5))[0]
    assert list(hyp.units) == cat
    # Summed over the search, the word LM's score is its own log-probability of the sentence's words.
    want = float(world["cat_word"].score_sentences([world["cat_word"].encode_text("the cat sat on the mat")])[0])
    assert math.isclose(hyp.lm_scores["lm"], want, rel_tol=1e-4)


def test_word_level_oov_spelling_is_penalised_early(world):
    # A word LM that knows only "the cat sat on the mat": the tokenizer's pieces for dog, rat, cheese, ... start
    # no word it knows.
    d = world["dir"]
    (d / "cat_only.txt").write_text("the cat sat on the mat\n" * 10)
    build_ngram([d / "cat_only.txt"], 3, "word", d / "cat_only.arpa", memory="64M")
    cat_only = KenLM.load(d / "cat_only.arpa")
    word_lm = TokenizedWordLM(cat_only, world["tok"], oov_penalty=-10.0)
    tok = world["tok"]
    state = word_lm.init_state(1)
    pieces = tok.pieces()
    # A piece that starts a word no LM word starts with gets the OOV penalty at once.
    bad = [i for i, p in enumerate(pieces) if p.startswith("\u2581") and not any(
        w.startswith(p[1:]) for w in cat_only.vocab if w != "<unk>")]
    assert bad, "the test tokenizer must have a piece that starts no LM word"
    good = tok.encode("the")[0]
    scores = word_lm.score(state, torch.tensor([[good] + bad]))[0]
    assert float(scores[0]) == 0.0 and all(float(x) == -10.0 for x in scores[1:])


def test_hotword_words_are_spared_the_oov_penalty(world):
    """``extra_words`` (a search's hotword words) count as vocabulary for the OOV penalty: spelling one costs
    nothing until it is complete, then it is scored as <unk> like any word the LM lacks; other unknown
    spellings still pay at once."""
    d = world["dir"]
    (d / "cat_only2.txt").write_text("the cat sat on the mat\n" * 10)
    build_ngram([d / "cat_only2.txt"], 3, "word", d / "cat_only2.arpa", memory="64M")
    cat_only = KenLM.load(d / "cat_only2.arpa")
    tok = world["tok"]
    plain = TokenizedWordLM(cat_only, tok, oov_penalty=-10.0)
    spared = TokenizedWordLM(cat_only, tok, oov_penalty=-10.0, extra_words=["dog", "the"])
    assert spared.extra_words == ("dog",)  # the LM's own words are not extra
    unk = float(cat_only.score_sentences([cat_only.encode_text("<unk>")])[0])
    for lm, word, penalty in ((plain, "dog", -10.0), (spared, "dog", 0.0), (plain, "rug", -10.0),
                              (spared, "rug", -10.0)):
        state = lm.init_state(1)
        total = 0.0
        for u in tok.encode(word):  # spelled piece by piece
            total += float(lm.score(state, torch.tensor([[u]]))[0, 0])
            state = lm.advance(state, torch.tensor([0]), torch.tensor([u]))
        assert total == penalty, (lm, word)
        # Complete, an unknown word is scored as <unk> either way.
        assert math.isclose(float(lm.final_score(state)[0]), unk, rel_tol=1e-5)


def test_density_ratio_and_lodr_undo_the_source_prior(world):
    lp, cat, rat = ambiguous(world)
    # Shallow fusion with a neutral target LM keeps the acoustic (source-biased) choice ...
    assert best(lp, shallow_fusion(world["target_tok"], 0.5)) == rat
    # ... subtracting the source LM removes the bias.
    assert best(lp, density_ratio(world["target_tok"], 0.5, world["source_tok"], 0.3)) == cat
    assert best(lp, lodr(world["target_tok"], 0.5, world["source_bigram"], 0.3)) == cat


def test_lodr_refuses_a_high_order_source(world):
    from asrkit.errors import UserError

    with pytest.raises(UserError, match="low-order"):
        lodr(world["target_tok"], 0.5, world["source_tok"], 0.3)


def test_ilme_with_a_ctc_label_prior(world):
    lp, cat, rat = ambiguous(world)
    tok = world["tok"]
    # The AM's own outputs on "training audio" where rats are frequent give a prior that favours rat's piece.
    train_lps = [lean_emissions(tok, world["rat"], 0, world["rat"][0], 0.0)] * 5 + [lp]
    prior = estimate_ctc_label_prior(train_lps, tok.pieces())
    k = next(i for i, (a, b) in enumerate(zip(cat, rat)) if a != b)
    assert float(prior.logprobs[rat[k]]) > float(prior.logprobs[cat[k]])
    assert math.isclose(float(prior.logprobs.exp().sum()), 1.0, rel_tol=1e-5)
    assert best(lp, shallow_fusion(world["target_tok"], 0.5)) == rat
    assert best(lp, ilme(world["target_tok"], 0.5, prior, 0.3)) == cat


def test_unigram_lm_round_trip(world, tmp_path):
    prior = estimate_ctc_label_prior([ambiguous(world)[0]], world["tok"].pieces())
    prior.save(tmp_path / "prior.json")
    back = UnigramLM.load(tmp_path / "prior.json")
    assert torch.equal(back.logprobs, prior.logprobs)
    assert math.isinf(float(back.logprobs[0]))


def test_nbest_rescoring_reranks_with_any_lm(world):
    lp, cat, rat = ambiguous(world)
    tok = world["tok"]
    nbest = ctc_prefix_beam_search(lp, beam=8, nbest=8)
    assert list(nbest[0].units) == rat and any(list(h.units) == cat for h in nbest)
    texts = [tok.decode(h.units) for h in nbest]
    out = rescore_nbest(nbest, texts, shallow_fusion(world["cat_word"], 0.5))
    assert list(out[0].units) == cat
    assert "rescore:lm" in out[0].lm_scores


# ---- autoregressive beam search vs Hugging Face generate -------------------------------------
@pytest.fixture(scope="module")
def qwen(tmp_path_factory):
    import sentencepiece as spm
    from transformers import Qwen2Config, Qwen2ForCausalLM

    from lm.causal import HFCausalLM

    d = tmp_path_factory.mktemp("qwen")
    (d / "c.txt").write_text("\n".join(SENTS * 10) + "\n")
    spm.SentencePieceTrainer.train(input=str(d / "c.txt"), model_prefix=str(d / "tokenizer"), vocab_size=30,
                                   model_type="bpe", bos_id=-1, eos_id=-1, minloglevel=2, num_threads=1)
    torch.manual_seed(0)
    cfg = Qwen2Config(vocab_size=32, hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
                      num_key_value_heads=2, bos_token_id=30, eos_token_id=31, pad_token_id=31,
                      tie_word_embeddings=False)
    model = Qwen2ForCausalLM(cfg)
    with torch.no_grad():  # sharpen the random model so beams differ and eos competes (pad = eos: the
        # padding embedding is zero, and a zero start embedding would make the first step uniform)
        model.lm_head.weight.mul_(8.0)
    model.save_pretrained(d)
    return HFCausalLM.from_pretrained(d)


@pytest.mark.parametrize("beam,lp,bias", [(4, 0.8, -0.2), (3, 1.0, 0.0), (2, 0.5, 1.5)])
def test_ar_beam_search_matches_hf_generate(qwen, beam, lp, bias):
    eos = qwen.eos_id
    ours = ar_beam_search(qwen, 1, eos, beam=beam, max_new_tokens=12, length_penalty=lp, eos_bias=bias)[0][0]
    with torch.no_grad():
        out = qwen.model.generate(
            input_ids=torch.tensor([[qwen.bos_id]]), attention_mask=torch.ones(1, 1, dtype=torch.long),
            num_beams=beam, do_sample=False, max_new_tokens=12, length_penalty=lp,
            sequence_bias={(eos,): bias} if bias else None, eos_token_id=eos, pad_token_id=eos,
            output_scores=True, return_dict_in_generate=True)
    ref = [t for t in out.sequences[0, 1:].tolist() if t != eos]
    assert list(ours.units) == ref
    assert math.isclose(ours.score, float(out.sequences_scores[0]), abs_tol=1e-4)


def test_ar_beam_search_parity_covers_early_eos(qwen):
    # The parity cases above must include a hypothesis that ends with eos before max_new_tokens.
    hyp = ar_beam_search(qwen, 1, qwen.eos_id, beam=2, max_new_tokens=12, length_penalty=0.5, eos_bias=1.5)[0][0]
    assert len(hyp.units) < 12


@pytest.fixture(scope="module")
def neural_lms(world):
    """A random Transformer LM and a random Hugging Face causal LM (Qwen2 with the world's sentencepiece model),
    both over the world's units."""
    import shutil

    from transformers import Qwen2Config, Qwen2ForCausalLM

    from lm.causal.hf_causal_lm import HFCausalLM
    from lm.neural.transformer_lm import TransformerLM, TransformerLMConfig

    tok = world["tok"]
    torch.manual_seed(0)
    cfg = TransformerLMConfig(vocab_size=tok.vocab_size, d_model=32, n_heads=4, n_layers=2, d_ff=64, dropout=0.0,
                              max_len=64)
    transformer = TransformerLM(cfg, tok).eval()
    v = tok.vocab_size
    qcfg = Qwen2Config(vocab_size=v + 8, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                       num_attention_heads=4, num_key_value_heads=2, bos_token_id=v, eos_token_id=v + 1,
                       pad_token_id=v + 2, tie_word_embeddings=False)
    folder = world["dir"] / "qwen"
    Qwen2ForCausalLM(qcfg).save_pretrained(folder)
    shutil.copy(tok.path, folder / "tokenizer.model")
    return {"transformer": transformer, "hf": HFCausalLM.from_pretrained(folder)}


@pytest.mark.parametrize("kind", ["transformer", "hf"])
def test_neural_lm_inside_the_prefix_search(world, neural_lms, kind):
    """A neural LM as a prefix-search scorer: its summed score is its own log-probability of the sentence (state
    kept per prefix through the CTC merges), and it decides the near coin flip as log p_AM + lambda log p_LM says."""
    lm = neural_lms[kind]
    lp, cat, rat = ambiguous(world)
    lp_cat, lp_rat = lm.score_sentences([cat, rat]).tolist()
    am_gap = 0.04  # the acoustics favour rat by 2 * margin nats
    answers = {}
    for w in (1.0, -1.0):
        # The compiled core (the LM called back per frame) and the Python reference search.
        for hyp in (ctc_prefix_beam_search(lp, beam=8, scorers=shallow_fusion(lm, w))[0],
                    ctc_prefix_beam_search_reference(lp[None], None, 8, shallow_fusion(lm, w))[0][0]):
            want = cat if w * (lp_cat - lp_rat) > am_gap else rat
            assert list(hyp.units) == want, (w, lp_cat, lp_rat)
            assert math.isclose(hyp.lm_scores["lm"], lm.score_sentences([list(hyp.units)])[0].item(), rel_tol=1e-4)
            answers[w] = tuple(hyp.units)
    assert abs(lp_cat - lp_rat) > am_gap and answers[1.0] != answers[-1.0]  # the LM decided, one way each
