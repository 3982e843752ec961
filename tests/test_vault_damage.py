"""A damaged vault is not a wrong passphrase: said apart, not counted, pages named."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from app import session
from app.paths import vault_path
from db import keycheck
from db.vault import VaultDamaged, WrongPassphrase
from tests.conftest import PASSPHRASE
from tests.vault_support import PAGE, assert_safe, digest, flip, pages, seed, use_everything

# Ten single bytes across page 1: the salt, the encrypted header and body, the IV and HMAC.
PAGE_ONE_OFFSETS = (0, 7, 15, 16, 40, 100, 1000, 2500, 4040, 4095)


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("seeded") / "home"
    base.mkdir()
    seed(base)
    return base


def _copy(seeded: Path, tmp_path: Path) -> Path:
    base = tmp_path / "home"
    shutil.copytree(seeded, base)
    return base


def _damage_is_said(base: Path) -> VaultDamaged:
    path = vault_path(base)
    before = digest(path)
    with pytest.raises(VaultDamaged) as damaged:
        session.unlock(PASSPHRASE, base=base)
    assert_safe(damaged.value)
    assert damaged.value.passphrase_known
    assert "Your passphrase is right" in str(damaged.value)
    assert "Restore the latest backup" in str(damaged.value)
    # Not a failed attempt: no count, no wait, and the file is as it was.
    assert session.failed_unlocks(base) == 0
    assert session.wait_before_unlock(base) == 0
    assert digest(path) == before
    return damaged.value


@pytest.mark.parametrize("offset", PAGE_ONE_OFFSETS)
def test_a_byte_changed_in_page_one_is_damage_not_a_wrong_passphrase(
        offset: int, seeded: Path, tmp_path: Path) -> None:
    base = _copy(seeded, tmp_path)
    flip(vault_path(base), offset)
    damaged = _damage_is_said(base)
    assert damaged.pages == (1,)
    assert "page 1" in str(damaged)
    # A wrong passphrase on the same file is still a wrong passphrase, and counts.
    with pytest.raises(WrongPassphrase):
        session.unlock("not the passphrase at all", base=base)
    assert session.failed_unlocks(base) == 1


@pytest.mark.parametrize("keep", ["one page", "half", "all but the last page"])
def test_a_file_cut_short_is_damage(keep: str, seeded: Path, tmp_path: Path) -> None:
    base = _copy(seeded, tmp_path)
    path = vault_path(base)
    total = pages(path)
    size = {"one page": 1, "half": total // 2, "all but the last page": total - 1}[keep]
    os.truncate(path, size * PAGE)
    damaged = _damage_is_said(base)
    assert "missing" in str(damaged)


def test_damage_met_after_unlock_is_named_by_page(seeded: Path, tmp_path: Path) -> None:
    base = _copy(seeded, tmp_path)
    path = vault_path(base)
    page = pages(path)  # the last page: the newest events
    flip(path, (page - 1) * PAGE + 500)
    svc = session.unlock(PASSPHRASE, base=base)
    try:
        with pytest.raises(VaultDamaged) as damaged:
            use_everything(svc)
        assert_safe(damaged.value)
        assert page in damaged.value.pages
        assert f"page {page}" in str(damaged.value)
    finally:
        svc.lock()


def test_a_vault_without_a_key_check_opens_gets_one_and_then_tells_damage(
        seeded: Path, tmp_path: Path) -> None:
    """Vaults made before the key check keep opening; the first open writes it."""
    base = _copy(seeded, tmp_path)
    path = vault_path(base)
    keycheck.path_for(path).unlink()
    session.unlock(PASSPHRASE, base=base).lock()
    check = keycheck.load(path)
    assert check is not None and check.salt == path.read_bytes()[:16]
    assert (keycheck.path_for(path).stat().st_mode & 0o777) == 0o600
    flip(path, 3)  # the salt itself: the key check's copy still derives the right key
    assert _damage_is_said(base).pages == (1,)


def test_a_vault_replaced_by_a_copy_under_an_earlier_passphrase_is_not_called_damaged(
        seeded: Path, tmp_path: Path) -> None:
    """A restored backup keyed with the passphrase before a change: once the restore
    forgets the key check, the earlier passphrase opens the copy and the check follows."""
    base = _copy(seeded, tmp_path)
    path = vault_path(base)
    earlier = tmp_path / "earlier.sharelog"
    shutil.copy2(path, earlier)  # same salt, the old key
    svc = session.unlock(PASSPHRASE, base=base)
    svc.change_passphrase(PASSPHRASE, "lantern orchard copper 7 kites")
    svc.lock()
    shutil.copy2(earlier, path)
    keycheck.forget(path)
    session.unlock(PASSPHRASE, base=base).lock()
    with pytest.raises(WrongPassphrase):
        session.unlock("lantern orchard copper 7 kites", base=base)
