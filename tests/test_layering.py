"""The packages depend one way: ``asrkit`` (CLI, inference, training, models) -> ``decoders`` -> ``lm`` -> a small
base (``asrkit.errors``, ``asrkit.text``, ``asrkit.tokenizer``, ``asrkit.utils``), and no module imports itself
back through others. Read from the source (every import statement, those inside functions too; not the ones
under ``if TYPE_CHECKING:``), so a lazy import that only hides a circle is caught as well."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("asrkit", "decoders", "lm")
BASE = ("asrkit.errors", "asrkit.text", "asrkit.tokenizer", "asrkit.utils")


def modules() -> dict[str, Path]:
    out = {}
    for pkg in PACKAGES:
        for f in (ROOT / pkg).rglob("*.py"):
            rel = f.relative_to(ROOT).with_suffix("")
            out[".".join(rel.parts[:-1] if rel.name == "__init__" else rel.parts)] = f
    return out


def import_graph(mods: dict[str, Path]) -> dict[str, set[str]]:
    """Module -> the modules of these packages it imports (``from a.b import c`` counts ``a.b.c`` when that is
    a module, else ``a.b``)."""

    def resolve(name: str) -> str | None:
        while name and name not in mods:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, set[str]] = defaultdict(set)
    for name, path in mods.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        typing_only = {id(n) for node in ast.walk(tree) if isinstance(node, ast.If)
                       and "TYPE_CHECKING" in ast.unparse(node.test) for b in node.body for n in ast.walk(b)}
        package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
        for node in ast.walk(tree):
            if id(node) in typing_only:
                continue
            targets = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    base = ".".join(package[: len(package) - node.level + 1] + ([base] if base else []))
                targets = [base] + [f"{base}.{a.name}" for a in node.names]
            for t in targets:
                if t.split(".")[0] in PACKAGES and (r := resolve(t)) and r != name:
                    graph[name].add(r)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_no_import_circles():
    assert cycles(import_graph(modules())) == []


def test_lm_and_decoders_import_only_downwards():
    bad = []
    for mod, deps in import_graph(modules()).items():
        top = mod.split(".")[0]
        for dep in deps:
            up = dep.startswith("asrkit") and not dep.startswith(BASE)
            if (top in ("lm", "decoders") and up) or (top == "lm" and dep.startswith("decoders")):
                bad.append(f"{mod} -> {dep}")
            if top == "asrkit" and mod.startswith(BASE) and not dep.startswith(BASE):
                bad.append(f"{mod} -> {dep} (the base imports nothing above it)")
    assert bad == []


def test_the_checker_sees_circles_and_upward_imports(tmp_path):
    """The checks above can fail: a lazy import that closes a circle, and an upward import, are both found."""
    graph = import_graph(modules())
    graph["lm.ngram.arpa"] = graph["lm.ngram.arpa"] | {"lm.ngram.kenlm_lm"}  # kenlm_lm imports arpa
    assert any({"lm.ngram.arpa", "lm.ngram.kenlm_lm"} <= set(c) for c in cycles(graph))
    lazy = tmp_path / "m.py"
    lazy.write_text("def f():\n    from asrkit.train import trainer\n")
    assert "asrkit.train.trainer" in import_graph({"lm.fake": lazy, "asrkit.train.trainer": lazy})["lm.fake"]
