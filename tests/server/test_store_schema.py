"""Every table that grows with use is keyed by team (what distributing by team needs), in
the SQLAlchemy metadata, in the live PostgreSQL catalog, and the migrations build exactly
the metadata."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import PrimaryKeyConstraint, UniqueConstraint, create_engine, text

from server.schema import DIRECTORY_TABLES, metadata


def test_metadata_keys_every_growing_table_by_team() -> None:
    growing = [t for name, t in metadata.tables.items() if name not in DIRECTORY_TABLES]
    assert {t.name for t in growing} >= {"events", "devices", "team_cursor", "audit_log"}
    for table in growing:
        keys = [c for c in table.constraints
                if isinstance(c, PrimaryKeyConstraint | UniqueConstraint)]
        assert keys, table.name
        for key in keys:
            assert [c.name for c in key.columns][0] == "team_id", (table.name, key.name)
        for index in table.indexes:
            assert [c.name for c in index.columns][0] == "team_id", (table.name, index.name)
        assert not any(c.unique for c in table.columns), table.name


def test_the_live_postgresql_catalog_keys_them_by_team(pg_url: str) -> None:
    engine = create_engine(pg_url)
    with engine.connect() as conn:
        rows = conn.execute(text("""
            SELECT c.conrelid::regclass::text, c.conname, c.contype,
                   (SELECT array_agg(a.attname ORDER BY k.ord)
                      FROM unnest(c.conkey) WITH ORDINALITY k(attnum, ord)
                      JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum)
              FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace
             WHERE n.nspname = 'public' AND c.contype IN ('p', 'u')""")).all()
        unique_indexes = conn.execute(text("""
            SELECT tablename, indexname, indexdef FROM pg_indexes
             WHERE schemaname = 'public' AND indexdef LIKE 'CREATE UNIQUE%'""")).all()
    engine.dispose()
    tables = {r[0] for r in rows} - {"alembic_version"}
    assert tables == set(metadata.tables)
    for table, name, _kind, columns in rows:
        if table in DIRECTORY_TABLES or table == "alembic_version":
            continue
        assert columns[0] == "team_id", (table, name, columns)
    for table, name, definition in unique_indexes:
        if table not in DIRECTORY_TABLES and table != "alembic_version":
            assert "(team_id" in definition, (table, name)


def test_migrations_build_exactly_the_metadata(pg_url: str, tmp_path) -> None:
    from server.database import make_engine, migrate

    sqlite_url = f"sqlite:///{tmp_path / 'store.sqlite3'}"
    engine = make_engine(sqlite_url)
    migrate(engine)
    for url in (pg_url, sqlite_url):
        engine = create_engine(url)
        with engine.connect() as conn:
            assert compare_metadata(MigrationContext.configure(conn), metadata) == [], url
        engine.dispose()
