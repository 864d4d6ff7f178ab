"""Every usage example in a docstring runs and holds (river style: a module shows its use, and the example is true).

The examples are read from the source text rather than from the imported objects, because the modules that
mypyc or Cython compiles keep no Python function objects for ``doctest`` to find; each example runs in its
module's namespace, so it exercises the code that actually runs (compiled where it is compiled).
"""

from __future__ import annotations

import ast
import doctest
import importlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("stream", "dashboard", "simulators", "bench")


def _examples() -> list[tuple[str, str, str, int]]:
    """(module, qualified name, docstring, line) of every docstring with an example."""
    found = []
    for pkg in PACKAGES:
        for path in sorted((ROOT / pkg).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            tree = ast.parse(path.read_text(encoding="utf-8"))
            nodes: list[tuple[str, ast.AST]] = [(module, tree)]
            while nodes:
                name, node = nodes.pop()
                for child in ast.iter_child_nodes(node):
                    if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                        nodes.append((f"{name}.{child.name}", child))
                doc = ast.get_docstring(node, clean=False) if isinstance(
                    node, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) else None
                if doc and ">>>" in doc:
                    line = getattr(node, "lineno", 1)
                    found.append((module, name, doc, line))
    return found


EXAMPLES = _examples()


def test_every_planning_module_shows_its_use() -> None:
    # Planners read these modules as a library; each opens with an example (and finding none of them
    # would also mean the walk above broke).
    shown = {m for m, *_ in EXAMPLES}
    modules = {f"stream.planning.{p.stem}" for p in (ROOT / "stream" / "planning").glob("*.py")
               if p.stem not in ("__init__", "cli")}
    assert modules <= shown, sorted(modules - shown)


@pytest.mark.parametrize("module,name,doc,line", EXAMPLES, ids=[n for _, n, _, _ in EXAMPLES])
def test_example(module: str, name: str, doc: str, line: int) -> None:
    mod = importlib.import_module(module)
    test = doctest.DocTestParser().get_doctest(doc, dict(vars(mod)), name, mod.__file__, line)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    out: list[str] = []
    runner.run(test, out=out.append)
    assert runner.failures == 0, "".join(out)
