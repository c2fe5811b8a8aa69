"""Bundled models live in ``asrkit/pretrained/<name>/`` (inside the package, so a plain pip install
has them) and are chosen by name; any other model is a folder path. Imports nothing of the models, so any
loader may use it."""

from __future__ import annotations

from pathlib import Path

from asrkit.errors import UserError

PRETRAINED_DIR = Path(__file__).resolve().parent.parent / "pretrained"
DEFAULT_MODEL = "bible-en-ctc-small"


def bundled_models() -> dict[str, Path]:
    if not PRETRAINED_DIR.is_dir():
        return {}
    return {p.name: p for p in sorted(PRETRAINED_DIR.iterdir()) if (p / "config.json").exists()}


def resolve_model_dir(name_or_dir: str | None) -> Path:
    name = name_or_dir or DEFAULT_MODEL
    path = Path(name)
    if path.is_dir():
        return path
    models = bundled_models()
    if name in models:
        return models[name]
    known = ", ".join(models) or "none"
    raise UserError(f"{name}: neither a model folder nor a bundled model name (bundled: {known})")


def find_model_dir(name_or_dir: str | Path | None) -> Path | None:
    """The folder of a bundled model name or a path (None: the default model), or None when it is neither
    (whatever loads the model says what is wrong with it)."""
    try:
        return resolve_model_dir(None if name_or_dir is None else str(name_or_dir))
    except UserError:
        return None
