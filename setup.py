"""Build hook: the native core (Cython + C++) and the mypyc-compiled modules.

Everything else about the package is in pyproject.toml. The native core is the
fold that runs; the fold's Python specification (``stream/fold/site.py``,
``contact.py``, ``agent.py``) is not compiled: it is written to be read. The
modules listed in COMPILED are plain, typed Python that the native path runs
too (a snapshot's figures, the calendar, the alert engine, Erlang C's search
for the staffing advice the alert path reads); mypyc turns them
into C extensions beside the .py files (an editable install builds them in
place). Where they cannot be built (no C compiler, FLOORWATCH_PURE=1),
floorwatch runs the same code interpreted, only slower.
"""

from __future__ import annotations

import glob
import os
import sys

from setuptools import setup
from setuptools.command.build_ext import build_ext

COMPILED = [
    "stream/fold/calendar.py",
    "stream/fold/stats.py",
    "stream/fold/histogram.py",
    "stream/alerts/view.py",
    "stream/alerts/engine.py",
    "stream/alerts/rules.py",
    "stream/alerts/hysteresis.py",
    "stream/planning/erlang_search.py",
]

# Compiled by older installs, no longer: an extension left beside its .py would shadow it.
NO_LONGER_COMPILED = ["stream/fold/site.py", "stream/fold/contact.py", "stream/fold/agent.py"]


def remove_stale_extensions() -> None:
    for src in NO_LONGER_COMPILED:
        for path in glob.glob(src.removesuffix(".py") + ".*.so") + glob.glob(src.removesuffix(".py") + ".*.pyd"):
            os.remove(path)
            print(f"floorwatch: removed {path} ({src} is no longer compiled)", file=sys.stderr)


class OptionalBuildExt(build_ext):
    """Build the extensions, or warn and go on interpreted when that fails."""

    def run(self) -> None:
        try:
            super().run()
        except Exception as exc:  # a missing compiler shows up as several error types
            print(f"floorwatch: compiling the core failed ({exc}); it runs interpreted", file=sys.stderr)

    def build_extension(self, ext) -> None:
        try:
            super().build_extension(ext)
        except Exception as exc:
            print(f"floorwatch: compiling {ext.name} failed ({exc}); it runs interpreted", file=sys.stderr)


def ext_modules() -> list:
    if os.environ.get("FLOORWATCH_PURE"):
        return []
    try:
        from mypyc.build import mypycify
    except ImportError:
        print("floorwatch: mypyc is not available; the core runs interpreted", file=sys.stderr)
        return []
    # Only the compiled modules' own errors count: the modules they import
    # (events, config) are checked but not judged, since they run interpreted.
    return mypycify(["--ignore-missing-imports", "--follow-imports=silent", *COMPILED], opt_level="3")


def native_modules() -> list:
    """The native core, ``stream.fold._native``: C++ headers in stream/fold/native/, bound by stream/fold/_native.pyx."""
    if os.environ.get("FLOORWATCH_PURE"):
        return []
    try:
        from Cython.Build import cythonize
    except ImportError:
        print("floorwatch: Cython is not available; the native core is not built", file=sys.stderr)
        return []
    from setuptools import Extension

    ext = Extension(
        "stream.fold._native",
        ["stream/fold/_native.pyx"],
        language="c++",
        include_dirs=["stream/fold/native"],
        depends=[os.path.join("stream", "fold", "native", f) for f in sorted(os.listdir(os.path.join("stream", "fold", "native")))],
        extra_compile_args=["-std=c++17", "-O3", "-fno-strict-aliasing", "-Wno-unused-function"],
    )
    directives = {"language_level": 3, "boundscheck": False, "wraparound": False, "initializedcheck": False, "cdivision": True}
    return cythonize([ext], compiler_directives=directives, quiet=True)


remove_stale_extensions()
setup(ext_modules=native_modules() + ext_modules(), cmdclass={"build_ext": OptionalBuildExt})
