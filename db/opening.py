"""Getting from a file and a passphrase to an open SQLCipher connection, or a named fault.

Order matters: what can be seen without the key (a folder, an unreadable or foreign
file, a 0-byte vault beside a journal that holds data) is said first, without asking
for or counting a passphrase. Then the key: the key check beside the vault says
whether a derived key is the vault's, so a file that refuses a known key is
"damaged", never "wrong passphrase". Vaults without a key check (made before it, or
copied without it) open as before and get one.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import stat
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeAlias

import sqlcipher3

from db import keycheck, vault_errors
from db.passphrase import LEGACY_FORMS, NFC, SALT_BYTES, derive_key, forms_to_try
from db.vault_errors import (
    CREATING,
    OPENING,
    SQLITE_CORRUPT,
    SQLITE_NOTADB,
    DatabaseError,
    NotAVault,
    PassphraseChangeInterrupted,
    VaultCorrupted,
    VaultDamaged,
    VaultExists,
    VaultIncomplete,
    VaultIOError,
    VaultMissing,
    VaultNotAFile,
    VaultUnreadable,
    WrongPassphrase,
    sqlite_code,
    translated,
)

SQLITE_PLAINTEXT_MAGIC = b"SQLite format 3\x00"
PAGE_SIZE = 4096  # SQLCipher 4's default; the file is always a whole number of pages
WAL_HEADER_BYTES = 32  # a WAL no longer than its header holds no changes

# sqlcipher3 ships no type information; its connection follows DB-API 2 like sqlite3's.
Connection: TypeAlias = Any


@dataclass(frozen=True)
class VaultFiles:
    path: Path

    @property
    def wal(self) -> Path:
        return self.path.with_name(self.path.name + "-wal")

    @property
    def shm(self) -> Path:
        return self.path.with_name(self.path.name + "-shm")

    @property
    def journal(self) -> Path:
        return self.path.with_name(self.path.name + "-journal")

    def journals_hold_data(self) -> bool:
        """Whether the WAL or the rollback journal beside the vault holds pages."""
        for journal, empty in ((self.wal, WAL_HEADER_BYTES), (self.journal, 0)):
            with contextlib.suppress(OSError):
                if journal.stat().st_size > empty:
                    return True
        return False


def present(path: Path) -> bool:
    """Whether something is where the vault goes that creating one must not replace.

    A 0-byte file is "no vault" only when no journal beside it holds data: SQLite
    deletes the WAL of a 0-byte database, so that pair is never handed to it.
    """
    try:
        info = path.lstat()
    except FileNotFoundError:
        return VaultFiles(path).journals_hold_data()
    except OSError:
        return True
    if stat.S_ISREG(info.st_mode) and info.st_size == 0:
        return VaultFiles(path).journals_hold_data()
    return True


def inspect(path: Path) -> None:
    """Raise what is wrong with the file that no passphrase can change; None if it may open."""
    if not present(path):
        raise VaultMissing()
    if path.is_dir():
        raise VaultNotAFile()
    if not path.exists():
        raise VaultIncomplete()  # journals with data and no vault file beside them
    try:
        with open(path, "rb") as fh:
            head = fh.read(SALT_BYTES)
            size = os.fstat(fh.fileno()).st_size
    except PermissionError:
        raise VaultUnreadable() from None
    except OSError as exc:
        raise translated(exc, OPENING, path.parent) from exc
    if size == 0:
        raise VaultIncomplete()
    if head == SQLITE_PLAINTEXT_MAGIC:
        raise NotAVault(plain_sqlite=True)
    if size % PAGE_SIZE:
        raise NotAVault()


def read_salt(path: Path) -> bytes:
    try:
        with open(path, "rb") as fh:
            head = fh.read(SALT_BYTES)
    except OSError as exc:
        raise translated(exc, OPENING, path.parent) from exc
    if len(head) < SALT_BYTES:
        raise VaultCorrupted("file too short")
    if head == SQLITE_PLAINTEXT_MAGIC:
        raise NotAVault(plain_sqlite=True)
    return head


# -- connections ----------------------------------------------------------------
def raw_key_literal(key: bytes, salt: bytes | None) -> str:
    # Only hex digits reach SQL text: derived key material, never the passphrase.
    body = key.hex() + (salt.hex() if salt is not None else "")
    assert all(c in "0123456789abcdef" for c in body)
    return f"\"x'{body}'\""


_log_silenced = False


def _silence_sqlcipher_log() -> None:
    """SQLCipher writes its own log lines (e.g. HMAC failures) to stderr; keep them off."""
    global _log_silenced
    if _log_silenced:
        return
    conn = sqlcipher3.connect(":memory:")
    try:
        conn.execute("PRAGMA cipher_log_level = NONE")
    except DatabaseError:
        pass
    finally:
        conn.close()
    _log_silenced = True


def connect_raw(path: Path, key: bytes, salt: bytes | None) -> Connection:
    """A keyed connection whose first decrypting read has worked; raises sqlcipher3's errors.

    ``salt`` is given when it must not be read from the file (a new vault, or a vault
    whose own copy of the salt is damaged).
    """
    _silence_sqlcipher_log()
    conn = sqlcipher3.connect(str(path), isolation_level=None, check_same_thread=False)
    try:
        conn.execute(f"PRAGMA key = {raw_key_literal(key, salt)}")
        # Reading the schema is the first decrypting read: wrong keys fail here.
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except BaseException:
        conn.close()
        raise
    return conn


def apply_pragmas(conn: Connection) -> None:
    conn.execute("PRAGMA journal_mode = WAL").fetchall()
    conn.execute("PRAGMA synchronous = FULL")
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("PRAGMA secure_delete = ON")
    conn.execute("PRAGMA temp_store = MEMORY")
    # A save waits this long for another connection's write to end (vault_errors.VaultBusy).
    conn.execute(f"PRAGMA busy_timeout = {int(vault_errors.BUSY_TIMEOUT_MS)}")
    # 64 MiB of page cache: decrypting pages is what reads cost, so keep them.
    conn.execute("PRAGMA cache_size = -65536")


_PAGE_NUMBER = re.compile(r"page (\d+)")


def damaged_pages(conn: Connection) -> list[int]:
    """Pages whose HMAC fails (SQLCipher's ``cipher_integrity_check``): numbers only."""
    try:
        rows = conn.execute("PRAGMA cipher_integrity_check").fetchall()
    except DatabaseError:
        return []
    pages = {int(m.group(1)) for (text,) in rows for m in _PAGE_NUMBER.finditer(str(text))}
    return sorted(pages)


def _damage(path: Path, key: bytes, salt: bytes | None, code: int | None) -> VaultDamaged:
    """What is damaged, named by page, once the key is known to be right."""
    pages: list[int] = []
    with contextlib.suppress(DatabaseError):
        conn = sqlcipher3.connect(str(path), isolation_level=None, check_same_thread=False)
        try:
            conn.execute(f"PRAGMA key = {raw_key_literal(key, salt)}")
            pages = damaged_pages(conn)
        finally:
            conn.close()
    # Every page there passes its HMAC yet the file is malformed: pages are missing.
    return VaultDamaged(pages, cut_short=not pages and code == SQLITE_CORRUPT)


@dataclass(frozen=True)
class Unlocked:
    conn: Connection
    key: bytes
    form: str  # the passphrase form the key came from
    salt: bytes


def unlock(path: Path, passphrase: str, *, remember: bool = True) -> Unlocked:
    """Find the vault's key from ``passphrase`` and open it, or say why not.

    ``remember`` writes (or refreshes) the key check; off when only inspecting a copy.

    Normally one scrypt: the key check's salt and form, checked against its tag. Only
    when the file's salt differs from the key check's (page 1 damaged, or another
    vault put in its place) is the file's own salt tried as well.
    """
    head = read_salt(path)
    check = keycheck.load(path)
    attempts: list[tuple[bytes, Sequence[str]]] = []
    if check is not None:
        attempts.append((check.salt, check.forms))
    if check is None or check.salt != head:
        attempts.append((head, LEGACY_FORMS))
    for salt, forms in attempts:
        for form, _text in forms_to_try(passphrase, forms):
            key = derive_key(passphrase, salt, form)
            known = check is not None and salt == check.salt and check.knows(key)
            explicit = None if salt == head else salt
            try:
                conn = connect_raw(path, key, explicit)
            except DatabaseError as exc:
                code = sqlite_code(exc)
                if known and code == SQLITE_NOTADB and check is not None and len(check.keys) > 1:
                    raise PassphraseChangeInterrupted() from None
                # CORRUPT comes only after page 1 decrypted: the key is right either way.
                if code == SQLITE_CORRUPT or (known and code == SQLITE_NOTADB):
                    raise _damage(path, key, explicit, code) from None
                if code == SQLITE_NOTADB:
                    continue  # not this key
                raise translated(exc, OPENING, path.parent) from exc
            if explicit is not None:
                # The key check's salt opens it: the file's own copy of the salt is damaged.
                conn.close()
                raise VaultDamaged([1])
            if remember and (check is None or not known or len(check.keys) > 1):
                keycheck.save_quietly(path, salt, [(form, keycheck.tag(key))])
            return Unlocked(conn, key, form, salt)
    raise WrongPassphrase()


# -- creating ---------------------------------------------------------------------
def build_aside(path: Path, key: bytes, salt: bytes,
                fill: Callable[[Connection, Path], None]) -> None:
    """Make the whole vault under a temporary name beside ``path``, then move it there.

    ``fill(conn, temporary_path)`` runs on the new, keyed connection (schema,
    identity). The WAL is folded into the file before the move, so what moves is
    complete; on any failure every temporary file goes and ``path`` is as it was.
    """
    tmp = path.with_name(f".{path.name}.new-{secrets.token_hex(4)}")
    aside = VaultFiles(tmp)
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.close(fd)
        conn = connect_raw(tmp, key, salt)
        try:
            apply_pragmas(conn)
            fill(conn, tmp)
            conn.execute("PRAGMA journal_mode = DELETE").fetchall()
        finally:
            conn.close()
        if aside.journals_hold_data():
            raise VaultIOError(CREATING)
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        keycheck.save(path, salt, [(NFC, keycheck.tag(key))])
        if present(path):
            raise VaultExists()  # made meanwhile: never replaced
        os.replace(tmp, path)
        fsync_dir(path.parent)
    finally:
        for leftover in (tmp, aside.wal, aside.shm, aside.journal):
            with contextlib.suppress(OSError):
                leftover.unlink()


def fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
