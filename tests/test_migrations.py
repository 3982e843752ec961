"""A vault made at every earlier schema version upgrades, keeps its records, and is backed up."""

from __future__ import annotations

from pathlib import Path

import pytest

from app import session
from app.paths import backup_dir, vault_path
from db import migrations
from db.vault import Vault, VaultError
from tests.conftest import PASSPHRASE, make_share


def make_vault_at(version: int, home: Path) -> str:
    """Build a vault at ``version`` with one record saved through the services.

    The services write through the current code, so we save first on a vault at
    the latest version and then strip the later steps' tables: what remains is
    exactly the older layout with real, signed events in it.
    """
    svc = session.create_vault("Sam Worker", PASSPHRASE, base=home)
    rid = svc.record_decision(make_share())
    conn = svc.vault.conn
    if version < 5:
        for column in ("subjects_text", "case_refs", "counterparty_text"):
            conn.execute(f"ALTER TABLE followups DROP COLUMN {column}")
    if version < 4:
        conn.execute("CREATE VIRTUAL TABLE old_fts USING fts5 (record_id UNINDEXED, subjects, "
                     "counterparties, information, reasons, "
                     "tokenize = 'unicode61 remove_diacritics 2', prefix = '2 3')")
        conn.execute("INSERT INTO old_fts (rowid, record_id, subjects, counterparties, "
                     "information, reasons) SELECT rowid, record_id, subjects, counterparties, "
                     "information, reasons FROM decisions_fts")
        conn.execute("DROP TABLE decisions_fts")
        conn.execute("ALTER TABLE old_fts RENAME TO decisions_fts")
    if version < 3:
        conn.execute("DROP INDEX events_hlc")
        conn.execute("DROP INDEX decisions_order")
        conn.execute("CREATE INDEX decisions_decided ON decisions (decided_at)")
    if version < 2:
        conn.execute("DROP TABLE contacts")
        conn.execute("DROP TABLE drafts")
    conn.execute(f"PRAGMA user_version = {version}")
    svc.lock()
    return rid


@pytest.mark.parametrize("version", range(1, migrations.LATEST_VERSION))
def test_upgrade_from_every_earlier_version(version: int, home: Path) -> None:
    rid = make_vault_at(version, home)
    svc = session.unlock(PASSPHRASE, base=home)
    conn = svc.vault.conn
    assert conn.execute("PRAGMA user_version").fetchone()[0] == migrations.LATEST_VERSION
    assert svc.get_decision(rid).record.reasons == make_share().reasons
    assert svc.verify_integrity().ok
    # Step 5 copied whom each follow-up is about onto it.
    assert [(f.subjects, f.counterparty) for f in svc.my_followups()] == [
        ("Alice Example", "Dr R. Mensah, GP, Riverside Medical Centre")]
    # Step 4 rebuilt the search index with longer prefixes; records are still found.
    fts_sql = conn.execute(
        "SELECT sql FROM sqlite_master WHERE name = 'decisions_fts'").fetchone()[0]
    assert "'2 3 4 5'" in fts_sql
    assert [s.record_id for s in svc.search("alic")] == [rid]
    assert [s.record_id for s in svc.search("riverside medical")] == [rid]
    # Step 2 learns the address book from records saved before it existed.
    assert svc.suggest_contacts("Dr R")[0]["organisation"] == "Riverside Medical Centre"
    # The vault was backed up, encrypted, before the migration ran.
    backups = list(backup_dir(home).glob("*.backup"))
    assert len(backups) == 1
    assert not backups[0].read_bytes().startswith(b"SQLite format 3")
    assert (backups[0].stat().st_mode & 0o777) == 0o600
    svc.lock()
    old = Vault.open(backups[0], PASSPHRASE, migrate=False)
    assert old.conn.execute("PRAGMA user_version").fetchone()[0] == version
    old.lock()


def test_a_failing_step_rolls_back_and_leaves_the_old_version(
        home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    make_vault_at(1, home)
    monkeypatch.setattr(migrations, "STEPS", [migrations.STEP_1, "CREATE TABLE broken (;"])
    with pytest.raises(Exception):  # noqa: B017 - any SQL error
        session.unlock(PASSPHRASE, base=home)
    monkeypatch.undo()
    v = Vault.open(vault_path(home), PASSPHRASE, migrate=False)
    assert v.conn.execute("SELECT count(*) FROM sqlite_master WHERE name = 'contacts'"
                          ).fetchone()[0] == 0
    assert v.conn.execute("PRAGMA user_version").fetchone()[0] == 1
    v.lock()


def test_a_vault_from_a_newer_sharelog_is_refused_unchanged(home: Path) -> None:
    svc = session.create_vault("Sam", PASSPHRASE, base=home)
    svc.vault.conn.execute(f"PRAGMA user_version = {migrations.LATEST_VERSION + 1}")
    svc.lock()
    with pytest.raises(VaultError, match="newer version"):
        session.unlock(PASSPHRASE, base=home)
