"""Every failure a practitioner can meet opening or using the vault, on real files.

One case per fault: a folder where the vault should be, an unreadable file, a
foreign and a plain SQLite file, a vault from a newer Sharelog, damage in the first,
a middle and the last page, a file cut short, a damaged and a missing WAL, a 0-byte
vault beside a WAL that holds data, a full disk while opening, saving, creating and
changing the passphrase, the vault in use by another process, a save that waits too
long for another writer, and a wrong passphrase. Each must end in Sharelog's own
message with the action to take (or, for the WAL cases, open and work), never in a
raw DatabaseError/OSError text, never with record content in its text or repr().
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from app import session
from app.paths import vault_path
from db import vault_errors
from tests.conftest import PASSPHRASE, make_share
from tests.vault_support import (
    MARKER,
    PAGE,
    RAW_WORDS,
    SmallDisk,
    assert_safe,
    digest,
    flip,
    pages,
    run_child,
    seed,
    small_disk,
    use_everything,
)

__all__ = ["small_disk"]  # the fixture, used by name below

NOBODY = 65534


@dataclass
class Seen:
    """What reached the caller: the error's class name, text and repr (None: it worked)."""

    kind: str | None
    text: str = ""
    shown: str = ""


def what_happens(action: Callable[[], object]) -> tuple[Seen, BaseException | None]:
    try:
        result = action()
    except Exception as exc:  # noqa: BLE001 - whatever it is, it is judged below
        return Seen(type(exc).__name__, str(exc), repr(exc)), exc
    if isinstance(result, Seen):
        return result, None  # seen in a child process
    if hasattr(result, "lock"):
        result.lock()  # type: ignore[union-attr]
    return Seen(None), None


def unlock_and_use(base: Path) -> Callable[[], object]:
    def run() -> None:
        svc = session.unlock(PASSPHRASE, base=base)
        try:
            use_everything(svc)
        finally:
            svc.lock()
    return run


# -- the cases: each prepares real files and says what a person then does --------------
def folder(base: Path, disk: SmallDisk) -> Callable[[], object]:
    vault_path(base).mkdir()
    return lambda: session.unlock(PASSPHRASE, base=base)


def unreadable(base: Path, disk: SmallDisk) -> Callable[[], object]:
    """The vault belongs to another account. Root reads anything, so the attempt runs in
    a forked child that has dropped to nobody (the interpreter lives under /root, which
    nobody cannot read, so the child keeps the parent's loaded modules instead)."""
    outside = Path(tempfile.mkdtemp(prefix="sharelog-perm-", dir="/tmp"))
    os.chmod(outside, 0o755)
    home = outside / "home"
    home.mkdir()
    seed(home, 5)
    os.chown(home, NOBODY, NOBODY)  # the folder is the user's, the vault file is root's (0600)

    def run() -> Seen:
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: never returns into pytest
            code = 1
            try:
                os.close(read_end)
                os.setgroups([])
                os.setgid(NOBODY)
                os.setuid(NOBODY)
                try:
                    session.unlock(PASSPHRASE, base=home).lock()
                    answer = [None, "", ""]
                except Exception as exc:  # noqa: BLE001 - reported to the parent as seen
                    answer = [type(exc).__name__, str(exc), repr(exc)]
                os.write(write_end, json.dumps(answer).encode())
                code = 0
            finally:
                os._exit(code)
        os.close(write_end)
        with os.fdopen(read_end, "rb") as fh:
            data = fh.read()
        _pid, status = os.waitpid(pid, 0)
        shutil.rmtree(outside, ignore_errors=True)
        assert os.waitstatus_to_exitcode(status) == 0 and data, "the child did not report"
        kind, text, shown = json.loads(data)
        return Seen(kind, text, shown)
    return run


def foreign(base: Path, disk: SmallDisk) -> Callable[[], object]:
    vault_path(base).write_bytes(b"PK\x03\x04" + os.urandom(5000))  # a zip archive, say
    return lambda: session.unlock(PASSPHRASE, base=base)


