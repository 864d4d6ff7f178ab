"""Fixtures of the history tests: a real PostgreSQL cluster (per session) and SQLite files."""

from __future__ import annotations

import itertools

import pytest

from tests.pg_server import PgCluster, pg_bin

_n = itertools.count()


@pytest.fixture(scope="session")
def pg_cluster():
    if pg_bin() is None:
        pytest.skip("PostgreSQL binaries not installed (apt-get install postgresql; .ci/run does it as root)")
    c = PgCluster()
    yield c
    c.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    """An empty history database of each kind."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'history.db'}"
    cluster = request.getfixturevalue("pg_cluster")
    return cluster.new_database(f"t{next(_n)}")
