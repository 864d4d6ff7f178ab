"""Erlang C's search compiled (mypyc, setup.py) gives what its Python gives, bit for bit.

The compiled module is what runs; its source, loaded here as plain Python under another name, is
the same arithmetic interpreted. The staffing advice (and the ``understaffed`` alert it feeds) must
not change with the build: the same blocking probabilities to the last bit and the same agents, on
random loads and on the loads a busy day's advice solved.
"""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

from stream.planning import erlang_search, staffing


def _interpreted():
    source = Path(erlang_search.__file__).with_name("erlang_search.py")  # beside the compiled extension
    spec = importlib.util.spec_from_file_location("erlang_search_interpreted", source)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


PY = _interpreted()


def test_the_compiled_module_is_the_one_that_runs() -> None:
    if erlang_search.__file__.endswith(".py"):
        pytest.skip("erlang_search is not compiled in this build (FLOORWATCH_PURE or no C compiler): nothing to compare")
    assert PY.__file__.endswith("erlang_search.py") and staffing.least_agents is erlang_search.least_agents


@settings(max_examples=400, deadline=None)
@given(n=st.integers(1, 2000), a=st.floats(min_value=0.0, max_value=1500.0))
def test_blocking_is_the_same_to_the_last_bit(n: int, a: float) -> None:
    assert erlang_search.blocking(n, a).hex() == PY.blocking(n, a).hex()


@settings(max_examples=400, deadline=None)
@given(a=st.floats(min_value=0.0, max_value=800.0), aht=st.floats(min_value=5, max_value=2000),
       t=st.floats(min_value=0, max_value=600), goal=st.floats(min_value=0.01, max_value=0.999),
       cap=st.one_of(st.none(), st.floats(min_value=0.3, max_value=0.99)))
def test_the_least_agents_are_the_same(a: float, aht: float, t: float, goal: float, cap) -> None:
    n = erlang_search.least_agents(a, aht, t, goal, cap)
    assert n == PY.least_agents(a, aht, t, goal, cap)
    # And the least by the interpreted definition: SL(n) meets the goal, SL(n - 1) does not (or n - 1 is
    # not past A, or over the occupancy cap).
    def meets(m: int) -> bool:
        if m <= a or (cap is not None and a / m > cap):
            return False
        b = PY.blocking(m, a)
        pw = m * b / (m - a * (1.0 - b))
        return 1.0 - pw * math.exp(-(m - a) * t / aht) >= goal
    assert meets(n) and not meets(n - 1)


def test_a_busy_days_loads() -> None:
    """The loads of a 15-minute interval the live advice solves: 0-400 calls at 60-600 s, T 20 s, 80 %."""
    for calls in range(0, 401, 7):
        for aht in (60.0, 137.5, 180.0, 333.3, 600.0):
            a = calls / 900.0 * aht
            assert erlang_search.least_agents(a, aht, 20.0, 0.8, None) == PY.least_agents(a, aht, 20.0, 0.8, None)


def test_an_unreachable_goal_is_refused() -> None:
    assert erlang_search.least_agents(1e6, 180.0, 0.0, 0.999, None) == 0  # past MAX_AGENTS
    with pytest.raises(ValueError, match="no staffing up to 1000000 agents"):
        staffing.required_agents(1e6, 180.0, 0.0, 0.999)
