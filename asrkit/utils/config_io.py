"""The one rule for every JSON config a user can hand asrkit (model config.json, training configs, decoding
configs): read it with a one-line error for any problem, refuse keys the dataclass does not have, and refuse
values of the wrong JSON type, each naming the file and the key.

Unknown keys are refused rather than dropped because a dropped key silently builds another model (a
``normalize_before: false`` that is ignored) or runs another search (a misspelt weight); wrong types are
refused when the config is read, not when the value is first used, so the error comes before any work.

    cfg = from_dict(SANMConfig, obj, "model/config.json: encoder")
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import inspect
import json
import types
import typing
from pathlib import Path
from typing import Any, TypeVar

from asrkit.errors import UserError

T = TypeVar("T")


def read_json(path: str | Path, what: str = "config") -> Any:
    """Parse a JSON file (a UTF-8 byte order mark is allowed); any problem is one UserError line."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise UserError(f"{path}: no such {what} file") from None
    except IsADirectoryError:
        raise UserError(f"{path}: is a folder, not a {what} file") from None
    except OSError as err:
        raise UserError(f"{path}: cannot read {what} ({err.strerror or err})") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise UserError(f"{path}: {what} is not UTF-8 text") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise UserError(f"{path}: invalid JSON in {what} ({err.msg} at line {err.lineno})") from None
    except RecursionError:
        raise UserError(f"{path}: {what} JSON is nested too deeply") from None


def read_json_object(path: str | Path, what: str = "config") -> dict:
    obj = read_json(path, what)
    if not isinstance(obj, dict):
        raise UserError(f"{path}: a {what} is a JSON object, not {json_kind(obj)}")
    return obj


def json_kind(value: Any) -> str:
    """How a JSON value reads to a user: 'a string "8"', 'a list', 'null'."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"a boolean ({str(value).lower()})"
    if isinstance(value, (int, float)):
        return f"a number ({value!r})"
    if isinstance(value, str):
        shown = value if len(value) <= 30 else value[:27] + "..."
        return f"a string {json.dumps(shown, ensure_ascii=False)}"
    if isinstance(value, (list, tuple)):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


@functools.cache
def _type_hints(cls: type) -> dict[str, Any]:
    """The resolved field annotations (string annotations are compiled once per class, not per config)."""
    return typing.get_type_hints(cls)


def _describe(tp: Any) -> str:
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_describe(a) for a in typing.get_args(tp))
    if tp is type(None):
        return "null"
    if dataclasses.is_dataclass(tp):
        return "an object"
    if origin in (list, tuple) or tp in (list, tuple):
        args = [a for a in typing.get_args(tp) if a is not Ellipsis]
        return f"a list of {_describe(args[0]).removeprefix('a ').removeprefix('an ')}s" if args else "a list"
    if origin is dict or tp is dict:
        return "an object"
    return {int: "an integer", float: "a number", bool: "true or false", str: "a string"}.get(tp, str(tp))


class _Mismatch(Exception):
    pass


def _convert(value: Any, tp: Any, where: str) -> Any:
    """``value`` checked against the annotation ``tp`` (and converted: int -> float, list -> tuple)."""
    if tp is Any:
        return value
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        for arm in typing.get_args(tp):
            try:
                return _convert(value, arm, where)
            except _Mismatch:
                continue
        raise _Mismatch
    if tp is type(None):
        if value is None:
            return None
        raise _Mismatch
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            raise _Mismatch
        own = getattr(tp, "from_dict", None)
        if own is not None and len(inspect.signature(own).parameters) >= 2:
            return own(value, where)  # the section's own rules (aliases, a "type" key), then this one
        return from_dict(tp, value, where)
    if tp is bool:
        if isinstance(value, bool):
            return value
        raise _Mismatch
    if tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise _Mismatch
    if tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        raise _Mismatch
    if tp is str:
        if isinstance(value, str):
            return value
        raise _Mismatch
    if origin in (list, tuple) or tp in (list, tuple):
        if not isinstance(value, (list, tuple)):
            raise _Mismatch
        args = [a for a in typing.get_args(tp) if a is not Ellipsis]
        items = [_convert(v, args[0], where) for v in value] if args else list(value)
        return tuple(items) if (origin or tp) is tuple else items
    if origin is dict or tp is dict:
        if not isinstance(value, dict):
            raise _Mismatch
        args = typing.get_args(tp)
        if not args:
            return dict(value)
        return {_convert(k, args[0], where): _convert(v, args[1], where) for k, v in value.items()}
    raise TypeError(f"config_io: unsupported annotation {tp!r}")  # a programming error, not the user's


def _shown(value: Any, tp: Any) -> str:
    """The offending value for the message; for a list, its first element of the wrong type."""
    args = [a for a in typing.get_args(tp) if a is not Ellipsis]
    if isinstance(value, (list, tuple)) and len(args) == 1:
        for item in value:
            try:
                _convert(item, args[0], "")
            except _Mismatch:
                return f"a list holding {json_kind(item)}"
            except UserError:
                break
    return json_kind(value)


def from_dict(cls: type[T], d: Any, where: str, aliases: dict[str, str] | None = None) -> T:
    """Build dataclass ``cls`` from a parsed JSON object: unknown keys and wrong types are UserErrors.

    ``where`` names the file (and section) for the message; ``aliases`` maps accepted alternative spellings
    to field names (FunASR's ``sanm_shfit``). Validation in ``__post_init__`` still runs.
    """
    if not isinstance(d, dict):
        raise UserError(f"{where}: expected a JSON object, got {json_kind(d)}")
    hints = _type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls) if f.init]
    kwargs: dict[str, Any] = {}
    for key, value in d.items():
        name = (aliases or {}).get(key, key)
        if name not in names:
            close = difflib.get_close_matches(str(key), names, n=1)
            hint = f"did you mean {close[0]!r}?" if close else f"known: {', '.join(names)}"
            raise UserError(f"{where}: unknown key {key!r} ({hint})")
        try:
            kwargs[name] = _convert(value, hints[name], f"{where}: {name}")
        except _Mismatch:
            raise UserError(f"{where}: {key!r} must be {_describe(hints[name])}, not {_shown(value, hints[name])}"
                            ) from None
    try:
        return cls(**kwargs)
    except UserError as err:  # the dataclass's own checks (__post_init__), now with the file named
        raise UserError(f"{where}: {err}") from None
    except (TypeError, ValueError, ArithmeticError) as err:
        raise UserError(f"{where}: {str(err).splitlines()[0] if str(err) else type(err).__name__}") from None


def load_config(cls: type[T], path: str | Path | None, what: str) -> T:
    """The one config loader of every trainer: dataclass ``cls`` from the JSON object in ``path`` (its
    defaults when ``path`` is None), unknown keys and wrong types refused naming the file and the key;
    ``what`` names the file's role in messages ("training config", ...)."""
    if path is None:
        return cls()
    return from_dict(cls, read_json_object(path, what), str(path))


def require_positive(obj: object, *names: str) -> None:
    """Sizes and counts of a config (``num_blocks``, ``n_heads``, ...) must be at least 1: 0 or a negative value
    would fail later, deep in model construction, instead of here with the key named."""
    for name in names:
        value = getattr(obj, name)
        if value is not None and value < 1:
            raise UserError(f"{name!r} must be at least 1, not {value}")


def require_fraction(obj: object, *names: str) -> None:
    """Probabilities (dropout rates) lie in [0, 1)."""
    for name in names:
        value = getattr(obj, name)
        if not 0 <= value < 1:
            raise UserError(f"{name!r} must be in [0, 1), not {value}")
