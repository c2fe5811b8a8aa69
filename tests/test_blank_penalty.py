"""``--blank-penalty``: subtracted from log p(blank) of every CTC frame before any search (icefall/sherpa's
blank penalty), so a unit that loses its frame to the blank by less than the penalty is no longer deleted."""

import json

import numpy as np

from asrkit.cli.main import main

CHARS = ["<blk>", "<unk>", "|"] + list("abcdefghijklmnopqrstuvwxyz")


def _frames(text: str, weak: int, margin: float) -> np.ndarray:
    """A unit then a blank per character; at character ``weak`` the blank beats the unit by ``margin`` nats."""
    rows = []
    for i, ch in enumerate(text):
        unit = CHARS.index("|" if ch == " " else ch)
        row = np.full(len(CHARS), -9.0, dtype=np.float32)
        if i == weak:
            row[0], row[unit] = np.log(0.5) + margin / 2, np.log(0.5) - margin / 2
        else:
            row[unit] = -0.01
        blank = np.full(len(CHARS), -9.0, dtype=np.float32)
        blank[0] = -0.01
        rows += [row, blank]
    return np.stack(rows)


def test_blank_penalty_restores_a_deleted_unit(tmp_path, capsys):
    tokens = tmp_path / "tokens.txt"
    tokens.write_text("".join(f"{c} {i}\n" for i, c in enumerate(CHARS)))
    npz = tmp_path / "em.npz"
    np.savez(npz, a=_frames("the cat", 4, 0.3))

    def decode(method: str, penalty: str | None) -> str:
        out = tmp_path / f"{method}_{penalty}.jsonl"
        extra = ["--blank-penalty", penalty] if penalty is not None else []
        assert main(["decode", "-q", "--emissions", str(npz), "--tokens", str(tokens), "--method", method, *extra,
                     "-o", str(out)]) == 0, capsys.readouterr().err
        return json.loads(out.read_text())["text"]

    for method in ("greedy", "beam"):
        assert decode(method, None) == decode(method, "0") == "the at"  # the weak 'c' loses to the blank
        assert decode(method, "0.2") == "the at"  # a penalty below the margin changes nothing
        assert decode(method, "0.4") == "the cat"  # above it, the unit wins its frame
