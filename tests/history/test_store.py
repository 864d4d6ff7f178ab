"""The history store on real PostgreSQL and SQLite: migrations, idempotent upserts, reads."""

from __future__ import annotations

import sqlalchemy as sa
import pytest

from stream.history.store import Batch, Store, StoreError, check_url, engine_url, redacted


def _row(start: int, offered: int, as_of: int, **kw) -> dict:
    r = {"site": "s1", "queue": "q", "start_ms": start, "utc_offset_min": 480, "sl_variant": "standard",
         "offered": offered, "answered": offered, "abandoned": 0, "short_abandoned": 0, "transferred": 0,
         "within_t": offered, "wait_sum_ms": 1000 * offered, "max_wait_ms": 1000, "handled": offered,
         "handle_sum_ms": 60_000 * offered, "wait_hist": '{"1": %d}' % offered, "as_of_ms": as_of}
    r.update(kw)
    return r


def _head() -> str:
    """The migrations' single head (two heads would be an unmerged pair of branches)."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from stream.history.store import MIGRATIONS

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    heads = ScriptDirectory.from_config(cfg).get_heads()
    assert len(heads) == 1, f"migrations have {len(heads)} heads: {heads}"
    return heads[0]


def test_migrations_create_the_schema_once(db_url):
    s = Store.open(db_url)
    Store.open(db_url).close()  # a second open finds it migrated
    with s.engine.connect() as c:
        assert c.execute(sa.text("select version_num from alembic_version")).scalar() == _head()
    names = set(sa.inspect(s.engine).get_table_names())
    assert {"queue_intervals", "agent_days", "agent_state_days", "alert_changes", "daily_reports_sent",
            "agent_queue_intervals", "agent_state_intervals", "queue_hours"} <= names
    s.close()


def test_upserts_are_idempotent_and_never_go_back_along_the_log(db_url):
    s = Store.open(db_url)
    s.upsert(Batch(queue=[_row(0, 3, as_of=100), _row(900_000, 1, as_of=100)]))
    s.upsert(Batch(queue=[_row(0, 3, as_of=100), _row(900_000, 1, as_of=100)]))  # redelivered
    assert [r["offered"] for r in s.all_rows("queue_intervals")] == [3, 1]
    # A stale writer (older watermark) cannot undo a newer row; a newer one replaces it.
    s.upsert(Batch(queue=[_row(0, 2, as_of=50)]))
    assert s.all_rows("queue_intervals")[0]["offered"] == 3
    s.upsert(Batch(queue=[_row(0, 5, as_of=200), _row(0, 6, as_of=200)]))  # the last of one key wins
    assert s.all_rows("queue_intervals")[0]["offered"] == 6
    assert len(s.queue_rows("s1", "q", 0, 900_000)) == 1 and len(s.queue_rows("s1", None, 0, 10**7)) == 2
    ch = {"dedup_key": "a@1#raised", "alert_id": "a@1", "change": "raised", "state": "raised", "at_ms": 5, "site": "s1",
          "queue": "q", "rule": "longest_wait", "severity": "major", "value": 700.0, "threshold": 600.0,
          "message_en": "long wait", "message_zh": "等待过长", "agent": None, "acked_by": None}
    s.upsert(Batch(alerts=[ch, dict(ch)]))
    s.upsert(Batch(alerts=[ch]))
    assert [r["message_zh"] for r in s.alert_rows("s1", 0, 10)] == ["等待过长"]
    s.close()


def test_hours_are_written_with_their_intervals_and_migrated_from_old_ones(db_url):
    from alembic import command
    from alembic.config import Config

    from stream.history.store import MIGRATIONS

    s = Store.open(db_url)
    s.upsert(Batch(queue=[_row(0, 3, as_of=100), _row(3_600_000, 2, as_of=120)]))
    # Writing one interval of an hour recomputes the hour from every interval stored.
    s.upsert(Batch(queue=[_row(900_000, 1, as_of=100, max_wait_ms=7000)]))
    hours = s.all_rows("queue_hours")
    assert [(h["start_ms"], h["offered"], h["max_wait_ms"], h["as_of_ms"]) for h in hours] == [
        (0, 4, 7000, 100), (3_600_000, 2, 1000, 120)]
    s.upsert(Batch(queue=[_row(0, 5, as_of=150)]))
    assert s.all_rows("queue_hours")[0]["offered"] == 6
    s.upsert(Batch(queue=[_row(0, 3, as_of=100)]))
    hours = s.all_rows("queue_hours")
    # A database with intervals from before the hourly table: the migration adds them up.
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with s.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0004_agent_intervals")
    assert "queue_hours" not in sa.inspect(s.engine).get_table_names()
    s.migrate()
    assert s.all_rows("queue_hours") == hours
    # +05:30: local hours start at :30 UTC.
    s.upsert(Batch(queue=[_row(1_800_000, 5, as_of=130, site="s2", utc_offset_min=330)]))
    s.rebuild_hours()
    assert [(h["site"], h["start_ms"]) for h in s.all_rows("queue_hours")] == [("s1", 0), ("s1", 3_600_000), ("s2", 1_800_000)]
    s.close()


def test_an_hour_knows_the_abandoned_waits_only_when_each_of_its_intervals_does(db_url):
    # Rows written before migration 0003 have the abandoned waits unknown (NULL): an hour holding one
    # of them is unknown too (planning then gives that day no patience), not the sum of the rest.
    s = Store.open(db_url)
    s.upsert(Batch(queue=[_row(0, 3, as_of=100, abandon_wait_sum_ms=4000), _row(900_000, 2, as_of=100, abandon_wait_sum_ms=500),
                          _row(3_600_000, 1, as_of=100, abandon_wait_sum_ms=700),
                          _row(4_500_000, 1, as_of=100, abandon_wait_sum_ms=None)]))
    assert [(h["start_ms"], h["abandon_wait_sum_ms"]) for h in s.all_rows("queue_hours")] == [(0, 4500), (3_600_000, None)]
    s.close()


def test_bad_urls_and_unreachable_databases_say_so_in_one_line(tmp_path):
    with pytest.raises(StoreError, match="cannot connect") as e:
        Store.open("postgresql://fw:s3cret@127.0.0.1:1/none", connect_timeout_s=2)
    assert "s3cret" not in str(e.value) and "\n" not in str(e.value)
    with pytest.raises(StoreError, match="not supported|history database"):
        Store.open("mysql://x@127.0.0.1/db")
    assert engine_url("postgres://u@h/d") == "postgresql+psycopg://u@h/d"
    assert engine_url(str(tmp_path / "h.db")).startswith("sqlite:////")
    assert "s3cret" not in redacted("postgresql://fw:s3cret@h/d")


@pytest.mark.parametrize("url, why", [("mysql://x@h/d", "mysql is not supported"),
                                      ("postgresql://x:pw@h:notaport/d", "not a usable URL"),
                                      ("oracle+nothing://h/d", "not")])
def test_urls_that_can_never_work_are_refused_at_start(url, why):
    with pytest.raises(StoreError, match=why) as e:
        check_url(url)
    assert "pw@" not in str(e.value)


def test_urls_of_a_database_that_is_down_are_accepted_at_start(tmp_path):
    check_url("postgresql://fw@127.0.0.1:1/history")
    check_url(str(tmp_path / "h.db"))
