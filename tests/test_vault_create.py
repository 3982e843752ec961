"""Nothing half-made blocks the user: creation is atomic, unopenable files are only set aside."""

from __future__ import annotations

import datetime as dt
import shutil
import sqlite3
from pathlib import Path

import pytest

from app import session
from app.paths import vault_path
from db.vault import DiskFull, VaultExists, VaultIncomplete
from tests.conftest import PASSPHRASE, make_share
from tests.vault_support import SmallDisk, assert_safe, digest, seed, small_disk

__all__ = ["small_disk"]


def _leftovers(base: Path) -> list[str]:
    return sorted(p.name for p in base.iterdir()
                  if p.name.startswith(".vault") or p.name.startswith("vault.sharelog-"))


@pytest.mark.slow
def test_creating_on_a_nearly_full_disk_never_leaves_a_half_made_vault(
        small_disk: SmallDisk) -> None:
    base = small_disk.path / "home"
    base.mkdir()
    refused = 0
    for leave_kib in (0, 16, 48, 96, 160, 240, 0, 64, 128, 200):
        small_disk.fill(leave=leave_kib * 1024)
        try:
            svc = session.create_vault("Sam Worker", PASSPHRASE, base=base)
        except DiskFull as exc:
            refused += 1
            assert_safe(exc)
            assert "Nothing was created" in str(exc) and "Free some space" in str(exc)
            assert not session.vault_exists(base), f"half-made vault left at {leave_kib} KiB"
            assert _leftovers(base) == []
        else:
            svc.lock()
        small_disk.make_room()
        if not session.vault_exists(base):  # the next attempt, with room, works
            session.create_vault("Sam Worker", PASSPHRASE, base=base).lock()
        again = session.unlock(PASSPHRASE, base=base)
        assert again.identity.display_name == "Sam Worker"
        again.record_decision(make_share())
        assert again.verify_integrity().ok
        again.lock()
        for p in base.iterdir():  # the test clears the way for the next round
            shutil.rmtree(p) if p.is_dir() else p.unlink()
    assert refused >= 3  # the disk really was too full for most of them


def _zero_byte_vault_beside_wal(base: Path) -> Path:
    seed(base, 3)
    svc = session.unlock(PASSPHRASE, base=base)
    svc.record_decision(make_share())
    path = vault_path(base)
    saved = {name: (base / name).read_bytes() for name in ("vault.sharelog-wal",)}
    svc.lock()
    (base / "vault.sharelog-wal").write_bytes(saved["vault.sharelog-wal"])
    path.write_bytes(b"")
    return path


def test_a_zero_byte_vault_beside_a_wal_with_data_is_not_no_vault(home: Path) -> None:
    path = _zero_byte_vault_beside_wal(home)
    wal = Path(f"{path}-wal")
    before = digest(wal)
    assert session.vault_exists(home)
    with pytest.raises(VaultExists):
        session.create_vault("Someone", "another good passphrase", base=home)
    with pytest.raises(VaultIncomplete) as incomplete:
        session.unlock(PASSPHRASE, base=home)
    assert_safe(incomplete.value)
    assert isinstance(session.vault_problem(home), VaultIncomplete)  # said before a passphrase
    assert digest(wal) == before and path.stat().st_size == 0  # nothing deleted or written
    assert session.failed_unlocks(home) == 0


def test_a_file_sharelog_cannot_open_is_set_aside_with_every_byte(home: Path) -> None:
    path = _zero_byte_vault_beside_wal(home)
    wal_bytes = Path(f"{path}-wal").read_bytes()
    name = session.set_aside_vault(home, now=lambda: dt.datetime(2026, 11, 13, 15, 30, 5))
    assert name == "vault.sharelog.damaged-2026-11-13-153005"
    assert (home / f"{name}-wal").read_bytes() == wal_bytes
    assert (home / name).exists() and (home / f"{name}.keycheck").exists()
    assert not session.vault_exists(home)
    session.create_vault("Sam Worker", PASSPHRASE, base=home).lock()  # a fresh start works
    assert (home / f"{name}-wal").read_bytes() == wal_bytes


def test_a_foreign_file_is_never_replaced_by_a_new_vault(home: Path) -> None:
    path = vault_path(home)
    plain = sqlite3.connect(path)
    plain.execute("CREATE TABLE notes (body TEXT)")
    plain.commit()
    plain.close()
    before = digest(path)
    with pytest.raises(VaultExists):
        session.create_vault("Sam Worker", PASSPHRASE, base=home)
    assert digest(path) == before
    session.set_aside_vault(home)
    assert not path.exists()
    assert [digest(p) for p in home.glob("vault.sharelog.damaged-*")] == [before]
