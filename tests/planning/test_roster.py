"""Rosters: reading one, coverage against a plan, and the MILP suggestion on cases solved by hand."""

from __future__ import annotations

import pytest

from stream.planning.roster import ShiftRules, coverage, read_roster, suggest


def need(per_hour: dict[int, int], day: str = "2026-03-02", site: str = "s", queue: str = "q") -> list[dict]:
    """Plan rows for 00:00-24:00 with ``agents`` per whole hour (missing hours: 0)."""
    return [
        {"site": site, "queue": queue, "start": f"{day}T{h:02d}:{m:02d}:00+08:00", "agents": per_hour.get(h, 0)}
        for h in range(24)
        for m in (0, 15, 30, 45)
    ]


def test_suggest_hand_case_four_hour_shifts() -> None:
    """1 agent 08-16 and a second 10-12, 4-hour shifts on the hour: need-hours 10, so at
    least three 4-hour shifts (12 paid hours), and three suffice (08-12, 12-16 and one over 10-12)."""
    rules = ShiftRules(lengths_h=[4], start_every_min=60, earliest="00:00", latest_end="24:00")
    out = suggest(need({**{h: 1 for h in range(8, 16)}, 10: 2, 11: 2}), rules)
    assert out["paid_hours"] == 12.0
    assert out["needed_hours"] == 10.0
    assert sum(s["count"] for s in out["shifts"]) == 3
    assert all(r["short"] == 0 for r in out["intervals"])


def test_suggest_hand_case_with_breaks() -> None:
    """2 agents 08:00-17:00 (18 agent-hours) with 9-hour shifts (8.5 paid: an unpaid 30-minute break
    starting 3-5 h in, on the half hour) or 4-hour ones, starting on the hour. By hand:
    * only 4-hour shifts: two must start at 08 and two at 13 (the day's ends), and 12-13 needs two
      more: 6 shifts, 24 h;
    * two 9-hour shifts (17 h) leave their breaks short: at least one more 4-hour shift, 21 h;
    * one 9-hour shift (8.5 h) leaves 9.5 h of need: at least three 4-hour shifts, 20.5 h, and
      08-12, 12-16, 13-17 with the break at 13:00 cover every interval. The optimum is 20.5 h."""
    rules = ShiftRules(lengths_h=[9, 4], start_every_min=60, earliest="08:00", latest_end="17:00",
                       break_over_h=6, break_min=30, break_from_h=3, break_to_h=5)
    out = suggest(need({h: 2 for h in range(8, 17)}), rules)
    assert out["paid_hours"] == 20.5
    assert sorted((x["start"][11:16], x["count"]) for x in out["shifts"]) == [("08:00", 1), ("08:00", 1), ("12:00", 1), ("13:00", 1)]
    assert all(r["short"] == 0 for r in out["intervals"])


def test_suggest_respects_max_heads_or_says_why() -> None:
    rules = ShiftRules(lengths_h=[4], start_every_min=60, earliest="00:00", latest_end="24:00", max_heads=1)
    with pytest.raises(ValueError, match="no roster of the allowed shifts covers s/q"):
        suggest(need({h: 1 for h in range(8, 16)}), rules)


def test_read_csv_roster_and_coverage(tmp_path) -> None:
    p = tmp_path / "roster.csv"
    p.write_text(
        "person,site,queues,start,end,breaks\n"
        "ann,s,q;vip,2026-03-02T08:00+08:00,2026-03-02T16:00+08:00,12:00-12:30\n"
        "bob,s,q,2026-03-02T10:00+08:00,2026-03-02T14:00+08:00,\n",
        encoding="utf-8",
    )
    shifts = read_roster(p)
    assert [s.person for s in shifts] == ["ann", "bob"]
    rows = {r["start"][11:16]: r for r in coverage(shifts, need({h: 2 for h in range(8, 16)}))}
    assert rows["09:00"]["scheduled"] == 1 and rows["09:00"]["short"] == 1
    assert rows["11:00"]["scheduled"] == 2 and rows["11:00"]["short"] == 0
    assert rows["12:15"]["scheduled"] == 1  # ann on her break
    assert rows["20:00"] == {**rows["20:00"], "needed": 0, "scheduled": 0, "over": 0}


def test_read_yaml_roster(tmp_path) -> None:
    p = tmp_path / "roster.yaml"
    p.write_text(
        "shifts:\n"
        "  - {person: 王芳, queues: [q], start: '2026-03-02T22:00+08:00', end: '2026-03-03T06:00+08:00', breaks: ['02:00-02:30']}\n",
        encoding="utf-8",
    )
    (s,) = read_roster(p)
    assert s.person == "王芳" and s.end.hour == 6 and s.breaks[0][0].day == 3


@pytest.mark.parametrize(
    "text,msg",
    [
        ("person,queues,start\nann,q,2026-03-02T08:00+08:00\n", "missing column"),
        ("person,queues,start,end\nann,q,08:00,16:00\n", "row 2: start: not a time with offset"),
        ("person,queues,start,end\nann,,2026-03-02T08:00+08:00,2026-03-02T16:00+08:00\n", "row 2: missing queues"),
    ],
)
def test_bad_rosters_name_the_row_and_field(tmp_path, text, msg) -> None:
    p = tmp_path / "r.csv"
    p.write_text(text, encoding="utf-8")
    with pytest.raises(ValueError, match=msg):
        read_roster(p)
