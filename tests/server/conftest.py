"""The store under test: a real PostgreSQL cluster (started once per session from the
installed binaries: tests/stores.py), SQLite files, and real ``python -m server`` processes
on loopback."""

from __future__ import annotations

import contextlib
import itertools
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from app.events import DeviceKey
from app.sync.transport import StoreClient
from server import accounts
from server.database import make_engine, migrate, writing
from server.pgcluster import Cluster
from server.process import StoreProcess
from tests.stores import new_pg_database, quick_password_hashes

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "a long enough password"
_names = itertools.count(1)


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, migrated store database of each kind."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'store.sqlite3'}"
        engine = make_engine(url)
        migrate(engine)
        engine.dispose()
        return url
    cluster = request.getfixturevalue("pg_cluster")
    return new_pg_database(cluster, request.getfixturevalue("pg_template"))


@pytest.fixture
def pg_url(pg_cluster: Cluster, pg_template: str) -> str:
    return new_pg_database(pg_cluster, pg_template)


@pytest.fixture
def start_store(tmp_path: Path) -> Iterator[object]:
    started: list[StoreProcess] = []

    def start(url: str) -> StoreProcess:
        home = tmp_path / f"home-{len(started)}"
        home.mkdir()
        proc = StoreProcess(url, home)
        started.append(proc)
        return proc

    yield start
    for proc in started:
        proc.stop()


@dataclass
class Org:
    """Two teams: A (practitioners pat and paula, manager mo, admin ada), B (practitioner
    quinn). Names are unique per call, so many orgs share one store."""

    url: str
    prefix: str
    team_a: str = ""
    team_b: str = ""
    users: dict[str, str] = field(default_factory=dict)  # short name -> user id

    def login(self, name: str) -> str:
        return f"{self.prefix}-{name}"


def seed(url: str, *, quick_hashes: bool = True) -> Org:
    org = Org(url, f"o{uuid.uuid4().hex[:10]}")
    engine = make_engine(url)
    with (quick_password_hashes() if quick_hashes else contextlib.nullcontext(),
          writing(engine) as conn):
        accounts.create_organisation(conn, f"Council {org.prefix}")
        org.team_a = accounts.create_team(conn, f"Council {org.prefix}", "Team A")
        org.team_b = accounts.create_team(conn, f"Council {org.prefix}", "Team B")
        for name, team, role in (("pat", org.team_a, "practitioner"),
                                 ("paula", org.team_a, "practitioner"),
                                 ("mo", org.team_a, "manager"),
                                 ("quinn", org.team_b, "practitioner"),
                                 ("ada", org.team_a, "admin")):
            org.users[name] = accounts.create_user(conn, team, org.login(name), name.title(),
                                                   role, PASSWORD)
    engine.dispose()
    return org


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
          ) -> Iterator[StoreProcess]:
    """One store process per module and backend; tests seed their own organisations."""
    home = tmp_path_factory.mktemp("store-home")
    if request.param == "sqlite":
        url = f"sqlite:///{home / 'store.sqlite3'}"
        engine = make_engine(url)
        migrate(engine)
        engine.dispose()
    else:
        cluster = request.getfixturevalue("pg_cluster")
        url = new_pg_database(cluster, request.getfixturevalue("pg_template"))
    proc = StoreProcess(url, home)
    yield proc
    proc.stop()


def snapshot(url: str) -> dict[str, object]:
    """Everything a refused request must leave as it was."""
    from sqlalchemy import func, select

    from server import schema

    engine = make_engine(url)
    with engine.connect() as conn:
        counts = {t: conn.execute(select(func.count()).select_from(schema.metadata.tables[t]))
                  .scalar_one() for t in ("events", "refused_events", "records", "followups",
                                          "grants", "bindings", "team_cursor")}
        counts["tips"] = sorted(tuple(r) for r in conn.execute(select(
            schema.devices.c.device_id, schema.devices.c.tip_seq, schema.devices.c.revoked_at)))
        counts["cursors"] = sorted(tuple(r) for r in conn.execute(select(
            schema.team_cursor.c.team_id, schema.team_cursor.c.last_seq)))
    engine.dispose()
    return counts


@dataclass
class Device:
    client: StoreClient
    key: DeviceKey
    device_id: str
    user_id: str
    team_id: str


def enrol(base_url: str, username: str, *, key: DeviceKey | None = None,
          device_id: str | None = None, local_user_id: str | None = None,
          local_team_id: str | None = None) -> Device:
    import uuid

    key = key or DeviceKey.generate()
    device_id = device_id or str(uuid.uuid4())
    client = StoreClient(base_url)
    result = client.enrol(username=username, password=PASSWORD, device_id=device_id,
                          public_key=key.public_bytes, device_label="test laptop",
                          local_user_id=local_user_id, local_team_id=local_team_id)
    return Device(client, key, device_id, result.user_id, result.team_id)


@pytest.fixture(scope="module")
def org(store: StoreProcess) -> Org:
    """One seeded organisation per module's store; tests use fresh devices and records."""
    return seed(store.url)
