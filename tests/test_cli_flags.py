"""One name per meaning across the sub-commands: ``-o/--output`` for what a command writes, ``--lm`` for an LM,
``--ref-field`` for the reference field, ``-q/--quiet`` where progress is shown, help text on every flag, old
spellings accepted but hidden, and docs/cli.md generated from the parser."""

import argparse

import pytest

from asrkit.cli.flags_table import BEGIN, END, cli_table, hidden_flags, sub_commands
from asrkit.cli.main import build_parser

COMMANDS = {" ".join(path): sub for path, sub, _ in sub_commands(build_parser())}
# Sub-commands that show a progress bar or progress lines.
PROGRESS = {"decode", "tune", "lm prior", "lm tlg", "lm train", "train", "speech-llm pretrain", "speech-llm train"}
# Spellings that name a meaning another flag now names; shown by no sub-command.
OLD = {"--out", "--output-dir", "--arpa", "--field"}


def options(sub: argparse.ArgumentParser, shown: bool = True) -> dict[str, argparse.Action]:
    return {s: a for a in sub._actions for s in a.option_strings if (a.help != argparse.SUPPRESS) == shown}


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_flags_follow_one_name_per_meaning(name):
    sub = COMMANDS[name]
    shown = options(sub)
    for a in sub._actions:
        if not isinstance(a, argparse._HelpAction) and a.help != argparse.SUPPRESS:
            assert a.help, f"asrkit {name}: {a.option_strings or a.dest} has no help text"
    assert not OLD & set(shown), f"asrkit {name} shows an old spelling: {OLD & set(shown)}"
    if "output" in {a.dest for a in shown.values()}:
        assert shown.get("--output") is shown.get("-o") is not None, f"asrkit {name}: output is not -o/--output"
        assert shown["--output"].dest == "output"
    if name in PROGRESS:
        assert shown.get("--quiet") is shown.get("-q") is not None, f"asrkit {name} shows progress without -q"
    for flag in ("--lm", "--ref-field"):
        if flag in shown:
            assert shown[flag].dest == flag[2:].replace("-", "_")


@pytest.mark.parametrize("argv,old,new", [
    (["tune", "--dev", "d.jsonl", "--grid", "lm_weight=0", "--out", "X"], "--out", "output"),
    (["export", "--out", "X"], "--out", "output"),
    (["lm", "tlg", "--lm", "w.arpa", "--tokenizer", "t.model", "--out", "X"], "--out", "output"),
    (["lm", "gfst", "--arpa", "X", "--output-dir", "G"], "--arpa", "lm"),
    (["lm", "gfst", "--lm", "W", "--output-dir", "X"], "--output-dir", "output"),
    (["train", "--config", "c.json", "--train", "t.jsonl", "--exp", "X"], "--exp", "output"),
    (["score", "--ref", "r", "--hyp", "h", "--field", "X"], "--field", "ref_field"),
])
def test_old_spellings_still_work(argv, old, new):
    args = build_parser().parse_args(argv)
    assert getattr(args, new) == "X"
    sub = COMMANDS[" ".join(a for a in argv[:2] if not a.startswith("-"))]
    assert old in hidden_flags(sub) and old in options(sub, shown=False)


def test_an_old_and_a_new_spelling_together_are_refused(capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args(["export", "--out", "a", "-o", "b"])
    err = capsys.readouterr().err
    assert "not allowed with" in err and len(err.strip().splitlines()) == 1


def test_a_missing_output_names_the_new_spelling(capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args(["lm", "gfst", "--lm", "w.arpa"])
    err = capsys.readouterr().err
    assert "--output/-o" in err and "--output-dir" not in err


def test_the_docs_table_is_the_parser(root):
    page = (root / "docs" / "cli.md").read_text()
    generated = page[page.index(BEGIN) + len(BEGIN) + 1 : page.index(END)]
    assert generated == cli_table(), "docs/cli.md is stale: python -m asrkit.cli.flags_table"
