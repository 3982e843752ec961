"""Passphrases: zxcvbn refuses what a guesser tries first; keys come from NFC, old vaults open."""

from __future__ import annotations

import hashlib
import os
import unicodedata
from pathlib import Path

import pytest

from app import session
from app.paths import vault_path
from db import keycheck, migrations
from db.passphrase import judge
from db.vault import Vault, WeakPassphrase, WrongPassphrase, apply_pragmas, connect_raw
from tests.conftest import PASSPHRASE

LIST_FIRST = ["password12", "letmein123", "iloveyou12", "qwertyuiop", "0123456789"]
# "Crème brûlée à Noël, Zoë", composed (NFC) and as another keyboard or system types it.
COMPOSED = unicodedata.normalize("NFC", "Crème brûlée à Noël, Zoë 42")
DECOMPOSED = unicodedata.normalize("NFD", COMPOSED)


@pytest.mark.parametrize("weak", LIST_FIRST)
def test_what_a_list_based_guesser_tries_first_is_refused_everywhere(weak: str,
                                                                     home: Path) -> None:
    strength = judge(weak)
    assert strength.problems and strength.score <= 1
    for text in (*strength.problems, *strength.suggestions):
        assert weak not in text  # advice never quotes the passphrase
    with pytest.raises(WeakPassphrase):
        session.create_vault("Sam Worker", weak, base=home)
    assert not session.vault_exists(home)
    svc = session.create_vault("Sam Worker", PASSPHRASE, base=home)
    with pytest.raises(WeakPassphrase):
        svc.change_passphrase(PASSPHRASE, weak)
    svc.lock()
    session.unlock(PASSPHRASE, base=home).lock()  # the passphrase did not change


def test_a_strong_passphrase_passes_and_the_meter_says_so() -> None:
    for good in (PASSPHRASE, "lantern orchard copper 7 kites", COMPOSED):
        strength = judge(good)
        assert strength.problems == () and strength.score >= 3
    assert judge("x" * 5 + " long enough? " + "w" * 100).score >= 0  # past zxcvbn's 72 limit
    assert judge("Sam Worker 2026", ["Sam Worker"]).problems  # your own name is guessable


def test_a_new_vault_opens_with_the_passphrase_typed_decomposed(home: Path) -> None:
    session.create_vault("Sam Worker", COMPOSED, base=home).lock()
    check = keycheck.load(vault_path(home))
    assert check is not None and check.forms == ["nfc"]
    session.unlock(DECOMPOSED, base=home).lock()
    session.unlock(COMPOSED, base=home).lock()
    with pytest.raises(WrongPassphrase):
        session.unlock(unicodedata.normalize("NFD", "Creme brulee a Noel, Zoe 42"), base=home)


def _vault_as_sharelog_made_it_before(base: Path, typed: str) -> None:
    """Keyed from the bytes as typed (no NFC), and no key check: the earlier create path."""
    from app.service import Sharelog

    path = vault_path(base)
    salt = os.urandom(16)
    key = hashlib.scrypt(typed.encode("utf-8"), salt=salt, n=2**16, r=8, p=1,
                         maxmem=256 * 1024 * 1024, dklen=32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.close(fd)
    conn = connect_raw(path, key, salt)
    apply_pragmas(conn)
    migrations.migrate(conn, backup=None)
    vault = Vault(path, conn, key)
    Sharelog.initialise(vault, "Sam Worker")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    vault.lock()
    assert keycheck.load(path) is None


@pytest.mark.parametrize("made_with", ["decomposed", "composed"])
def test_an_old_vault_keyed_from_raw_bytes_keeps_opening_from_either_form(
        made_with: str, home: Path) -> None:
    typed = DECOMPOSED if made_with == "decomposed" else COMPOSED
    _vault_as_sharelog_made_it_before(home, typed)
    other = COMPOSED if typed is DECOMPOSED else DECOMPOSED
    session.unlock(other, base=home).lock()  # typed on the other layout
    check = keycheck.load(vault_path(home))
    assert check is not None and check.forms == ["nfd" if typed is DECOMPOSED else "nfc"]
    session.unlock(typed, base=home).lock()
    session.unlock(other, base=home).lock()
    with pytest.raises(WrongPassphrase):
        session.unlock("not the passphrase at all", base=home)
    # A passphrase change moves it to NFC keys.
    svc = session.unlock(typed, base=home)
    svc.change_passphrase(other, DECOMPOSED + " more")
    svc.lock()
    session.unlock(COMPOSED + " more", base=home).lock()
    assert keycheck.load(vault_path(home)).forms == ["nfc"]  # type: ignore[union-attr]
