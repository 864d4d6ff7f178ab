"""Floor config from several files: the floor, then files that only add sites (config/anonbank.yaml)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from stream.contracts.floor_config import DEFAULT_CONFIG, ConfigError, FloorConfig, load_config
from stream.sources import anonbank

ROOT = Path(__file__).resolve().parents[2]


def test_the_bank_site_is_a_config_file():
    cfg = load_config(anonbank.CONFIG)
    site = cfg.sites[anonbank.SITE]
    assert (site.kind, site.timezone) == ("hotline", anonbank.TIMEZONE)
    assert list(site.queues) == ["PS", "PE", "IN", "NE", "NW", "TT"]
    assert site.queues["NE"].name.en == "Stock trading"
    assert anonbank.site_config() == site


def test_a_further_file_adds_its_sites():
    floor = load_config(None)
    both = load_config([DEFAULT_CONFIG, anonbank.CONFIG])
    assert list(both.sites) == [*floor.sites, anonbank.SITE]
    assert both.lateness_s == floor.lateness_s
    assert load_config([]) == floor


def test_a_site_in_two_files_is_an_error():
    with pytest.raises(ConfigError, match=r"anonbank.yaml: site 'anonbank' is also in .*anonbank.yaml"):
        load_config([anonbank.CONFIG, anonbank.CONFIG])


def test_a_further_file_only_adds_sites(tmp_path):
    extra = tmp_path / "extra.yaml"
    extra.write_text("lateness_s: 5\nsites:\n  x: {timezone: UTC}\n")
    with pytest.raises(ConfigError, match="extra.yaml: a further config file only adds sites, not lateness_s"):
        load_config([DEFAULT_CONFIG, extra])


def test_add_site_keeps_a_configured_one():
    cfg = load_config(None)
    anonbank.add_site(cfg)
    assert cfg.sites[anonbank.SITE] == anonbank.site_config()
    mine = load_config(None).sites["gd-hotline"]
    cfg.sites[anonbank.SITE] = mine
    anonbank.add_site(cfg)
    assert cfg.sites[anonbank.SITE] is mine


def test_the_worker_takes_several_config_files_and_names_a_bad_one(tmp_path):
    # A broken second file: a one-line error naming it, no traceback, before any connection.
    bad = tmp_path / "bad.yaml"
    bad.write_text("sites: {x: {timezone: Mars/Olympus}}\n")
    r = subprocess.run(
        [sys.executable, "-m", "stream.cli.main", "worker", "--kafka", "kafka://127.0.0.1:9", "--redis", "redis://127.0.0.1:9",
         "--config", str(DEFAULT_CONFIG), "--config", str(bad)],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    assert r.returncode != 0
    assert "bad.yaml" in r.stderr and "Traceback" not in r.stderr


def test_a_missing_site_file_is_one_line(tmp_path, monkeypatch, capsys):
    # As from a wheel without config/: the replay names the file, no traceback.
    from stream.cli.main import main

    monkeypatch.setattr(anonbank, "CONFIG", tmp_path / "anonbank.yaml")
    log = tmp_path / "feb.txt"
    log.write_text("")
    assert main(["replay", str(log), "--format", "anonbank", "--report", "json"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("floorwatch: ") and "anonbank.yaml: cannot read" in err and "Traceback" not in err


@pytest.mark.parametrize("pools, says", [
    ({"p": ["a", "b"], "q": ["b"]}, "queue 'b' is in pools 'p' and 'q'; a queue is in one pool at most - at `$.sites.s`"),
    ({"a": ["a", "b"]}, "pool 'a' has the name of a queue; name it apart - at `$.sites.s`"),
    ({"p": []}, "pool 'p' lists no queue - at `$.sites.s`"),
])
def test_a_wrong_pool_is_named(pools, says):
    with pytest.raises(ConfigError) as err:
        FloorConfig.from_dict({"sites": {"s": {"queues": {"a": {}}, "pools": pools}}}, source="f.yaml")
    assert str(err.value) == f"f.yaml: {says}"


def test_pools_group_queues():
    from stream.planning.pools import members, unit
    cfg = FloorConfig.from_dict({"sites": {"s": {"pools": {"floor": ["a", "b"]}}}})
    assert [unit(cfg, "s", q) for q in "abc"] == ["floor", "floor", "c"]
    assert members(cfg, "s", "floor") == ["a", "b"] and members(cfg, "t", "a") == ["a"]


@pytest.mark.parametrize("queues, says", [
    ({"a": {"sl_t_s": 30}, "b": {}}, "a: T 30 s, short abandon 5 s, b: T 20 s, short abandon 5 s"),
    ({"a": {}, "b": {"short_abandon_s": 0}}, "a: T 20 s, short abandon 5 s, b: T 20 s, short abandon 0 s"),
])
def test_a_pool_mixing_service_level_terms_is_refused_in_one_line(queues, says):
    with pytest.raises(ConfigError) as err:
        FloorConfig.from_dict({"sites": {"s": {"queues": queues, "pools": {"p": ["a", "b"]}}}}, source="f.yaml")
    assert str(err.value) == (f"f.yaml: pool 'p' mixes service-level terms ({says}); a pool's queues need one T and "
                              "one short-abandon limit - at `$.sites.s`")
    # The targets may differ: the plan aims at the members' offered-weighted target.
    FloorConfig.from_dict({"sites": {"s": {"queues": {"a": {"sl_target_pct": 90}, "b": {}}, "pools": {"p": ["a", "b"]}}}})


def test_the_bank_pools_its_six_queues():
    assert anonbank.site_config().pools == {"phones": ["PS", "PE", "IN", "NE", "NW", "TT"]}


@pytest.mark.parametrize("lead, says", [
    (20, "replan_lead_min must be a multiple of 15 minutes from 0 to 240, got 20"),
    (-15, "replan_lead_min must be a multiple of 15 minutes from 0 to 240, got -15"),
    (255, "replan_lead_min must be a multiple of 15 minutes from 0 to 240, got 255"),
    ("soon", "Expected `int`, got `str` - at `$.sites.s.replan_lead_min`"),
])
def test_a_wrong_replan_lead_is_named(lead, says):
    with pytest.raises(ConfigError) as err:
        FloorConfig.from_dict({"sites": {"s": {"replan_lead_min": lead}}}, source="f.yaml")
    assert str(err.value).startswith(f"f.yaml: {says}")


def test_a_site_re_plans_an_hour_ahead_unless_it_says_otherwise():
    cfg = FloorConfig.from_dict({"sites": {"s": {}, "t": {"replan_lead_min": 0}}})
    assert (cfg.site("s").replan_lead_min, cfg.site("t").replan_lead_min) == (60, 0)
