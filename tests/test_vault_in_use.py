"""One process per vault, and a save waits for another writer instead of failing."""

from __future__ import annotations

import signal
import threading
import time
from pathlib import Path

from app import session
from app.paths import vault_path
from db.vault import open_connection_with_key
from tests.conftest import PASSPHRASE, make_share
from tests.vault_support import run_child, seed

CHILD_UNLOCK = f"""
from app import session
try:
    session.unlock({PASSPHRASE!r}).lock()
    print("opened")
except Exception as exc:
    print(type(exc).__name__, exc)
"""


def test_a_second_process_gets_a_clear_error_and_the_first_keeps_working(home: Path) -> None:
    seed(home, 3)
    svc = session.unlock(PASSPHRASE, base=home)
    child = run_child(CHILD_UNLOCK, home)
    out, err = child.communicate(timeout=60)
    assert out.strip() == (
        "VaultInUse This vault is already open in another Sharelog window or program. "
        "Switch to that window, or close it there and try again."), err
    assert session.failed_unlocks(home) == 0  # not a wrong passphrase
    svc.record_decision(make_share())  # no second writer ever got in
    svc.lock()
    child = run_child(CHILD_UNLOCK, home)  # once it is locked, the other process may open it
    assert child.communicate(timeout=60)[0].strip() == "opened"


def test_a_claim_dies_with_its_process(home: Path) -> None:
    seed(home, 1)
    child = run_child(f"""
        import time
        from app import session
        svc = session.unlock({PASSPHRASE!r})
        print("open", flush=True)
        time.sleep(120)
        """, home)
    assert child.stdout is not None and child.stdout.readline().strip() == "open"
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=30)
    session.unlock(PASSPHRASE, base=home).lock()  # no stale lock after a crash


def test_a_save_waits_for_a_long_write_elsewhere_and_then_saves(home: Path) -> None:
    """A real second connection holds the write lock for longer than the 5 s SQLite busy
    timeout Sharelog had; the save waits (bounded) and lands when the other commits."""
    seed(home, 1)
    svc = session.unlock(PASSPHRASE, base=home)
    other = open_connection_with_key(vault_path(home), svc.vault.key)
    other.execute("BEGIN IMMEDIATE")
    other.execute("INSERT INTO meta (key, value) VALUES ('import', 'running')")
    hold_s = 6.0
    started = time.monotonic()
    releaser = threading.Timer(hold_s, lambda: other.execute("COMMIT"))
    releaser.start()
    try:
        rid = svc.record_decision(make_share(reasons="saved after the import"))
        waited = time.monotonic() - started
    finally:
        releaser.join()
        other.close()
    assert waited >= hold_s - 0.5
    assert svc.get_decision(rid).record.reasons == "saved after the import"
    svc.lock()
