"""The usage examples at the top of each planning module run and hold (river style: each module shows its use)."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = ["actuals", "holidays", "forecast", "outlook", "erlang_a", "calls", "plan", "whatif", "check", "roster",
           "board", "stored"]


@pytest.mark.parametrize("name", MODULES)
def test_module_doctest(name: str) -> None:
    mod = importlib.import_module(f"stream.planning.{name}")
    res = doctest.testmod(mod)
    assert res.attempted > 0, f"stream.planning.{name} shows no example"
    assert res.failed == 0
