"""A vault made at every earlier schema version upgrades, keeps its records, and is backed up."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from app import session
from app.model import Counterparty, Subject
from app.paths import backup_dir, vault_path
from db import migrations
from db.vault import Vault, VaultError
from tests.conftest import PASSPHRASE, make_share
from tests.legacy_vault import strip_to, v1_correct, v1_followup_change, v1_record


def make_vault_at(version: int, home: Path) -> str:
    """Build a vault at ``version`` as that version's Sharelog left it: a share with its
    open follow-up, and a second record corrected once with its follow-up done, all as
    v1 events; before schema 6 the projection's times are the device's local time.

    The events are written (and signed) through today's code, then the later steps'
    tables and columns are taken away (``tests.legacy_vault.strip_to``).
    """
    svc = session.create_vault("Sam Worker", PASSPHRASE, base=home)
    rid = v1_record(svc, make_share())
    other = v1_record(svc, make_share(
        subjects=[Subject(name="Bilal Other", kind="child", case_ref="C900")],
        counterparty=Counterparty(name="K. Osei", role="Teacher",
                                  organisation="Hillview Primary School")))
    v1_correct(svc, other, make_share(
        subjects=[Subject(name="Bilal Other", kind="child", case_ref="C901")],
        counterparty=Counterparty(name="K. Osei", role="Teacher",
                                  organisation="Hillview Primary School")), "case number")
    fid = svc.get_decision(other).followups[0].followup_id
    v1_followup_change(svc, fid, "followup.done", {"outcome": "Confirmed by phone."})
    strip_to(svc.vault.conn, version)
    svc.lock()
    return rid


@pytest.fixture
def away_from_utc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A laptop in New York: its local time is not UTC (nor is it at the store)."""
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.mark.parametrize("version", range(1, migrations.LATEST_VERSION))
def test_upgrade_from_every_earlier_version(version: int, home: Path,
                                            away_from_utc: None) -> None:
    rid = make_vault_at(version, home)
    svc = session.unlock(PASSPHRASE, base=home)
    conn = svc.vault.conn
    assert conn.execute("PRAGMA user_version").fetchone()[0] == migrations.LATEST_VERSION
    assert svc.get_decision(rid).record.reasons == make_share().reasons
    # Step 6: the old events still verify, and what the screens show is exactly what
    # their events give now (UTC times, each follow-up's heads): nothing to rebuild.
    assert svc.verify_integrity(every_signature=True).ok
    assert svc.rebuild_projection().repaired == []
    assert {r[0] for r in conn.execute("SELECT schema_version FROM events")} == {1}
    created = conn.execute("SELECT created_at FROM decisions WHERE record_id = ?",
                           (rid,)).fetchone()[0]
    assert created.endswith("+00:00")
    done = [f for f in svc.my_followups(include_closed=True) if f.state == "done"]
    assert len(done) == 1 and len(done[0].heads) == 1
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
    # New changes are v2 events and continue the old chain.
    fu = svc.my_followups()[0]
    svc.complete_followup(fu.followup_id, "Acted on it.", parents=fu.heads)
    assert conn.execute("SELECT schema_version FROM events ORDER BY device_seq DESC "
                        "LIMIT 1").fetchone()[0] == 2
    assert svc.verify_integrity(every_signature=True).ok
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