def plain_sqlite(base: Path, disk: SmallDisk) -> Callable[[], object]:
    plain = sqlite3.connect(vault_path(base))
    plain.execute("CREATE TABLE notes (body TEXT)")
    plain.execute("INSERT INTO notes VALUES (?)", (MARKER,))
    plain.commit()
    plain.close()
    return lambda: session.unlock(PASSPHRASE, base=base)


def newer(base: Path, disk: SmallDisk) -> Callable[[], object]:
    from db import migrations

    seed(base, 5)
    svc = session.unlock(PASSPHRASE, base=base)
    svc.vault.conn.execute(f"PRAGMA user_version = {migrations.LATEST_VERSION + 1}")
    svc.lock()
    return lambda: session.unlock(PASSPHRASE, base=base)


def first_page(base: Path, disk: SmallDisk) -> Callable[[], object]:
    seed(base)
    flip(vault_path(base), 200)
    return lambda: session.unlock(PASSPHRASE, base=base)


def middle_page(base: Path, disk: SmallDisk) -> Callable[[], object]:
    seed(base)
    path = vault_path(base)
    flip(path, PAGE * (pages(path) // 2) + 300)
    return unlock_and_use(base)


def last_page(base: Path, disk: SmallDisk) -> Callable[[], object]:
    seed(base)
    path = vault_path(base)
    flip(path, PAGE * (pages(path) - 1) + 300)
    return unlock_and_use(base)


def cut_short(base: Path, disk: SmallDisk) -> Callable[[], object]:
    seed(base)
    path = vault_path(base)
    os.truncate(path, PAGE * (pages(path) // 2))
    return lambda: session.unlock(PASSPHRASE, base=base)


def _uncheckpointed(base: Path) -> Path:
    """Ten records committed to the WAL, never checkpointed: the files as a crash leaves them."""
    seed(base, 5)
    svc = session.unlock(PASSPHRASE, base=base)
    for _ in range(10):
        svc.record_decision(make_share(reasons=f"{MARKER} in the WAL"))
    copy = base.parent / "copy"
    copy.mkdir()
    for name in os.listdir(base):
        if name.startswith("vault.sharelog"):
            shutil.copy2(base / name, copy / name)
    if (base / "settings.json").exists():
        shutil.copy2(base / "settings.json", copy / "settings.json")
    svc.lock()
    shutil.rmtree(base)
    copy.rename(base)
    (base / "vault.sharelog-shm").unlink(missing_ok=True)
    return vault_path(base)


def damaged_wal(base: Path, disk: SmallDisk) -> Callable[[], object]:
    path = _uncheckpointed(base)
    wal = Path(f"{path}-wal")
    flip(wal, wal.stat().st_size // 2)
    return unlock_and_use(base)


def missing_wal(base: Path, disk: SmallDisk) -> Callable[[], object]:
    path = _uncheckpointed(base)
    Path(f"{path}-wal").unlink()
    return unlock_and_use(base)


def empty_beside_wal(base: Path, disk: SmallDisk) -> Callable[[], object]:
    path = _uncheckpointed(base)
    path.write_bytes(b"")
    return lambda: session.unlock(PASSPHRASE, base=base)


def full_disk_opening(base: Path, disk: SmallDisk) -> Callable[[], object]:
    seed(base)  # locked cleanly: opening must make the WAL and its index again
    disk.fill()
    return lambda: session.unlock(PASSPHRASE, base=base)


def full_disk_saving(base: Path, disk: SmallDisk) -> Callable[[], object]:
    seed(base, 5)
    svc = session.unlock(PASSPHRASE, base=base)
    disk.fill()

    def run() -> None:
        try:
            for _ in range(200):
                svc.record_decision(make_share(reasons=f"{MARKER} " + "y" * 4000))
        finally:
            svc.lock()
    return run


def full_disk_creating(base: Path, disk: SmallDisk) -> Callable[[], object]:
    disk.fill(leave=48 * 1024)
    return lambda: session.create_vault("Sam Worker", PASSPHRASE, base=base)


def full_disk_rekeying(base: Path, disk: SmallDisk) -> Callable[[], object]:
    seed(base)
    svc = session.unlock(PASSPHRASE, base=base)
    disk.fill(leave=16 * 1024)

    def run() -> None:
        try:
            svc.change_passphrase(PASSPHRASE, "lantern orchard copper 7 kites")
        finally:
            svc.lock()
    return run


def in_use(base: Path, disk: SmallDisk) -> Callable[[], object]:
    seed(base, 5)
    child = run_child(f"""
        import time
        from app import session
        svc = session.unlock({PASSPHRASE!r})
        print("open", flush=True)
        time.sleep(120)
        """, base)
    assert child.stdout is not None and child.stdout.readline().strip() == "open"

    def run() -> object:
        try:
            return session.unlock(PASSPHRASE, base=base)
        finally:
            child.send_signal(signal.SIGKILL)
            child.wait(timeout=30)
    return run


def busy(base: Path, disk: SmallDisk) -> Callable[[], object]:
    from db.vault import open_connection_with_key

    seed(base, 5)
    vault_errors.BUSY_TIMEOUT_MS = 300  # restored by the test; read when a connection opens
    svc = session.unlock(PASSPHRASE, base=base)
    other = open_connection_with_key(vault_path(base), svc.vault.key)
    other.execute("BEGIN IMMEDIATE")  # a long import elsewhere holds the write lock
    other.execute("INSERT INTO meta (key, value) VALUES ('import', 'running')")
    def run() -> None:
        try:
            svc.record_decision(make_share())
        finally:
            other.execute("ROLLBACK")
            other.close()
            svc.lock()
    return run


def wrong_passphrase(base: Path, disk: SmallDisk) -> Callable[[], object]:
    seed(base, 5)
    return lambda: session.unlock("not the passphrase at all", base=base)


@dataclass(frozen=True)
class Fault:
    make: Callable[[Path, SmallDisk], Callable[[], object]]
    kind: str | None  # the Sharelog error expected (None: it opens and works)
    words: tuple[str, ...] = ()  # what the message must say, the action among it
    counts_as_guess: bool = False


FAULTS = {
    "a folder where the vault should be": Fault(folder, "VaultNotAFile", ("folder", "Move")),
    "an unreadable file": Fault(unreadable, "VaultUnreadable", ("not allowed", "permissions")),
    "a foreign file": Fault(foreign, "NotAVault", ("not a Sharelog vault", "Restore")),
    "a plain SQLite file": Fault(plain_sqlite, "NotAVault", ("unencrypted", "set the file")),
    "a vault from a newer Sharelog": Fault(newer, "VaultTooNew", ("Update Sharelog",)),
    "damage in the first page": Fault(first_page, "VaultDamaged",
                                      ("passphrase is right", "page 1", "Restore")),
    "damage in a middle page": Fault(middle_page, "VaultDamaged", ("damaged", "Restore")),
    "damage in the last page": Fault(last_page, "VaultDamaged", ("damaged", "Restore")),
    "a file cut short": Fault(cut_short, "VaultDamaged", ("missing", "Restore")),
    "a damaged WAL": Fault(damaged_wal, None),
    "a missing WAL": Fault(missing_wal, None),
    "a 0-byte vault beside a WAL with data": Fault(empty_beside_wal, "VaultIncomplete",
                                                   ("still holds data", "set both files")),
    "a full disk when opening": Fault(full_disk_opening, "DiskFull",
                                      ("to open your vault", "Free some space")),
    "a full disk when saving": Fault(full_disk_saving, "DiskFull",
                                     ("not saved", "saved before is safe", "Free some space")),
    "a full disk when creating": Fault(full_disk_creating, "DiskFull",
                                       ("Nothing was created", "Free some space")),
    "a full disk when changing the passphrase": Fault(
        full_disk_rekeying, "DiskFull", ("current passphrase still opens it", "Free some")),
    "the vault in use by another process": Fault(in_use, "VaultInUse",
                                                 ("already open", "Switch to that window")),
    "a save waiting too long for another writer": Fault(busy, "VaultBusy",
                                                        ("busy", "try again in a moment")),
    "a wrong passphrase": Fault(wrong_passphrase, "WrongPassphrase", ("doesn't open",),
                                counts_as_guess=True),
}


@pytest.mark.parametrize("name", list(FAULTS))
def test_every_failure_has_sharelog_words_and_an_action(
        name: str, small_disk: SmallDisk, monkeypatch: pytest.MonkeyPatch) -> None:
    fault = FAULTS[name]
    monkeypatch.setattr(vault_errors, "BUSY_TIMEOUT_MS", vault_errors.BUSY_TIMEOUT_MS)
    base = small_disk.path / "home"
    base.mkdir()
    monkeypatch.setenv("SHARELOG_HOME", str(base))
    action = fault.make(base, small_disk)
    before = {p.name: digest(p) for p in base.glob("vault.sharelog*")
              if p.is_file() and not p.name.endswith((".lock", "-shm"))}
    seen, exc = what_happens(action)
    if fault.kind is None:
        assert seen.kind is None, f"{name}: {seen.kind}: {seen.text}"
        return
    assert seen.kind == fault.kind, f"{name}: {seen.kind}: {seen.text}"
    if exc is not None:
        assert_safe(exc)
    for text in (seen.text, seen.shown):
        assert MARKER not in text and "Wendeline" not in text
        for raw in RAW_WORDS:
            assert raw.lower() not in text.lower(), f"{name}: raw {raw!r} in {text!r}"
    for words in fault.words:
        assert words in seen.text, f"{name}: {words!r} not in {seen.text!r}"
    small_disk.make_room()
    if fault.kind in ("VaultDamaged", "NotAVault", "VaultNotAFile", "VaultIncomplete",
                      "VaultTooNew", "WrongPassphrase") or fault.make is full_disk_opening:
        # Sharelog never changed a file it could not open.
        assert {n: digest(base / n) for n in before} == before, f"{name}: a file changed"
    assert session.failed_unlocks(base) == (1 if fault.counts_as_guess else 0)
    if fault.kind == "DiskFull" and fault.make is not full_disk_creating:
        # Room again: the vault opens with the passphrase it had, and saves.
        svc = session.unlock(PASSPHRASE, base=base)
        svc.record_decision(make_share())
        assert svc.verify_integrity().ok
        svc.lock()
    if fault.make is full_disk_creating:
        assert not session.vault_exists(base)
        assert not [p.name for p in base.iterdir() if ".new-" in p.name]


def test_a_rekey_that_runs_out_of_room_leaves_every_page_under_the_old_key(
        small_disk: SmallDisk, monkeypatch: pytest.MonkeyPatch) -> None:
    """Space taken between the room check and the rekey: SQLCipher's rekey rolls back, but
    keeps the new key for the connection's next write, which would leave page 1 under
    the new key and the rest under the old (a vault no passphrase opens)."""
    from db import vault as vault_module

    monkeypatch.setattr(vault_module, "REKEY_ROOM", 0.0)  # the check passes; the rekey can't
    monkeypatch.setattr(vault_module, "REKEY_MARGIN", 0)
    base = small_disk.path / "home"
    base.mkdir()
    ids = seed(base)
    svc = session.unlock(PASSPHRASE, base=base)
    small_disk.fill(leave=100 * 1024)
    with pytest.raises(vault_errors.DiskFull) as refused:
        svc.change_passphrase(PASSPHRASE, "lantern orchard copper 7 kites")
    assert_safe(refused.value)
    small_disk.make_room()
    svc.record_decision(make_share())  # the session goes on, under the old key
    svc.lock()
    again = session.unlock(PASSPHRASE, base=base)
    assert again.vault.damaged_pages() == []
    assert again.decision_count() == len(ids) + 1
    assert again.verify_integrity().ok
    again.lock()
