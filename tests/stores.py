"""The PostgreSQL cluster every store test shares: started once per session from the
installed server binaries (never a system cluster), with a migrated template database
each test's database is copied from. Registered for the whole tree in tests/conftest.py,
so tests/server, tests/sync and the window tests share one cluster."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from typing import Any

import pytest


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[Any]:
    from server.pgcluster import Cluster, ClusterUnavailable

    try:
        cluster = Cluster().start()
    except ClusterUnavailable as exc:  # loudly: a missing PostgreSQL is a failure, not a skip
        pytest.fail(f"The tests need a PostgreSQL cluster and none could start: {exc}",
                    pytrace=False)
    yield cluster
    cluster.stop()


@pytest.fixture(scope="session")
def pg_template(pg_cluster: Any) -> str:
    """A migrated database that each test's database is copied from (fast, no migration)."""
    from server.database import make_engine, migrate

    url = pg_cluster.create_database("sharelog_template")
    engine = make_engine(url)
    migrate(engine)
    engine.dispose()
    return "sharelog_template"


def new_pg_database(cluster: Any, template: str) -> str:
    return str(cluster.create_database(f"store_{uuid.uuid4().hex[:12]}", template=template))


@contextlib.contextmanager
def quick_password_hashes() -> Iterator[None]:
    """Argon2id at its lowest cost for the accounts a test seeds (as Django advises fast
    hashers in test settings). A hash carries its own parameters, so the store process
    verifies these as fast at every sign-in: about 1 ms instead of 160 ms each. Tests of
    what the cost itself protects (parallel guesses) seed without it."""
    from argon2 import PasswordHasher

    from server import accounts

    saved = accounts._hasher
    accounts._hasher = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    try:
        yield
    finally:
        accounts._hasher = saved
