"""Global CMVN stored in Kaldi nnet1 text format (``am.mvn``), as shipped with Paraformer and MooER.

The file holds an ``<AddShift>`` vector (the negated mean) and a ``<Rescale>`` vector (the inverse
standard deviation); features are normalised as ``(x + shift) * scale``.
"""

from __future__ import annotations

from pathlib import Path

import torch

from asrkit.errors import UserError


def _vector_after(lines: list[str], tag: str, path: Path) -> list[float]:
    for i, line in enumerate(lines):
        tokens = line.split()
        if tokens and tokens[0] == tag:
            if i + 1 >= len(lines) or not lines[i + 1].split()[:1] == ["<LearnRateCoef>"]:
                raise UserError(f"{path}: {tag} is not followed by a <LearnRateCoef> line")
            values = lines[i + 1].split()
            # "<LearnRateCoef> 0 [ v1 ... vN ]": the numbers sit between the brackets.
            try:
                return [float(v) for v in values[3:-1]]
            except ValueError:
                raise UserError(f"{path}: non-numeric value in the {tag} vector") from None
    raise UserError(f"{path}: no {tag} section (not a Kaldi nnet am.mvn file?)")


class GlobalCMVN(torch.nn.Module):
    """Applies ``(x + shift) * scale`` over the last dimension."""

    def __init__(self, shift: torch.Tensor, scale: torch.Tensor):
        super().__init__()
        self.register_buffer("shift", shift.float())
        self.register_buffer("scale", scale.float())

    @property
    def dim(self) -> int:
        return self.shift.numel()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x + self.shift) * self.scale

    @classmethod
    def from_file(cls, path: str | Path) -> GlobalCMVN:
        path = Path(path)
        if not path.exists():
            raise UserError(f"{path}: no such CMVN file")
        try:
            lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError as err:  # a folder, no permission
            raise UserError(f"{path}: cannot read CMVN file ({err.strerror or err})") from None
        shift = _vector_after(lines, "<AddShift>", path)
        scale = _vector_after(lines, "<Rescale>", path)
        if len(shift) != len(scale) or not shift:
            raise UserError(f"{path}: shift has {len(shift)} values but scale has {len(scale)}")
        return cls(torch.tensor(shift), torch.tensor(scale))

    @classmethod
    def from_stats(cls, mean: torch.Tensor, std: torch.Tensor, floor: float = 1e-5) -> GlobalCMVN:
        return cls(-mean, 1.0 / torch.clamp(std, min=floor))

    def save(self, path: str | Path) -> None:
        def fmt(v: torch.Tensor) -> str:
            return " ".join(f"{x:.6g}" for x in v.tolist())

        n = self.dim
        text = (
            f"<Nnet>\n<Splice> {n} {n}\n[ 0 ]\n<AddShift> {n} {n}\n<LearnRateCoef> 0 [ {fmt(self.shift)} ]\n"
            f"<Rescale> {n} {n}\n<LearnRateCoef> 0 [ {fmt(self.scale)} ]\n</Nnet>\n"
        )
        Path(path).write_text(text, encoding="utf-8")
