"""Where the store keeps its data, and the one way to open it: a SQLite file by default,
PostgreSQL when ``SHARELOG_DATABASE_URL`` says so. Migrations are Alembic's."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import platformdirs
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.pool import NullPool

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
STORE_DIRNAME = "store"
SQLITE_FILENAME = "store.sqlite3"


def data_root() -> Path:
    """The user data directory the client uses too: ``SHARELOG_HOME`` when set."""
    override = os.environ.get("SHARELOG_HOME")
    return Path(override) if override else Path(platformdirs.user_data_dir("Sharelog",
                                                                            "Sharelog"))


def data_dir() -> Path:
    return data_root() / STORE_DIRNAME


def database_url() -> str:
    """``SHARELOG_DATABASE_URL`` (``postgresql://…`` is taken as psycopg 3), else SQLite."""
    url = os.environ.get("SHARELOG_DATABASE_URL", "").strip()
    if url:
        for prefix in ("postgresql://", "postgres://"):
            if url.startswith(prefix):
                return "postgresql+psycopg://" + url[len(prefix):]
        return url
    folder = data_dir()
    folder.mkdir(parents=True, exist_ok=True)
    os.chmod(folder, 0o700)
    return f"sqlite:///{folder / SQLITE_FILENAME}"


def make_engine(url: str | None = None, *, pool_size: int = 10) -> Engine:
    """``hide_parameters``: a database error's text (logged with its traceback) never
    carries the statement's values, which include payloads."""
    target = url or database_url()
    if target.startswith("sqlite"):
        engine = create_engine(target, poolclass=NullPool, hide_parameters=True,
                               connect_args={"timeout": 30, "check_same_thread": False})
        _sqlite_transactions(engine)
        return engine
    # No server-side prepared statements: after five runs psycopg would prepare each query
    # and PostgreSQL may then keep a generic plan that ignores which team and which range a
    # pull asks for (measured: pulls three times slower).
    # No ping before each use (a round trip per request): connections are recycled after
    # 30 minutes instead, and a dropped one fails one request, which the client retries.
    return create_engine(target, pool_size=pool_size, max_overflow=pool_size * 2,
                         pool_recycle=1800, hide_parameters=True,
                         connect_args={"prepare_threshold": None})


def _sqlite_transactions(engine: Engine) -> None:
    """SQLite's own transactions, so a write takes the file's write lock when it begins
    (``BEGIN IMMEDIATE``): two pushes never interleave their checks and inserts."""

    @event.listens_for(engine, "connect")
    def connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def begin(conn: Connection) -> None:
        mode = "IMMEDIATE" if conn.get_execution_options().get("writes") else "DEFERRED"
        conn.exec_driver_sql(f"BEGIN {mode}")


@contextmanager
def writing(engine: Engine) -> Iterator[Connection]:
    """One write transaction (commits on success, rolls back on any exception)."""
    with engine.connect() as plain:
        conn = plain.execution_options(writes=True)
        with conn.begin():
            yield conn


@contextmanager
def reading(engine: Engine) -> Iterator[Connection]:
    with engine.connect() as conn, conn.begin():
        yield conn


def is_postgresql(engine: Engine) -> bool:
    return engine.dialect.name == "postgresql"


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest migration. Several processes may call it at once:
    on PostgreSQL an advisory lock lets one migrate while the others wait."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.connect() as conn:
        if is_postgresql(engine):
            conn.execute(text("SELECT pg_advisory_lock(704211)"))
            conn.commit()
        try:
            config.attributes["connection"] = conn
            command.upgrade(config, "head")
            conn.commit()
        finally:
            if is_postgresql(engine):
                conn.execute(text("SELECT pg_advisory_unlock(704211)"))
                conn.commit()
