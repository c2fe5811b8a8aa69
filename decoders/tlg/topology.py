"""T: the CTC topology FST that maps frame-level CTC labels to the token sequence they collapse to.

Labels. OpenFst reserves label 0 for epsilon, and kaldi-decoder's ``DecodableCtc`` reads column
``label - 1`` of the (T, V) log-probability matrix for an arc with input label ``label``. So every FST in
``decoders.tlg`` labels token id ``k`` (blank = 0, ``<unk>`` = 1, pieces ...) as ``k + 1``, on the input
side of T (what the decoder scores) and on its output side (what L reads). The disambiguation symbols
``#0 .. #D`` of L follow the pieces: ``#d`` is label ``V + 1 + d`` for a tokenizer of ``V`` pieces.

Two topologies:

``standard`` (default, exact). One state per token, state ``s`` meaning "the last frame label was ``s``"
(state 0: blank, also the start). Reading label ``k`` in state ``s`` goes to state ``k`` and outputs
``k`` unless ``k`` is the blank or ``k == s`` (a repeat of the same token, which CTC merges). Every
state is final. A frame sequence ``pi`` is accepted with output ``y`` iff ``B(pi) = y`` for the CTC
collapse ``B`` (merge repeats, then drop blanks; Graves et al., 2006): the paths through T are exactly
the CTC alignments of ``y``, so the Viterbi score of ``y`` through T is ``max_{pi: B(pi)=y} log p(pi|x)``,
the best-alignment version of what CTC training and the prefix beam search sum over. Size: ``V`` states,
``V^2`` arcs; fine for a few thousand pieces (500 pieces: 250k arcs).

``compact`` (WeNet's ``ctc_token_fst`` layout, O(V) arcs). State 0 has the blank self-loop and one
emitting arc ``k:k`` into state ``k``; state ``k`` has the self-loop ``k:eps`` (repeats), the blank
``blank:eps`` back to 0, and an epsilon arc back to 0. Because of that epsilon arc a token may be emitted
twice in a row without a blank in between (frames ``a a`` can also mean ``a a``), so T accepts a
superset of the CTC alignments. Use it when ``V^2`` arcs are too many (tens of thousands of pieces).

Disambiguation symbols are not removed from LG by relabelling; instead T carries ``eps:#d`` self-loops
(at every state for ``standard``, at state 0 for ``compact``, which every state reaches by epsilon),
so composition T∘LG consumes them and they become input epsilons of TLG, as in WeNet's token FST.
"""

from __future__ import annotations

import kaldifst

TOPOLOGIES = ("standard", "compact")


def token_label(token_id: int) -> int:
    """FST label of tokenizer id ``token_id`` (0 is epsilon in OpenFst)."""
    return token_id + 1


def disambig_label(num_pieces: int, d: int) -> int:
    """FST label of disambiguation symbol ``#d`` for a tokenizer of ``num_pieces`` pieces."""
    return num_pieces + 1 + d


def ctc_topology(
    num_pieces: int, num_disambig: int = 0, kind: str = "standard", blank_id: int = 0
) -> kaldifst.StdVectorFst:
    """Build T for ``num_pieces`` tokenizer ids (blank at ``blank_id``) with ``num_disambig`` pass-through
    symbols ``#0 .. #(num_disambig-1)`` (output side only). Arcs are sorted by output label."""
    if kind not in TOPOLOGIES:
        raise ValueError(f"unknown CTC topology {kind!r}; expected one of {', '.join(TOPOLOGIES)}")
    if num_pieces < 2:
        raise ValueError(f"a CTC topology needs the blank and at least one token, got {num_pieces} pieces")
    fst = kaldifst.StdVectorFst()
    disambig = [disambig_label(num_pieces, d) for d in range(num_disambig)]
    if kind == "standard":
        # State s == "last frame label s"; state ids equal token ids, the blank's state is the start.
        order = [blank_id] + [k for k in range(num_pieces) if k != blank_id]
        state_of: dict[int, int] = {}
        for k in order:
            state_of[k] = fst.add_state()
        fst.start = state_of[blank_id]
        for s in range(num_pieces):
            src = state_of[s]
            fst.set_final(src, 0.0)
            for k in range(num_pieces):
                out = 0 if (k == blank_id or k == s) else token_label(k)
                fst.add_arc(src, kaldifst.StdArc(token_label(k), out, 0.0, state_of[k]))
            for label in disambig:
                fst.add_arc(src, kaldifst.StdArc(0, label, 0.0, src))
    else:
        start = fst.add_state()
        fst.start = start
        fst.set_final(start, 0.0)
        fst.add_arc(start, kaldifst.StdArc(token_label(blank_id), 0, 0.0, start))
        for label in disambig:
            fst.add_arc(start, kaldifst.StdArc(0, label, 0.0, start))
        for k in range(num_pieces):
            if k == blank_id:
                continue
            s = fst.add_state()
            fst.set_final(s, 0.0)
            fst.add_arc(start, kaldifst.StdArc(token_label(k), token_label(k), 0.0, s))
            fst.add_arc(s, kaldifst.StdArc(token_label(k), 0, 0.0, s))
            fst.add_arc(s, kaldifst.StdArc(token_label(blank_id), 0, 0.0, start))
            fst.add_arc(s, kaldifst.StdArc(0, 0, 0.0, start))
    kaldifst.arcsort(fst, sort_type="olabel")
    return fst
