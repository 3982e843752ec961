"""Sync tests run against real store processes: ``store`` (one per module and backend,
SQLite and PostgreSQL) and ``org`` as in tests/server; ``sqlite_store`` where one backend
says all a test needs to say (the proxy's faults are the network's, not the database's)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from server.database import make_engine, migrate
from server.process import StoreProcess
from tests.server.conftest import org, store  # noqa: F401 - the same fixtures as tests/server


@pytest.fixture(scope="module")
def sqlite_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StoreProcess]:
    home = tmp_path_factory.mktemp("sqlite-store")
    url = f"sqlite:///{home / 'store.sqlite3'}"
    engine = make_engine(url)
    migrate(engine)
    engine.dispose()
    proc = StoreProcess(url, home)
    yield proc
    proc.stop()
