"""L: the lexicon FST that spells each word of the LM's ``words.txt`` with the acoustic model's BPE pieces.

Spelling. A word ``w`` is spelled ``sp.encode(w)``: the pieces sentencepiece produces for ``w`` alone
(``god's`` -> ``▁god ' s``). The tokenizer splits on whitespace before applying BPE merges, so the
encoding of a sentence is the concatenation of its words' encodings: a word spelled this way is exactly
what the acoustic model was trained to emit for it. Other segmentations of the same word (``▁th e``
for ``the``) are not in L, as in WeNet and icefall; a model that emits them gets the word only through
another path. Characters outside the tokenizer's alphabet spell as ``<unk>`` (id 1), which is kept
(the model was trained with the same ``<unk>`` targets).

Vocabulary. Only words in ``words.txt`` (G's unigrams) can be output: a word outside the LM cannot be
recognised by TLG decoding at all (no open-vocabulary fallback), and pieces that spell no word are
unreachable. G's ``<unk>`` has no spelling and is left out of L, so paths through ``<unk>`` are dropped
by the composition. ``<eps>``, ``#0``, ``<s>`` and ``</s>`` are not words.

Disambiguation (Kaldi's ``add_lex_disambig.pl``; Mohri, Pereira & Riley, 2002). L∘G is determinizable
only if L's input side identifies where each word ends. A spelling shared by several words (possible
when different characters both map to ``<unk>``) makes L∘G non-functional (``determinize_star`` fails)
unless each of them ends in its own word-end symbol ``#1``, ``#2``, ... (one counter per spelling). A
spelling that is a proper prefix of another (``▁god`` of ``▁god ' s``) is marked too, as Kaldi does: with
sentencepiece's dummy prefix every word starts with a ``▁`` piece, so this is not strictly needed here,
but it keeps L determinizable for tokenizers without one. ``#0`` is G's backoff symbol; L passes it
through with a ``#0:#0`` self-loop at its loop state.

FST layout: one loop state (start and final); a word of ``n`` pieces (+ its ``#d``) is a chain leaving
and returning to it, the word label on the first arc (output epsilon on the rest). Token labels are
``token id + 1`` and ``#d`` is ``V + 1 + d`` (see :mod:`decoders.tlg.topology`).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field

import kaldifst

from asrkit.tokenizer import Tokenizer
from decoders.tlg.topology import disambig_label, token_label

NOT_WORDS = ("<eps>", "<unk>", "#0", "<s>", "</s>")


@dataclass
class Lexicon:
    """Word spellings over tokenizer ids and their word-end disambiguation symbols."""

    num_pieces: int
    spellings: dict[int, tuple[int, ...]]  # word id (words.txt) -> tokenizer ids
    disambig: dict[int, int] = field(default_factory=dict)  # word id -> d of its word-end #d (d >= 1)
    unspellable: list[str] = field(default_factory=list)  # words the tokenizer turns into no piece
    with_unk_piece: int = 0  # words whose spelling holds <unk>

    @property
    def num_disambig(self) -> int:
        """How many disambiguation symbols (``#0`` .. ``#max``) the token side needs."""
        return 1 + max(self.disambig.values(), default=0)


def build_lexicon(words: list[str], tokenizer: Tokenizer) -> Lexicon:
    """Spell every word of the symbol table ``words`` (index = word id) with ``tokenizer``'s pieces."""
    unk = tokenizer.sp.unk_id()
    spellings: dict[int, tuple[int, ...]] = {}
    unspellable: list[str] = []
    with_unk = 0
    for wid, word in enumerate(words):
        if word in NOT_WORDS or word.startswith("#"):
            continue
        ids = tuple(tokenizer.encode(word))
        if not ids or tokenizer.blank_id in ids:
            unspellable.append(word)
            continue
        with_unk += unk in ids
        spellings[wid] = ids
    # A spelling needs a word-end symbol if several words share it or it is a proper prefix of another.
    count = Counter(spellings.values())
    prefixes = {s[:i] for s in count for i in range(1, len(s))}
    seen: defaultdict[tuple[int, ...], int] = defaultdict(int)
    disambig: dict[int, int] = {}
    for wid, s in spellings.items():
        if count[s] > 1 or s in prefixes:
            seen[s] += 1
            disambig[wid] = seen[s]
    return Lexicon(tokenizer.vocab_size, spellings, disambig, unspellable, with_unk)


def lexicon_fst(lexicon: Lexicon, word_disambig_id: int) -> kaldifst.StdVectorFst:
    """L as an FST (token labels in, word ids out), arcs sorted by output label for composition with G.

    ``word_disambig_id`` is the id of ``#0`` in words.txt (G's backoff input label)."""
    fst = kaldifst.StdVectorFst()
    loop = fst.add_state()
    fst.start = loop
    fst.set_final(loop, 0.0)
    v = lexicon.num_pieces
    fst.add_arc(loop, kaldifst.StdArc(disambig_label(v, 0), word_disambig_id, 0.0, loop))
    for wid, spelling in lexicon.spellings.items():
        labels = [token_label(t) for t in spelling]
        if wid in lexicon.disambig:
            labels.append(disambig_label(v, lexicon.disambig[wid]))
        src = loop
        for i, label in enumerate(labels):
            dst = loop if i == len(labels) - 1 else fst.add_state()
            fst.add_arc(src, kaldifst.StdArc(label, wid if i == 0 else 0, 0.0, dst))
            src = dst
    kaldifst.arcsort(fst, sort_type="olabel")
    return fst
