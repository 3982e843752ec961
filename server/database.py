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
from sqlalchemy.exc import IntegrityError
from sqlalchemy.pool import NullPool
from sqlalchemy.sql.expression import Executable

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


def make_engine(url: str | None = None, *, pool_size: int = 10,
                max_overflow: int | None = None) -> Engine:
    """``hide_parameters``: a database error's text (logged with its traceback) never
    carries the statement's values, which include payloads. On PostgreSQL,
    ``SHARELOG_DATABASE_POOL`` and ``SHARELOG_DATABASE_OVERFLOW`` override the pool's
    size and overflow (docs/deployment.md)."""
    target = url or database_url()
    if target.startswith("sqlite"):
        engine = create_engine(target, poolclass=NullPool, hide_parameters=True,
                               connect_args={"timeout": 30, "check_same_thread": False})
        _sqlite_transactions(engine)
        return engine
    # Server-side prepared statements only where a ``Batch`` asks for them (key lookups and
    # inserts, whose one plan suits every call: PostgreSQL then keeps that generic plan
    # rather than planning each call, which for a push's union of reads cost more than
    # running it). Never automatically: after five runs psycopg would prepare each query,
    # and a generic plan ignores which team and which range a pull asks for (measured:
    # pulls three times slower), so range reads stay planned per call.
    # (psycopg's threshold None would refuse even those asked for: a threshold no query
    # reaches on a connection recycled every 30 minutes stands for "never".)
    # No ping before each use (a round trip per request): connections are recycled after
    # 30 minutes instead, and a dropped one fails one request, which the client retries.
    pool_size = int(os.environ.get("SHARELOG_DATABASE_POOL", pool_size))
    overflow = int(os.environ.get("SHARELOG_DATABASE_OVERFLOW",
                                  pool_size * 2 if max_overflow is None else max_overflow))
    return create_engine(target, pool_size=pool_size, max_overflow=overflow,
                         pool_recycle=1800, hide_parameters=True,
                         connect_args={"prepare_threshold": _prepare_threshold(),
                                       "options": "-c plan_cache_mode=force_generic_plan"})


def _prepare_threshold() -> int | None:
    """``SHARELOG_DATABASE_PREPARED=off``: no server-side prepared statements at all (for a
    connection pooler that cannot keep them, e.g. PgBouncer before 1.21 in transaction
    mode)."""
    if os.environ.get("SHARELOG_DATABASE_PREPARED", "").strip().lower() in ("off", "0", "no"):
        return None
    return 2**62


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


class Rows:
    """The rows one statement of a ``Batch`` answered, filled in once the batch has run."""

    def __init__(self) -> None:
        self.rows: list[Any] = []

    def first(self) -> Any:
        return self.rows[0] if self.rows else None


class Batch:
    """Statements sent together, in order, in the caller's transaction. On PostgreSQL they
    go in one round trip (psycopg's pipeline mode), the COMMIT too when ``run(commit=True)``
    (then nothing else may run in that transaction; ``writing`` finds it committed);
    elsewhere they run one after another and ``writing`` commits. A statement's rows are
    read only after ``run``, so no statement of a batch may need another's answer (put it
    in SQL instead).

    Each round trip to PostgreSQL costs a scheduling slice on a busy machine, and a push
    holds its team's counter lock from taking numbers to its commit: in one batch that is
    PostgreSQL's own time only. Statements are SQLAlchemy Core, compiled once per dialect
    and parameter set; ``prepare``: PostgreSQL keeps the statement parsed (only where one
    plan suits every call, not for range reads whose best plan depends on the range)."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.items: list[tuple[Executable, list[dict[str, Any]], bool, bool, Rows]] = []

    def add(self, statement: Executable, params: dict[str, Any] | None = None, *,
            prepare: bool = False) -> Rows:
        rows = Rows()
        self.items.append((statement, [params or {}], False, prepare, rows))
        return rows

    def add_many(self, statement: Executable, params: list[dict[str, Any]]) -> None:
        """One statement for many rows (psycopg prepares it: one plan, however many)."""
        if params:
            self.items.append((statement, params, True, True, Rows()))

    def run(self, *, commit: bool = False) -> None:
        items, self.items = self.items, []
        if self.conn.dialect.name != "postgresql":
            for statement, params, many, _prepare, rows in items:
                result = self.conn.execute(statement, params if many else params[0])
                if result.returns_rows:
                    rows.rows = list(result.all())
            return  # the caller's ``writing`` commits
        self._pipelined(items, commit)

    def _pipelined(self, items: list[tuple[Executable, list[dict[str, Any]], bool, bool,
                                           Rows]], commit: bool) -> None:
        import psycopg
        from psycopg.rows import namedtuple_row

        raw: Any = self.conn.connection.driver_connection
        cursors = []
        try:
            with raw.pipeline():
                for statement, params, many, prepare, rows in items:
                    compiled = _compiled(statement, self.conn, tuple(params[0]))
                    cursor = raw.cursor(row_factory=namedtuple_row)
                    if many:
                        cursor.executemany(compiled.string, [
                            compiled.construct_params(p) for p in params])
                    else:
                        state = compiled.construct_expanded_state(params[0])
                        cursor.execute(state.statement, state.parameters, prepare=prepare)
                    cursors.append((cursor, rows))
                if commit:
                    raw.commit()
        except psycopg.IntegrityError as exc:  # as SQLAlchemy raises it on other backends
            raise IntegrityError("a batch of statements", None, exc) from exc
        for cursor, rows in cursors:
            if cursor.description is not None:
                rows.rows = cursor.fetchall()
            cursor.close()


_COMPILED: dict[tuple[int, str, tuple[str, ...]], tuple[Any, Any]] = {}


def _compiled(statement: Any, conn: Connection, keys: tuple[str, ...]) -> Any:
    """Compiled once per statement, dialect and parameter names. Statements should be
    built once (module constants): the cache holds each one, so its id stays its own."""
    key = (id(statement), conn.dialect.name, keys)
    found = _COMPILED.get(key)
    if found is None:
        found = (statement, statement.compile(dialect=conn.dialect, column_keys=list(keys)))
        _COMPILED[key] = found
    return found[1]
