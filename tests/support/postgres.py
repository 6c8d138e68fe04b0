"""A real PostgreSQL for the tests (bench/pgcluster.py, shared with the benchmarks): ``postgres`` is one cluster
for the whole run (session-scoped), ``pg_url`` a fresh database in it per test. Where PostgreSQL cannot be had
(not installed, no such user) the tests that need it skip and say why. A test that stops and starts PostgreSQL
makes a ``PgCluster`` of its own.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bench.pgcluster import PgCluster, PgUnavailable, free_port

__all__ = ["PgCluster", "PgUnavailable", "free_port", "pg_url", "postgres"]


@pytest.fixture(scope="session")
def postgres() -> Iterator[PgCluster]:
    """One PostgreSQL for the run, or a skip saying why there is none."""
    try:
        cluster = PgCluster()
    except PgUnavailable as exc:
        pytest.skip(str(exc))
    try:
        cluster.start()
    except PgUnavailable as exc:
        cluster.remove()
        pytest.skip(str(exc))
    yield cluster
    cluster.remove()


@pytest.fixture
def pg_url(postgres: PgCluster) -> str:
    """A fresh, empty database in the run's PostgreSQL."""
    return postgres.create_database()
