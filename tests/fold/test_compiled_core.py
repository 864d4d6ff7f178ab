"""The compiled modules (setup.py, mypyc) are current and give exactly the interpreted ones' figures.

The modules the native path runs in Python too (the figures' arithmetic, the
calendar, the alert engine) are compiled in place by the install; the fold's
specification (site, contact, agent) is not. A compiled copy older than its
source would test stale code, and a compiler that judges the code differently
could change a figure; these tests catch both.
"""

from __future__ import annotations

import ast
import importlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FEBRUARY = ROOT / ".." / "shared" / "data" / "anonbank" / "february.txt"


def _compiled_sources() -> list[str]:
    tree = ast.parse((ROOT / "setup.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "COMPILED" for t in node.targets):
            return ast.literal_eval(node.value)
    raise AssertionError("setup.py has no COMPILED list")


def _module(src: str):
    return importlib.import_module(src.removesuffix(".py").replace("/", "."))


def _is_compiled(mod) -> bool:
    return not mod.__file__.endswith(".py")


def test_the_core_is_compiled_where_a_compiler_is_present():
    if os.environ.get("FLOORWATCH_PURE"):
        pytest.skip("FLOORWATCH_PURE is set: the core was installed interpreted on purpose")
    if shutil.which(os.environ.get("CC", "cc")) is None:
        pytest.skip("no C compiler on this machine: the core runs interpreted")
    interpreted = [src for src in _compiled_sources() if not _is_compiled(_module(src))]
    assert not interpreted, f"not compiled (is the install current? `make test` rebuilds it): {interpreted}"


def _native_sources() -> list[Path]:
    return [ROOT / "stream" / "fold" / "_native.pyx", *sorted((ROOT / "stream" / "fold" / "native").glob("*.hpp"))]


def test_the_native_core_is_built_where_a_compiler_is_present():
    if os.environ.get("FLOORWATCH_PURE"):
        pytest.skip("FLOORWATCH_PURE is set: the core was installed interpreted on purpose")
    if shutil.which(os.environ.get("CXX", "c++")) is None:
        pytest.skip("no C++ compiler on this machine: the reference core folds")
    from stream.fold.floor import native_available

    assert native_available(), "stream.fold._native is not built (is the install current? `make test` rebuilds it)"


def test_the_native_core_is_not_older_than_its_sources():
    """A failed rebuild leaves the old extension in place (the build only warns): this catches it."""
    try:
        from stream.fold import _native
    except ImportError:
        pytest.skip("the native core is not built here")
    built = os.path.getmtime(_native.__file__)
    stale = [str(p.relative_to(ROOT)) for p in _native_sources() if os.path.getmtime(p) > built]
    assert not stale, f"{_native.__file__} is older than {stale}: its rebuild failed or did not run (`make test` rebuilds it)"


def test_no_compiled_module_is_older_than_its_source():
    for src in _compiled_sources():
        mod = _module(src)
        if not _is_compiled(mod):
            continue
        assert os.path.getmtime(mod.__file__) >= os.path.getmtime(ROOT / src), (
            f"{mod.__file__} is older than {src}: reinstall (make test does) or the tests run stale code"
        )


def _interpreted_tree(tmp_path: Path) -> Path:
    """A copy of the packages without any compiled module: imports there run the .py files."""
    for pkg in ("stream", "simulators", "config"):
        shutil.copytree(ROOT / pkg, tmp_path / pkg, ignore=shutil.ignore_patterns("*.so", "__pycache__"))
    return tmp_path


def _run(cwd: Path, *args: str) -> str:
    env = {**os.environ, "PYTHONPATH": str(cwd)}
    out = subprocess.run(
        [sys.executable, "-c", "import sys, stream.fold.stats as s; print(not s.__file__.endswith('.py'), file=sys.stderr); "
         "from stream.cli.main import main; sys.exit(main(sys.argv[1:]))", *args],
        cwd=cwd, env=env, capture_output=True, text=True, check=True,
    )
    return out.stdout + "\ncompiled=" + out.stderr.strip().splitlines()[0]


@pytest.mark.slow
def test_compiled_and_interpreted_cores_report_the_same_busy_day(tmp_path):
    if not _is_compiled(_module("stream/fold/stats.py")):
        pytest.skip("the figures' modules are not compiled here: nothing to compare")
    args = ("simulate", "--scenario", "busy-day", "--calls", "4000", "--seed", "11", "--report", "json")
    compiled = _run(ROOT, *args)
    interpreted = _run(_interpreted_tree(tmp_path), *args)
    assert compiled.endswith("compiled=True") and interpreted.endswith("compiled=False")
    assert compiled.removesuffix("compiled=True") == interpreted.removesuffix("compiled=False")
    assert '"offered": ' in compiled


@pytest.mark.slow
def test_compiled_and_interpreted_cores_report_the_same_february(tmp_path):
    if not FEBRUARY.exists():
        pytest.skip(f"../shared/data/anonbank/february.txt not found: {FEBRUARY.resolve()} (no ../shared here)")
    if not _is_compiled(_module("stream/fold/stats.py")):
        pytest.skip("the figures' modules are not compiled here: nothing to compare")
    args = ("replay", str(FEBRUARY), "--format", "anonbank", "--report", "json")
    compiled = _run(ROOT, *args)
    interpreted = _run(_interpreted_tree(tmp_path), *args)
    assert compiled.removesuffix("compiled=True") == interpreted.removesuffix("compiled=False")


@pytest.mark.slow
def test_compiled_and_interpreted_alert_paths_raise_the_same_alerts(tmp_path):
    """The alert view, engine and rules are compiled too: the same changes, messages included."""
    if not _is_compiled(_module("stream/alerts/engine.py")):
        pytest.skip("the alert engine is not compiled here: nothing to compare")
    day = tmp_path / "day.jsonl"
    _run(ROOT, "simulate", "--scenario", "busy-day", "--calls", "4000", "--seed", "5", "--out", str(day))
    args = ("alerts", "--replay", str(day), "--format", "jsonl", "--json", "--all")
    compiled = _run(ROOT, *args)
    interpreted = _run(_interpreted_tree(tmp_path / "tree"), *args)
    assert compiled.removesuffix("compiled=True") == interpreted.removesuffix("compiled=False")
    assert '"change": "raised"' in compiled and '"change": "resolved"' in compiled


def test_the_specification_of_the_fold_is_not_compiled():
    """The fold's specification is read, not tuned: it runs as written (the native core is production)."""
    for src in ("stream/fold/site.py", "stream/fold/contact.py", "stream/fold/agent.py"):
        assert src not in _compiled_sources()
        assert not _is_compiled(_module(src)), f"{src} runs compiled: a stale extension beside it? (make clean)"


def test_without_the_native_core_the_specification_runs_and_says_so_once():
    # As on a machine without a C++ compiler: the binding cannot be imported.
    code = (
        "import sys; sys.modules['stream.fold._native'] = None\n"
        "from stream.contracts.events import CallOffered\n"
        "from stream.fold.floor import Floor, native_available\n"
        "assert not native_available()\n"
        "for _ in range(3):\n"
        "    f = Floor(); f.apply(CallOffered(id='1', ts=0, site='s', call='c', queue='q'))\n"
        "    assert not f.native and f.report()['total']['offered'] == 1\n"
    )
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stderr.count("the native core is not built here") == 1, r.stderr
    assert "docs/native.md#wheel" in r.stderr
