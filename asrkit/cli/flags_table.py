"""The table of every ``asrkit`` sub-command and its flags, as docs/cli.md shows it (generated, so the page
cannot drift from the parser: ``python -m asrkit.cli.flags_table`` prints it, tests/test_cli_flags.py
compares it with the page)."""

from __future__ import annotations

import argparse
from collections.abc import Iterator

from asrkit.cli.main import build_parser

BEGIN = "<!-- begin: python -m asrkit.cli.flags_table -->"
END = "<!-- end: python -m asrkit.cli.flags_table -->"


def sub_commands(parser: argparse.ArgumentParser, prefix: tuple[str, ...] = ()
                 ) -> Iterator[tuple[tuple[str, ...], argparse.ArgumentParser, str]]:
    """``(("lm", "ngram"), parser, help)`` for every leaf sub-command, in ``--help`` order."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {c.dest: c.help or "" for c in action._choices_actions}
            for name, sub in action.choices.items():
                if any(isinstance(a, argparse._SubParsersAction) for a in sub._actions):
                    yield from sub_commands(sub, (*prefix, name))
                else:
                    yield (*prefix, name), sub, helps.get(name, "")


DECODING_GROUP = "decoding method"  # the title of asrkit/cli/decode.py's add_decoding_args group


def _name(a: argparse.Action) -> str:
    return "/".join(sorted(a.option_strings, key=lambda s: (not s.startswith("--"), s)))


def decoding_flags(parser: argparse.ArgumentParser) -> list[argparse.Action]:
    """The actions of the shared decoding-method group (decode, tune, serve), or [] if it has none."""
    return [a for g in parser._action_groups if (g.title or "").startswith(DECODING_GROUP) for a in g._group_actions]


def visible_flags(parser: argparse.ArgumentParser) -> list[str]:
    """Each shown option as ``--output/-o`` (long name first); positionals as their metavar; the shared decoding
    flags as one entry; hidden old spellings (``help=argparse.SUPPRESS``) and ``--help`` left out."""
    out = []
    shared = decoding_flags(parser)
    for a in parser._actions:
        if isinstance(a, argparse._HelpAction) or a.help == argparse.SUPPRESS:
            continue
        if a in shared:
            if a is shared[0]:
                out.append("decoding flags")
            continue
        if not a.option_strings:
            out.append(a.metavar or a.dest.upper())
            continue
        out.append(_name(a))
    return out


def hidden_flags(parser: argparse.ArgumentParser) -> dict[str, str]:
    """``{old spelling: the shown flag with the same meaning}``."""
    shown = {a.dest: sorted(a.option_strings, key=lambda s: not s.startswith("--"))[0]
             for a in parser._actions if a.option_strings and a.help != argparse.SUPPRESS}
    return {s: shown[a.dest] for a in parser._actions if a.help == argparse.SUPPRESS and a.dest in shown
            for s in a.option_strings}


def cli_table() -> str:
    """The Markdown table: one row per sub-command (its help line, its flags, its hidden old spellings)."""
    rows = ["| command | what it does | flags | old spellings (hidden, still accepted) |", "|---|---|---|---|"]
    shared: list[argparse.Action] = []
    for path, sub, helptext in sub_commands(build_parser()):
        flags = ", ".join(f if f == "decoding flags" else f"`{f}`" for f in visible_flags(sub))
        old = ", ".join(f"`{o}` = `{n}`" for o, n in hidden_flags(sub).items())
        rows.append(f"| `asrkit {' '.join(path)}` | {helptext} | {flags} | {old} |")
        shared = shared or decoding_flags(sub)
    rows += ["", "The decoding flags of `decode`, `tune` and `serve` (defaults in brackets):", "",
             "| flag | meaning |", "|---|---|"]
    rows += [f"| `{_name(a)}` | {(a.help or '').replace('|', '/')} |" for a in shared]
    return "\n".join(rows) + "\n"


if __name__ == "__main__":
    print(BEGIN)
    print(cli_table(), end="")
    print(END)
