"""--hotword-fuzzy: unknown output words close in spelling to a hotword (or alias) become it; real words never."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given
from hypothesis import settings as hyp_settings
from hypothesis import strategies as st
from rapidfuzz import process
from rapidfuzz.distance import Levenshtein

from asrkit.errors import UserError
from asrkit.inference import DecodeConfig
from asrkit.inference.emissions_decoder import EmissionsDecoder
from asrkit.inference.hotword_fuzzy import _WORD, FuzzyHotwords
from asrkit.inference.hotwords import Hotword
from decoders.vocabulary import Vocabulary

HOT = [Hotword("zebedee", 1.0, ("zbity",), "Zebedee"), Hotword("rufus", 1.0, (), "Rufus"),
       Hotword("mary magdalene", 1.0, ("magthlen",), "Mary Magdalene")]
KNOWN = {"and", "said", "to", "the", "rufous", "sons", "of"}


def test_nearest_spelling_within_the_distance():
    f = FuzzyHotwords(HOT, KNOWN, 0.34)
    # zebede: 1 edit from zebedee (1/7); rofus: 1 of 5 from rufus; zbiity: 1 of 6 from the alias zbity
    assert f("and zebede said to rofus") == "and Zebedee said to Rufus"
    assert f("the sons of zbiity") == "the sons of Zebedee"
    assert f("magtlen said") == "Mary Magdalene said"  # a multi-word phrase through its one-word alias
    assert f("Mary Magdalene said") == "Mary Magdalene said"  # its words are not corrected into it again
    # a known word, a word far from every hotword, a short word and the hotwords themselves stay
    assert f("rufous said xyzzyq to zeb rufus Zebedee") == "rufous said xyzzyq to zeb rufus Zebedee"
    assert f("Rofus, zebede!") == "Rufus, Zebedee!"  # punctuation and case around the word are kept


def test_distance_is_a_threshold():
    assert FuzzyHotwords(HOT, KNOWN, 0.15)("rofus") == "rofus"  # 1/5 = 0.2 > 0.15
    assert FuzzyHotwords(HOT, KNOWN, 0.2)("rofus") == "Rufus"
    assert not FuzzyHotwords(HOT, KNOWN, 0.0) and FuzzyHotwords(HOT, KNOWN, 0.0)("rofus") == "rofus"


def test_decoder_applies_it_after_the_search(tmp_path):
    """Hand-built emissions spell "rofus die": no context-graph path matches, the fuzzy step writes Rufus."""
    pieces = ["<blk>", "\u2581ro", "fus", "\u2581die"]
    vocab = Vocabulary(pieces, blank_id=0)
    lp = torch.log(torch.tensor([[0.05, 0.9, 0.025, 0.025], [0.05, 0.025, 0.9, 0.025], [0.9, 0.03, 0.03, 0.04],
                                 [0.05, 0.025, 0.025, 0.9]]))
    hot, known = tmp_path / "h.txt", tmp_path / "k.txt"
    hot.write_text("Rufus\n")
    known.write_text("die\n")
    base = dict(method="beam", beam=4, hotwords=str(hot), hotword_weight=1.0)
    assert EmissionsDecoder(vocab, **base).decode([lp]) == ["rofus die"]
    assert EmissionsDecoder(vocab, **base, hotword_fuzzy=0.25, known_words=str(known)).decode([lp]) == ["Rufus die"]
    known.write_text("die rofus\n")  # now a real word: kept
    assert EmissionsDecoder(vocab, **base, hotword_fuzzy=0.25, known_words=str(known)).decode([lp]) == ["rofus die"]


@pytest.mark.parametrize("settings, message", [
    (dict(hotword_fuzzy=0.3), "needs --hotwords and --known-words"),
    (dict(hotword_fuzzy=1.5, known_words="k.txt"), r"in \[0, 1\)"),
])
def test_fuzzy_flags_are_checked(settings, message):
    with pytest.raises(UserError, match=message):
        DecodeConfig(method="beam", **settings).check()


@hyp_settings(max_examples=200, deadline=None)
@given(st.lists(st.text("abcdez", min_size=1, max_size=9), min_size=1, max_size=12),
       st.lists(st.text("abcdez", min_size=3, max_size=12), min_size=1, max_size=8),
       st.sampled_from([0.2, 0.34, 0.5]))
def test_batched_look_up_and_memo_match_the_brute_force_search(names, words, distance):
    """The speed-ups (a batch's words looked up together by prepare(), answers remembered) never change an
    answer: the same nearest phrase, ties to the one listed first, as comparing every spelling one by one."""
    hot = [Hotword(n, 1.0, (), n.upper()) for n in dict.fromkeys(names)]
    f = FuzzyHotwords(hot, set(), distance)
    batched = FuzzyHotwords(hot, set(), distance)
    batched.prepare([" ".join(words[: len(words) // 2]), " ".join(words[len(words) // 2:])])
    for w in words + words:  # the second pass answers from the memo
        expected = None
        if len(w) >= 3 and w not in f.target and w not in f.phrase_words:
            hit = process.extractOne(w, f.keys, scorer=Levenshtein.normalized_distance, score_cutoff=distance)
            expected = f.target[hit[0]] if hit else None
        assert f.nearest(w) == expected
        assert batched.nearest(w) == expected
    assert all(w in batched._memo for w in words if len(w) >= 3 and w not in f.target)  # noqa: SLF001


_TEXT_WORDS = ["abd", "Abd", "god's", "God’s", "Zebedee", "zebede", "the", "The", "a", "x1", "ébd", "ab-d", "JOHN's"]


@hyp_settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(_TEXT_WORDS), st.sampled_from([" ", ", ", ". ", "-", "'"])), max_size=10),
       st.sampled_from([0.2, 0.34, 0.5]))
def test_quick_return_equals_the_word_by_word_substitution(parts, distance):
    """Correcting only the words outside the known sets (and returning a text none of whose words changes as it
    is) writes what correcting every word of the text one by one writes."""
    text = "".join(w + sep for w, sep in parts)
    hot = [Hotword("zebedee", 1.0, ("zebde",), "Zebedee"), Hotword("abdon", 1.0, (), "Abdon")]
    f = FuzzyHotwords(hot, {"the", "a", "god's", "abd"}, distance)
    slow = FuzzyHotwords(hot, {"the", "a", "god's", "abd"}, distance)
    every_word = _WORD.sub(lambda m: slow._correction(m.group(0)) or m.group(0), text)  # noqa: SLF001
    assert f(text) == every_word
