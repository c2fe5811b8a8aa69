"""egs/bible/local/hotword_miss_bound.py: which missed hotwords the emissions still prefer, on hand-built emissions.

The reference "the buz" is force-aligned, the list's spellings are scored over the frames of "buz", and each
hypothesis falls in the group its emissions and written word call for."""

import sys
from pathlib import Path

from decoders.vocabulary import Vocabulary
from tests.conftest import piece_emissions

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "egs" / "bible" / "local"))
from hotword_miss_bound import GROUPS, miss_groups  # noqa: E402

PIECES = ["<blk>", "\u2581the", "\u2581bu", "z", "\u2581bo", "az", "\u2581day"]


def saying(*pieces: str):
    """Emissions that say ``pieces`` one frame each, a blank frame after each."""
    frames = []
    for p in pieces:
        frames += [{p: 0.9}, {}]
    return piece_emissions(PIECES, frames).numpy()


def test_each_miss_goes_to_the_group_its_emissions_call_for():
    vocab = Vocabulary(PIECES, blank_id=0)
    phrases = ["buz", "boaz"]
    spellings = [vocab.encode(p) for p in phrases]
    name_said, distractor_said = saying("\u2581the", "\u2581bu", "z"), saying("\u2581the", "\u2581bo", "az")
    utterances = [
        ("found", "the buz", "the buz", name_said),
        ("swapped", "the buz", "the boaz", name_said),  # the list's best there is the name: reachable
        ("heard", "the buz", "the boaz", distractor_said),  # the audio says the distractor
        ("real", "the buz", "the day", name_said),  # a known word written where the name was said
        ("deleted", "the buz", "the", name_said),
        ("no name", "the day", "the day", saying("\u2581the", "\u2581day")),  # no biased word: not counted
    ]
    got = miss_groups(utterances, vocab, {"buz"}, {"the", "day"}, phrases, spellings)
    assert got == [("found", "buz", "buz", GROUPS[0]), ("swapped", "buz", "boaz", GROUPS[3]),
                   ("heard", "buz", "boaz", GROUPS[1]), ("real", "buz", "day", GROUPS[2]),
                   ("deleted", "buz", "None", GROUPS[3])]


def test_a_reference_the_frames_cannot_spell_is_left_out():
    vocab = Vocabulary(PIECES, blank_id=0)
    short = piece_emissions(PIECES, [{"\u2581bu": 0.9}]).numpy()  # one frame cannot spell "the buz"
    assert miss_groups([("u", "the buz", "", short)], vocab, {"buz"}, set(), ["buz"], [vocab.encode("buz")]) == []
