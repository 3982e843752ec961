"""The encrypted vault: create, unlock, wrong passphrase, damage, passphrase change, crashes."""

from __future__ import annotations

import hashlib
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from app import session
from app.paths import vault_path
from db.vault import (
    Vault,
    VaultCorrupted,
    VaultExists,
    VaultLocked,
    WeakPassphrase,
    WrongPassphrase,
    check_passphrase_strength,
)
from tests.conftest import PASSPHRASE, make_share

ROOT = Path(__file__).resolve().parents[1]
NEW_PASSPHRASE = "a different long passphrase"


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def run_child(code: str, home: Path, **kw: object) -> subprocess.Popen[str]:
    env = {**os.environ, "SHARELOG_HOME": str(home), "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw,
    )


def test_create_then_unlock_reads_back_records(home: Path) -> None:
    svc = session.create_vault("Sam Worker", PASSPHRASE, base=home)
    rid = svc.record_decision(make_share())
    svc.lock()
    again = session.unlock(PASSPHRASE, base=home)
    assert again.get_decision(rid).record.subjects[0].name == "Alice Example"
    assert again.identity.display_name == "Sam Worker"
    again.lock()


def test_vault_file_is_encrypted_and_owner_only(service: object, home: Path) -> None:
    path = vault_path(home)
    assert not path.read_bytes()[:16].startswith(b"SQLite format 3")
    assert (path.stat().st_mode & 0o777) == 0o600


def test_pragmas_are_durable_and_private(service: object) -> None:
    conn = service.vault.conn  # type: ignore[attr-defined]
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert conn.execute("PRAGMA secure_delete").fetchone()[0] == 1
    assert conn.execute("PRAGMA temp_store").fetchone()[0] == 2  # MEMORY


def test_weak_passphrase_is_refused_with_a_clear_message(home: Path) -> None:
    with pytest.raises(WeakPassphrase, match="at least 10 characters"):
        session.create_vault("Sam", "short", base=home)
    assert not vault_path(home).exists()
    assert check_passphrase_strength("aaaaaaaaaaaa")  # too few different characters
    assert check_passphrase_strength(PASSPHRASE) == []


def test_creating_over_an_existing_vault_is_refused(service: object, home: Path) -> None:
    before = digest(vault_path(home))
    with pytest.raises(VaultExists):
        session.create_vault("Someone", "another good passphrase", base=home)
    assert digest(vault_path(home)) == before


def test_wrong_passphrase_is_clear_leaves_file_untouched_and_stderr_quiet(home: Path) -> None:
    svc = session.create_vault("Sam", PASSPHRASE, base=home)
    svc.record_decision(make_share())
    svc.lock()
    path = vault_path(home)
    before = digest(path)
    child = run_child(
        """
        from app import session
        from db.vault import WrongPassphrase
        try:
            session.unlock("not the passphrase at all")
        except WrongPassphrase as exc:
            print(exc)
        """,
        home,
    )
    out, err = child.communicate(timeout=60)
    assert out.strip() == "That passphrase doesn't open this vault."
    assert err == ""  # SQLCipher's own log lines are kept off stderr
    assert digest(path) == before
    assert session.unlock(PASSPHRASE, base=home).decision_count() == 1


def test_wrong_passphrases_grow_the_delay_and_success_resets_it(home: Path) -> None:
    session.create_vault("Sam", PASSPHRASE, base=home).lock()
    now = [1_000_000.0]

    def clock() -> float:
        return now[0]

    delays = []
    for _ in range(6):
        now[0] += 60  # each attempt after the previous delay has passed
        with pytest.raises(WrongPassphrase):
            session.unlock("wrong wrong wrong", base=home, clock=clock)
        delays.append(session.wait_before_unlock(home, clock=clock))
    assert delays[:2] == [0, 0] and delays == sorted(delays) and delays[-1] > delays[2] > 0
    now[0] += 60
    session.unlock(PASSPHRASE, base=home, clock=clock).lock()
    assert session.failed_unlocks(home) == 0


