"""Teams and agent rows per interval in the store: config/teams.yaml, agent_report by agent, team
and hour on real PostgreSQL and SQLite, and the CLI's --agents."""

from __future__ import annotations

import json
from datetime import date

import pytest

from stream.cli.main import main
from stream.contracts.floor_config import ConfigError, FloorConfig
from stream.fold.floor import Floor
from stream.history.agents import agent_report
from stream.history.rows import backfill_limits, floor_batch
from stream.history.store import Store
from stream.history.teams import Teams, load_teams
from tests.helpers import Seq, at

MIN = 60_000
DAY = "2026-11-23"
TEAMS = """
sites:
  s1:
    red:
      name: {en: Red team, zh: 红组}
      agents: [a1, a2]
"""


def _write(db_url: str) -> Store:
    """A morning of three agents (a3 in no team) written through the history rows."""
    s = Seq("s1")
    for a in ("a1", "a2", "a3"):
        s.state(at("08:00:00"), a, "ready", queues=["q1", "q2"])
    calls = [("c1", "a1", "q1", "08:05:00", 4), ("c2", "a2", "q2", "08:20:00", 6), ("c3", "a3", "q1", "09:10:00", 3),
             ("c4", "a1", "q2", "09:12:00", 10)]
    for cid, agent, q, hms, talk in calls:
        t = at(hms)
        s.offer(t - 10_000, cid, queue=q)
        s.answer(t, cid, agent)
        s.state(t, agent, "busy")
        s.end(t + talk * MIN, cid, wrap_up=True)
        s.state(t + talk * MIN, agent, "wrap_up")
        s.wrap_end(t + talk * MIN + MIN, cid, agent)
        s.state(t + talk * MIN + MIN, agent, "ready")
    s.state(at("09:30:00"), "a2", "not_ready", reason="lunch")
    for a in ("a1", "a2", "a3"):
        s.state(at("10:00:00"), a, "logged_out")
    cfg = FloorConfig.from_dict({"sites": {"s1": {"timezone": "UTC"}}})
    f = Floor(cfg, limits=backfill_limits(cfg))
    f.apply_many(sorted(s.events, key=lambda e: e.ts))
    f.flush()
    store = Store.open(db_url)
    store.upsert(floor_batch(f))
    return store


def _teams(tmp_path) -> Teams:
    p = tmp_path / "teams.yaml"
    p.write_text(TEAMS, encoding="utf-8")
    return load_teams(p)


def test_agent_rows_by_agent_team_and_hour(db_url, tmp_path):
    store = _write(db_url)
    teams = _teams(tmp_path)
    d = date.fromisoformat(DAY)
    agents = agent_report(store, "s1", d, d, teams=teams)["rows"]
    by = {r["agent"]: r for r in agents}
    assert set(by) == {"a1", "a2", "a3", "*"} and agents[-1]["agent"] == "*"
    assert by["a1"]["handled"] == 2 and by["a1"]["aht_s"] == (5 + 11) * 60 / 2
    assert by["a1"]["aht_by_queue_s"] == {"q1": 300.0, "q2": 660.0}
    assert by["a1"]["talk_s"] == 14 * 60 and by["a1"]["wrap_s"] == 2 * 60
    assert by["a2"]["not_ready_s"] == {"lunch": 30 * 60.0} and by["a3"]["team"] == "unassigned"
    assert by["*"]["handled"] == 4
    # Teams: the red team's agents added up; a3 is unassigned, not dropped; teams add up to the site.
    tm = agent_report(store, "s1", d, d, teams=teams, by="team")
    t = {r["team"]: r for r in tm["rows"]}
    assert t["red"]["handled"] == 3 and t["unassigned"]["handled"] == 1 and t["*"]["handled"] == 4
    assert tm["teams"]["red"] == {"en": "Red team", "zh": "红组"}
    red = agent_report(store, "s1", d, d, teams=teams, team="red")["rows"]
    assert [r["agent"] for r in red] == ["a1", "a2", "*"] and red[-1]["handled"] == 3
    assert [r["agent"] for r in agent_report(store, "s1", d, d, teams=teams, team="unassigned")["rows"]] == ["a3", "*"]
    # One agent by hour; one hour of the day.
    hours = agent_report(store, "s1", d, d, teams=teams, agent="a1", step="1h")["rows"]
    assert [(r["start"], r["handled"]) for r in hours] == [(f"{DAY}T08:00:00+00:00", 1), (f"{DAY}T09:00:00+00:00", 1)]
    occ = hours[0]
    # 08:00-09:00: busy 4 + wrap-up 1 of 60 minutes logged in and not "not ready".
    assert occ["occupancy_pct"] == pytest.approx(100 * 5 / 60)
    nine = agent_report(store, "s1", d, d, teams=teams, hour=9)["rows"]
    assert {r["agent"]: r["handled"] for r in nine} == {"a1": 1, "a2": 0, "a3": 1, "*": 2}
    store.close()


def test_teams_file_errors_name_the_problem(tmp_path):
    p = tmp_path / "teams.yaml"
    p.write_text("sites:\n  s1:\n    red: {name: {en: R}, agents: [a1]}\n    blue: {name: {en: B}, agents: [a1]}\n")
    with pytest.raises(ConfigError, match="agent 'a1' of site 's1' is in both 'red' and 'blue'"):
        load_teams(p)
    p.write_text("sites:\n  s1:\n    red: {name: {en: R}, members: [a1]}\n")
    with pytest.raises(ConfigError, match=r"teams.yaml: .*members.* - at `\$.sites"):
        load_teams(p)
    with pytest.raises(ConfigError, match="none.yaml: cannot read"):
        load_teams(tmp_path / "none.yaml")  # a file named but absent is an error, not "no teams"


def test_cli_agents_by_team_and_errors(tmp_path, capsys):
    db = f"sqlite:///{tmp_path / 'h.db'}"
    _write(db).close()
    tf = tmp_path / "teams.yaml"
    tf.write_text(TEAMS, encoding="utf-8")
    base = ["history", "--db", db, "--site", "s1", "--from", DAY, "--to", DAY]
    assert main([*base, "--agents", "--by", "team", "--teams", str(tf), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert {r["team"]: r["handled"] for r in out["rows"]} == {"red": 3, "unassigned": 1, "*": 4}
    assert main([*base, "--agents", "--team", "green", "--teams", str(tf)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no team 'green'" in err
    assert main([*base, "--team", "red"]) == 2
    assert "go with --agents" in capsys.readouterr().err
    tf.write_text("sites: [1]\n")
    assert main([*base, "--agents", "--teams", str(tf)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "teams.yaml" in err
