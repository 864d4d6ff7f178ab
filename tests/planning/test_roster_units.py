"""A roster's units: the config's pools as ``stream.planning.pools`` reads them, or learnt from a pooled plan's rows.

``Units`` answers ``unit``/``members`` for the roster's coverage and suggestion. For every queue a config
declares, its answers are ``pools.unit``/``pools.members``; a plan whose rows carry ``pool`` (what a
pooled plan writes) gives the same units with no config at all (``--roster`` without ``--config``).
"""

from __future__ import annotations

from hypothesis import given, settings, strategies as st

from stream.contracts.floor_config import FloorConfig
from stream.planning import pools
from stream.planning.roster import Units

QUEUES = ["a", "b", "c", "d", "e", "f"]


@st.composite
def configs(draw) -> FloorConfig:
    """One site with the six queues, some of them in up to three pools (each queue in one at most)."""
    order = draw(st.permutations(QUEUES))
    cuts = sorted(draw(st.lists(st.integers(0, 6), min_size=0, max_size=3)))
    groups, at = {}, 0
    for i, cut in enumerate(cuts):
        if cut > at:
            groups[f"pool{i}"] = list(order[at:cut])
        at = max(at, cut)
    return FloorConfig.from_dict({"sites": {"s": {"queues": {q: {} for q in QUEUES}, "pools": groups}}})


def plan_rows(cfg: FloorConfig, with_pool: bool) -> list[dict]:
    rows = []
    for start in ("2026-03-02T08:00:00+08:00", "2026-03-02T08:15:00+08:00"):
        for q in QUEUES:
            row = {"site": "s", "queue": q, "start": start, "agents": 1}
            if with_pool and pools.pool_of(cfg, "s", q):
                row["pool"] = pools.pool_of(cfg, "s", q)
            rows.append(row)
    return rows


@settings(max_examples=150, deadline=None)
@given(cfg=configs())
def test_property_units_are_the_configs_pools_or_the_plans(cfg) -> None:
    declared = cfg.site("s").pools
    for units, ordered in ((Units(cfg), True), (Units(cfg, plan_rows(cfg, True)), True), (Units(None, plan_rows(cfg, True)), False)):
        for q in QUEUES:
            assert units.unit("s", q) == pools.unit(cfg, "s", q)
            assert units.members("s", q) == [q] and not units.is_pool("s", q)
        for name in declared:
            got, want = units.members("s", name), pools.members(cfg, "s", name)
            # Learnt from rows alone, a pool's queues come in the rows' order.
            assert got == want if ordered else sorted(got) == sorted(want)
            assert units.is_pool("s", name)
            assert units.resolve("s", [name, "a"]) == set(pools.members(cfg, "s", name)) | {"a"}
    # A plan without pool keys read without the config: every queue its own unit.
    bare = Units(None, plan_rows(cfg, False))
    assert all(bare.unit("s", q) == q and not bare.is_pool("s", q) for q in QUEUES)


def test_a_plans_pool_adds_its_queues_to_the_configs_pool_of_that_name() -> None:
    """A plan made with a wider pool than the config now declares: the plan's queue joins the pool (as before)."""
    cfg = FloorConfig.from_dict({"sites": {"s": {"queues": {q: {} for q in QUEUES}, "pools": {"p": ["a", "b"]}}}})
    rows = [{"site": "s", "queue": q, "start": "2026-03-02T08:00:00+08:00", "agents": 1, "pool": "p"} for q in ("a", "c")]
    units = Units(cfg, rows)
    assert units.members("s", "p") == ["a", "b", "c"] and units.unit("s", "c") == "p"
    # A queue the config pools elsewhere stays there.
    cfg2 = FloorConfig.from_dict({"sites": {"s": {"queues": {q: {} for q in QUEUES},
                                                  "pools": {"p": ["a", "b"], "r": ["c", "d"]}}}})
    units = Units(cfg2, rows)
    assert units.unit("s", "c") == "r" and units.members("s", "p") == ["a", "b"]