def test_an_attempt_inside_the_delay_is_refused_without_trying_it(home: Path) -> None:
    """The delay is enforced by the session, not only by the unlock screen's countdown."""
    session.create_vault("Sam", PASSPHRASE, base=home).lock()
    now = [1_000_000.0]
    for _ in range(4):
        with pytest.raises(WrongPassphrase):
            session.unlock("wrong wrong wrong", base=home, clock=lambda: now[0])
        now[0] += 30
    # The 4th failure asks for 2 s. Even the right passphrase is not tried before then,
    # and the refused attempt does not count as another failure.
    now[0] -= 30
    now[0] += 1.5
    with pytest.raises(session.TooSoon) as refused:
        session.unlock(PASSPHRASE, base=home, clock=lambda: now[0])
    assert refused.value.seconds == pytest.approx(0.5)
    assert str(refused.value) == "Too many wrong passphrases. You can try again in 1 s."
    assert session.failed_unlocks(home) == 4
    # A clock set back does not shorten the wait.
    with pytest.raises(session.TooSoon) as back:
        session.unlock(PASSPHRASE, base=home, clock=lambda: now[0] - 3600)
    assert back.value.seconds == 2.0
    now[0] += 0.5
    session.unlock(PASSPHRASE, base=home, clock=lambda: now[0]).lock()
    assert session.failed_unlocks(home) == 0
    assert session.wait_before_unlock(home, clock=lambda: now[0]) == 0


def test_foreign_and_damaged_files_get_a_distinct_error(home: Path) -> None:
    path = vault_path(home)
    plain = sqlite3.connect(path)
    plain.execute("CREATE TABLE t (x)")
    plain.commit()
    plain.close()
    before = digest(path)
    with pytest.raises(VaultCorrupted):
        session.unlock(PASSPHRASE, base=home)
    assert digest(path) == before

    path.write_bytes(b"\x01\x02")
    with pytest.raises(VaultCorrupted):
        session.unlock(PASSPHRASE, base=home)


def test_a_damaged_page_is_reported_not_misread(home: Path) -> None:
    svc = session.create_vault("Sam", PASSPHRASE, base=home)
    for _ in range(20):
        svc.record_decision(make_share())
    svc.vault.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    svc.lock()
    path = vault_path(home)
    data = bytearray(path.read_bytes())
    data[4096 + 100] ^= 0xFF  # inside page 2: its HMAC no longer matches
    path.write_bytes(bytes(data))
    with pytest.raises((VaultCorrupted, WrongPassphrase)):
        v = session.unlock(PASSPHRASE, base=home)
        v.vault.conn.execute("SELECT count(*) FROM events").fetchall()
        v.vault.conn.execute("SELECT * FROM events").fetchall()


def test_lock_forgets_the_key_and_refuses_work(service: object) -> None:
    service.lock()  # type: ignore[attr-defined]
    with pytest.raises(VaultLocked):
        service.list_decisions()  # type: ignore[attr-defined]
    with pytest.raises(VaultLocked):
        _ = service.vault.key  # type: ignore[attr-defined]


def test_change_passphrase(home: Path) -> None:
    svc = session.create_vault("Sam", PASSPHRASE, base=home)
    rid = svc.record_decision(make_share())
    with pytest.raises(WrongPassphrase):
        svc.change_passphrase("not the old one", NEW_PASSPHRASE)
    with pytest.raises(WeakPassphrase):
        svc.change_passphrase(PASSPHRASE, "short")
    svc.change_passphrase(PASSPHRASE, NEW_PASSPHRASE)
    svc.record_decision(make_share())  # still usable, and WAL again
    assert svc.vault.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    svc.lock()
    with pytest.raises(WrongPassphrase):
        session.unlock(PASSPHRASE, base=home)
    again = session.unlock(NEW_PASSPHRASE, base=home)
    assert again.get_decision(rid).status == "active"
    assert again.decision_count() == 2
    assert again.verify_integrity().ok


REKEY_CHILD = """
from app import session
svc = session.unlock({old!r})
svc.change_passphrase({old!r}, {new!r}, progress=lambda stage: print(stage, flush=True))
"""


