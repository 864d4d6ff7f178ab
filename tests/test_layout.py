"""The package's shape (issue 12): no import cycles among stream's modules, and the
pure parts (the fold, the contracts) and the runtime shells never import the simulators.

Imports are read from the source (``ast`` for .py, the ``import`` lines of the
Cython module), wherever they stand: a function-level import is still a
dependency. Only ``if TYPE_CHECKING:`` blocks are left out (they never run).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "stream"
# These may not import simulators/ (what produces events is not part of the floor).
NO_SIMULATORS = ("stream.runtime", "stream.fold", "stream.contracts")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def all_modules() -> dict[str, Path]:
    files = sorted(PACKAGE.rglob("*.py")) + sorted(PACKAGE.rglob("*.pyx"))
    return {module_name(p): p for p in files}


def _is_type_checking(node: ast.If) -> bool:
    t = node.test
    return (isinstance(t, ast.Name) and t.id == "TYPE_CHECKING") or (
        isinstance(t, ast.Attribute) and t.attr == "TYPE_CHECKING"
    )


def _nodes(tree: ast.AST):
    """Every node of the tree except those under ``if TYPE_CHECKING:``."""
    stack = [tree]
    while stack:
        node = stack.pop()
        yield node
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child):
                stack.extend(child.orelse)
                continue
            stack.append(child)


_PYX_IMPORT = re.compile(r"^\s*(?:from\s+([\w.]+)\s+(?:c?import)\s+([\w, ()]+)|import\s+([\w.]+))", re.M)


def imported_names(name: str, path: Path) -> set[str]:
    """Dotted names imported by a module: ``import a.b`` gives a.b, ``from a import b, c`` a.b and a.c
    (a name that is not a module resolves to ``a`` below)."""
    pkg = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out: set[str] = set()
    if path.suffix == ".pyx":
        for frm, names, imp in _PYX_IMPORT.findall(path.read_text(encoding="utf-8")):
            if imp:
                out.add(imp)
            else:
                out.update(f"{frm}.{n.strip()}" for n in names.strip("()").split(",") if n.strip())
        return out
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    for node in _nodes(tree):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = pkg.split(".")
                base = base[: len(base) - node.level + 1]
                frm = ".".join(base + ([node.module] if node.module else []))
            else:
                frm = node.module or ""
            out.update(f"{frm}.{a.name}" for a in node.names)
    return out


def resolve(dotted: str, modules: dict[str, Path]) -> str | None:
    """The module a dotted import name lands in (the longest known prefix), or None outside stream."""
    parts = dotted.split(".")
    while parts:
        cand = ".".join(parts)
        if cand in modules:
            return cand
        parts.pop()
    return None


def import_graph() -> dict[str, set[str]]:
    modules = all_modules()
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        deps = set()
        for dotted in imported_names(name, path):
            target = resolve(dotted, modules)
            # Importing a.b.c runs a and a.b first: packages' __init__ are deps too.
            if target is not None and target != name and target != "stream":
                deps.add(target)
        graph[name] = deps
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    out: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return sorted(out)


def test_the_import_graph_is_read():
    # The reader must see the edges it is meant to judge (else the tests below pass on nothing).
    g = import_graph()
    assert "stream.fold.floor" in g["stream.runtime.partition"]
    assert "stream.contracts.events" in g["stream.fold.floor"] or "stream.contracts.decode" in g["stream.fold.floor"]
    assert "stream.contracts.events" in g["stream.fold._native"]


def test_cycles_are_found():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycle_among_streams_modules():
    found = cycles(import_graph())
    assert not found, "import cycles: " + "; ".join(" <-> ".join(c) for c in found)


@pytest.mark.parametrize("area", NO_SIMULATORS)
def test_no_simulators_under(area):
    modules = all_modules()
    bad = sorted(
        f"{name} imports {dotted}"
        for name, path in modules.items()
        if name == area or name.startswith(area + ".")
        for dotted in imported_names(name, path)
        if dotted == "simulators" or dotted.startswith("simulators.")
    )
    assert not bad, "; ".join(bad)


def test_simulator_imports_are_seen():
    # The CLI does import the simulators (floorwatch simulate): the check above would see it there.
    modules = all_modules()
    assert any(d.startswith("simulators") for d in imported_names("stream.cli.main", modules["stream.cli.main"]))


def test_the_fold_imports_only_the_contracts():
    # The pure core: no runtime, no alerts, no I/O shells.
    g = import_graph()
    bad = sorted(
        f"{m} imports {d}"
        for m, deps in g.items()
        if m.startswith("stream.fold")
        for d in deps
        if not (d.startswith("stream.fold") or d.startswith("stream.contracts"))
    )
    assert not bad, "; ".join(bad)
