"""The typed seam between Floor and its sites (stream/fold/interface.py) holds for both cores.

mypy checks that ``SiteCore`` (the specification) is a ``SiteFold`` and
``NativeSite`` (through ``_native.pyi``) one too, and that
``Floor`` uses its sites only through them; stubtest checks the stub against the
compiled module, so the stub cannot drift from the binding.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from stream.contracts.floor_config import FloorConfig
from stream.fold.floor import Floor, native_available
from stream.fold.interface import SiteFold

ROOT = Path(__file__).resolve().parents[2]

try:
    import mypy  # noqa: F401

    HAVE_MYPY = True
except ImportError:  # pragma: no cover - the test extra installs it
    HAVE_MYPY = False
needs_mypy = pytest.mark.skipif(not HAVE_MYPY, reason="mypy is not installed (pip install -e '.[test]')")

CHECK = """
from stream.fold._native import NativeSite
from stream.fold.interface import SiteFold
from stream.fold.site import SiteCore


def spec_core(s: SiteCore) -> SiteFold:
    return s


def native_core(s: NativeSite) -> SiteFold:
    return s
"""

# What the checks read of the rest of the tree is checked, not judged (their own modules are).
MYPY_INI = "[mypy]\nignore_missing_imports = True\nfollow_imports = silent\n"


def _mypy(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    ini = tmp_path / "mypy.ini"
    ini.write_text(MYPY_INI)
    return subprocess.run(
        [sys.executable, "-m", *args, "--config-file" if args[0] == "mypy" else "--mypy-config-file", str(ini)],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )


def _members(proto: type) -> set[str]:
    return {n for n in vars(proto) if not n.startswith("_")} | set(getattr(proto, "__annotations__", {}))


@pytest.mark.slow
@needs_mypy
def test_both_cores_and_floor_type_check_against_the_seam(tmp_path):
    check = tmp_path / "seam_check.py"
    check.write_text(textwrap.dedent(CHECK))
    files = ["stream/fold/interface.py", "stream/fold/floor.py", "stream/fold/site.py", str(check)]
    r = _mypy(tmp_path, "mypy", "--cache-dir", str(tmp_path / "cache"), *files)
    assert r.returncode == 0, r.stdout + r.stderr


@pytest.mark.slow
@needs_mypy
def test_a_core_that_breaks_the_seam_is_caught(tmp_path):
    # The check above can fail: a site whose waiting rows are untyped dicts is not a SiteFold.
    bad = tmp_path / "bad_site.py"
    bad.write_text(textwrap.dedent("""
        from stream.fold.interface import SiteFold
        from stream.fold.site import SiteCore


        class Loose(SiteCore):
            def waiting(self, now: int) -> dict[str, dict[str, float]]:
                return {}


        def as_fold(s: Loose) -> SiteFold:
            return s
    """))
    r = _mypy(tmp_path, "mypy", "--cache-dir", str(tmp_path / "cache"), str(bad))
    assert r.returncode == 1 and "waiting" in r.stdout, r.stdout + r.stderr


@pytest.mark.slow
@needs_mypy
@pytest.mark.skipif(not native_available(), reason="the native core is not built here (no C++ compiler at install)")
def test_the_stub_is_the_compiled_modules(tmp_path):
    r = _mypy(tmp_path, "mypy.stubtest", "stream.fold._native")
    assert r.returncode == 0, r.stdout + r.stderr


@pytest.mark.parametrize("native", [False, pytest.param(True, marks=pytest.mark.skipif(not native_available(), reason="no native core here"))])
def test_every_member_of_the_seam_is_there_at_run_time(native):
    floor = Floor(FloorConfig(), native=native)
    site = floor.site("s1")
    wanted = _members(SiteFold)
    missing = sorted(n for n in wanted if not hasattr(site, n))
    assert not missing