@pytest.mark.slow
def test_crash_during_passphrase_change_leaves_old_or_new_working(home: Path,
                                                                  tmp_path: Path) -> None:
    import shutil

    svc = session.create_vault("Sam", PASSPHRASE, base=home)
    from app import demo

    demo.seed(svc, 1500)
    expected = svc.decision_count()
    svc.lock()
    outcomes = set()
    # Kill the child at spread-out moments after the rekey starts (and once after it ends).
    for i, delay in enumerate((0.0, 0.005, 0.02, 0.05, 0.1, 0.2, 0.4, 5.0)):
        copy = tmp_path / f"copy{i}"
        shutil.copytree(home, copy)
        child = run_child(REKEY_CHILD.format(old=PASSPHRASE, new=NEW_PASSPHRASE), copy)
        assert child.stdout is not None
        while (line := child.stdout.readline().strip()) != "rekeying":
            assert line == "checking"
        if delay >= 5.0:
            assert child.stdout.readline().strip() == "rekeyed"
        else:
            time.sleep(delay)
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
        opened = None
        for name, phrase in (("old", PASSPHRASE), ("new", NEW_PASSPHRASE)):
            try:
                v = Vault.open(vault_path(copy), phrase)
            except WrongPassphrase:
                continue
            assert v.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            assert v.conn.execute("SELECT count(*) FROM decisions").fetchone()[0] == expected
            v.lock()
            opened = name
            break
        assert opened is not None, f"neither passphrase opens the vault (kill after {delay}s)"
        outcomes.add(opened)
    assert "old" in outcomes and "new" in outcomes


@pytest.mark.slow
def test_a_saved_record_survives_sigkill_right_after_save(home: Path) -> None:
    session.create_vault("Sam", PASSPHRASE, base=home).lock()
    child = run_child(
        f"""
        import sys, time
        from app import session
        from tests.conftest import make_share
        svc = session.unlock({PASSPHRASE!r})
        rid = svc.record_decision(make_share(reasons="durable marker reasons"))
        print(rid, flush=True)
        time.sleep(60)
        """,
        home,
    )
    assert child.stdout is not None
    rid = child.stdout.readline().strip()
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=30)
    assert rid
    svc = session.unlock(PASSPHRASE, base=home)
    detail = svc.get_decision(rid)
    assert detail.record.reasons == "durable marker reasons"
    assert len(detail.followups) == 1
    assert svc.pending_sync_count() == 2  # the decision and its follow-up, queued for sync
    assert svc.verify_integrity().ok


def test_no_record_content_outside_the_vault(home: Path) -> None:
    from app.logs import setup_logging
    from app.settings import Settings

    marker = "Zqxwvmarker Unique"
    setup_logging(home)
    Settings(idle_lock_minutes=7).save()
    svc = session.create_vault("Sam", PASSPHRASE, base=home)
    rid = svc.record_decision(make_share(
        information=f"{marker} information", reasons=f"{marker} reasons",
        subjects=[__import__("app.model", fromlist=["Subject"]).Subject(name=marker,
                                                                        kind="child")],
    ))
    svc.correct_decision(rid, make_share(reasons=f"{marker} corrected"), f"{marker} typo",
                         parents=svc.get_decision(rid).heads)
    svc.save_draft({"information": marker})
    assert svc.search("Zqxwvmarker")
    needles = [marker.encode(), marker.encode("utf-16-le"), b"Zqxwvmarker", b"zqxwvmarker"]

    def assert_clean(expect: set[str]) -> None:
        files = [p for p in home.rglob("*") if p.is_file()]
        names = {p.name for p in files}
        assert expect <= names
        for path in files:
            data = path.read_bytes()
            for needle in needles:
                assert needle not in data, f"record content found in {path.name}"
            assert marker.lower() not in path.name.lower()

    # While open: the WAL holds the latest pages, encrypted like the vault.
    assert_clean({"vault.sharelog", "vault.sharelog-wal", "settings.json", "sharelog.log"})
    svc.lock()
    assert_clean({"vault.sharelog", "settings.json", "sharelog.log"})
    assert not vault_path(home).read_bytes().startswith(b"SQLite format 3")
