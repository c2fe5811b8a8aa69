"""The batched nearest-spelling look-up equals rapidfuzz's one-word-at-a-time answer (ties and the cutoff's
edge included)."""

from hypothesis import given
from hypothesis import settings as hyp_settings
from hypothesis import strategies as st
from rapidfuzz import process
from rapidfuzz.distance import Levenshtein

import asrkit.inference.nearest_spellings as ns
from asrkit.inference.nearest_spellings import nearest_spellings

# A three-letter alphabet and short strings: many equal distances (ties) and distances exactly at the cutoff
# (1/3, 0.5, 0.6 = 3/5 are all reachable).
_WORD = st.text(alphabet="abc", min_size=0, max_size=7)


@hyp_settings(max_examples=300, deadline=None)
@given(words=st.lists(_WORD, max_size=12), spellings=st.lists(_WORD, max_size=30),
       cutoff=st.sampled_from([0.0, 1 / 3, 0.34, 0.5, 0.6, 2 / 3, 1.0]), limit=st.integers(1, 25))
def test_equals_extract_one_word_at_a_time(words, spellings, cutoff, limit):
    got = nearest_spellings(words, spellings, cutoff, limit)
    assert len(got) == len(words)
    for word, indices in zip(words, got):
        want = process.extract(word, spellings, scorer=Levenshtein.normalized_distance, score_cutoff=cutoff,
                               limit=limit)
        assert indices == [k for _, _, k in want]
        # limit 1 is the fuzzy step's question: extractOne's answer (the first of the nearest)
        one = process.extractOne(word, spellings, scorer=Levenshtein.normalized_distance, score_cutoff=cutoff)
        assert nearest_spellings([word], spellings, cutoff, 1)[0] == ([one[2]] if one else [])


def test_chunks_give_the_same_answers(monkeypatch):
    """A batch larger than one cdist call's budget is split; the answers do not change."""
    words = ["abc", "abd", "xyz", "aab", "bca"] * 7
    spellings = ["abc", "abcd", "ab", "bca", "cab", "aab", "xy"]
    whole = nearest_spellings(words, spellings, 0.6, 3)
    monkeypatch.setattr(ns, "_CELLS", len(spellings) * 2)  # two words per call
    assert nearest_spellings(words, spellings, 0.6, 3) == whole
    assert whole[0] == [0, 1, 2]  # abc itself, then abcd (1/4) before ab (1/3)
    assert nearest_spellings([], spellings, 0.6, 3) == [] and nearest_spellings(["a"], [], 0.6, 3) == [[]]
