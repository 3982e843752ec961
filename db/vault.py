"""The encrypted vault: one SQLCipher 4 database per user.

Key handling: the passphrase never reaches SQL. We derive a 256-bit key with
scrypt over the vault's own 16-byte salt (the first 16 bytes of a SQLCipher
file) and hand SQLCipher the raw key as ``x'<hex key><hex salt>'``, so the only
text in SQL is derived key material, and SQLCipher's own PBKDF2 is skipped.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeAlias

import sqlcipher3

from db import migrations

SQLITE_PLAINTEXT_MAGIC = b"SQLite format 3\x00"
SALT_BYTES = 16
KEY_BYTES = 32
# scrypt cost: ~0.3 s and 64 MiB on a laptop core; slow on purpose for guessing.
SCRYPT_N = 2**16
SCRYPT_R = 8
SCRYPT_P = 1
MIN_PASSPHRASE_LENGTH = 10

DatabaseError: type[Exception] = sqlcipher3.dbapi2.DatabaseError
# sqlcipher3 ships no type information; its connection follows DB-API 2 like sqlite3's.
Connection: TypeAlias = Any


class VaultError(Exception):
    """Base for vault errors; messages are safe to show a user."""


class WrongPassphrase(VaultError):
    def __init__(self) -> None:
        super().__init__("That passphrase doesn't open this vault.")


class VaultCorrupted(VaultError):
    def __init__(self, detail: str = "") -> None:
        msg = (
            "This file is not a Sharelog vault, or it is damaged. "
            "Nothing has been changed; restore it from a backup or ask your administrator."
        )
        super().__init__(msg)
        self.detail = detail


class VaultMissing(VaultError):
    def __init__(self) -> None:
        super().__init__("There is no vault here yet.")


class VaultExists(VaultError):
    def __init__(self) -> None:
        super().__init__("A vault already exists here.")


class WeakPassphrase(VaultError):
    pass


class VaultLocked(VaultError):
    def __init__(self) -> None:
        super().__init__("The vault is locked.")


def check_passphrase_strength(passphrase: str) -> list[str]:
    """Problems with a new passphrase, in words a person can act on (empty = fine)."""
    problems: list[str] = []
    if len(passphrase) < MIN_PASSPHRASE_LENGTH:
        problems.append(
            f"Use at least {MIN_PASSPHRASE_LENGTH} characters (a few unrelated words work well)."
        )
    if passphrase and len(set(passphrase)) < 5:
        problems.append("Use more different characters; repeated letters are easy to guess.")
    if passphrase.lower() in {"password123", "sharelog123", "passphrase", "1234567890"}:
        problems.append("That passphrase is too common.")
    return problems


def passphrase_strength_score(passphrase: str) -> int:
    """0 (weak) to 4 (strong): a rough guide for the strength meter."""
    if check_passphrase_strength(passphrase):
        return min(1, len(passphrase) // 6)
    classes = sum(
        [
            any(c.islower() for c in passphrase),
            any(c.isupper() for c in passphrase),
            any(c.isdigit() for c in passphrase),
            any(not c.isalnum() for c in passphrase),
        ]
    )
    score = 2 + (len(passphrase) >= 16) + (classes >= 3 or len(passphrase) >= 24)
    return min(4, score)


def derive_key(passphrase: str, salt: bytes) -> bytes:
    # hashlib's scrypt releases the GIL while it works, so deriving on a worker
    # thread never freezes the UI thread (cryptography's Scrypt holds it for ~0.2 s).
    return hashlib.scrypt(passphrase.encode("utf-8"), salt=salt, n=SCRYPT_N, r=SCRYPT_R,
                          p=SCRYPT_P, maxmem=256 * 1024 * 1024, dklen=KEY_BYTES)


def _raw_key_literal(key: bytes, salt: bytes | None) -> str:
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


def read_salt(path: Path) -> bytes:
    with open(path, "rb") as fh:
        head = fh.read(SALT_BYTES)
    if len(head) < SALT_BYTES:
        raise VaultCorrupted("file too short")
    if head == SQLITE_PLAINTEXT_MAGIC:
        raise VaultCorrupted("plaintext sqlite file")
    return head


def _apply_pragmas(conn: Connection) -> None:
    conn.execute("PRAGMA journal_mode = WAL").fetchall()
    conn.execute("PRAGMA synchronous = FULL")
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("PRAGMA secure_delete = ON")
    conn.execute("PRAGMA temp_store = MEMORY")
    conn.execute("PRAGMA busy_timeout = 5000")
    # 64 MiB of page cache: decrypting pages is what reads cost, so keep them.
    conn.execute("PRAGMA cache_size = -65536")


def _connect_raw(path: Path, key: bytes, salt: bytes | None) -> Connection:
    _silence_sqlcipher_log()
    conn = sqlcipher3.connect(str(path), isolation_level=None, check_same_thread=False)
    try:
        conn.execute(f"PRAGMA key = {_raw_key_literal(key, salt)}")
        # Reading the schema is the first decrypting read: wrong keys fail here.
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except DatabaseError as exc:
        conn.close()
        raise WrongPassphrase() from exc
    return conn


def open_connection_with_key(path: Path, key: bytes) -> Connection:
    """Open an existing vault with an already-derived key (used by worker connections)."""
    conn = _connect_raw(path, key, None)
    _apply_pragmas(conn)
    return conn


class Vault:
    """An open (unlocked) vault: owns the key and one connection.

    All callers go through :meth:`connection`; after :meth:`lock` it raises
    :class:`VaultLocked`.
    """

    def __init__(self, path: Path, conn: Connection, key: bytes) -> None:
        self.path = path
        self._conn: Connection | None = conn
        self._key: bytearray | None = bytearray(key)

    # -- lifecycle -------------------------------------------------------
    @classmethod
    def create(cls, path: Path, passphrase: str) -> Vault:
        problems = check_passphrase_strength(passphrase)
        if problems:
            raise WeakPassphrase(" ".join(problems))
        files = VaultFiles(path)
        if path.exists() and path.stat().st_size > 0:
            raise VaultExists()
        path.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(OSError):
            os.chmod(path.parent, 0o700)
        for stale in (files.wal, files.shm, files.journal):
            stale.unlink(missing_ok=True)
        salt = secrets.token_bytes(SALT_BYTES)
        key = derive_key(passphrase, salt)
        # Create the file owner-only before SQLCipher writes into it.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.close(fd)
        conn = _connect_raw(path, key, salt)
        _apply_pragmas(conn)
        migrations.migrate(conn, backup=None)
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return cls(path, conn, key)

    @classmethod
    def open(cls, path: Path, passphrase: str, *, backup_dir: Path | None = None,
             migrate: bool = True) -> Vault:
        if not path.exists():
            raise VaultMissing()
        salt = read_salt(path)
        key = derive_key(passphrase, salt)
        return cls.open_with_key(path, key, backup_dir=backup_dir, migrate=migrate)

    @classmethod
    def open_with_key(cls, path: Path, key: bytes, *, backup_dir: Path | None = None,
                      migrate: bool = True) -> Vault:
        """Open and, unless ``migrate`` is False (inspecting a backup), upgrade the schema."""
        conn = _connect_raw(path, key, None)
        try:
            _apply_pragmas(conn)
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version == 0 and _is_empty(conn):
                raise VaultCorrupted("empty vault")
            if version > migrations.LATEST_VERSION:
                raise VaultError(
                    "This vault was made by a newer version of Sharelog. "
                    "Update Sharelog to open it; nothing has been changed."
                )
            if version < migrations.LATEST_VERSION and migrate:
                vault = cls(path, conn, key)
                migrations.migrate(conn, backup=lambda: vault.backup_before_migration(backup_dir))
                return vault
        except DatabaseError as exc:
            conn.close()
            raise VaultCorrupted(type(exc).__name__) from exc
        except VaultError:
            conn.close()
            raise
        return cls(path, conn, key)

    @property
    def is_open(self) -> bool:
        return self._conn is not None

    @property
    def conn(self) -> Connection:
        if self._conn is None:
            raise VaultLocked()
        return self._conn

    @property
    def key(self) -> bytes:
        if self._key is None:
            raise VaultLocked()
        return bytes(self._key)

    def lock(self) -> None:
        """Checkpoint, close the connection and forget the key.

        The TRUNCATE checkpoint copies every committed change from the ``-wal`` into the
        vault file and empties the ``-wal``, so the vault file alone holds everything
        once it is locked (a copy of it, or a lost ``-wal``, loses nothing).
        """
        if self._conn is not None:
            self.checkpoint()
            self._conn.close()
            self._conn = None
        if self._key is not None:
            for i in range(len(self._key)):
                self._key[i] = 0
            self._key = None

    def damaged_pages(self) -> int:
        """How many pages fail SQLCipher's HMAC (every page is read; 0: all intact)."""
        try:
            rows = self.conn.execute("PRAGMA cipher_integrity_check").fetchall()
        except DatabaseError:
            return -1
        return len(rows)

    def checkpoint(self) -> bool:
        """Move every committed change into the vault file; False if a reader held it back."""
        try:
            busy = self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
        except DatabaseError:
            return False
        return not busy

    close = lock

    # -- transactions ----------------------------------------------------
    @contextlib.contextmanager
    def transaction(self) -> Iterator[Connection]:
        conn = self.conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        else:
            conn.execute("COMMIT")

    # -- passphrase change ---------------------------------------------
    def change_passphrase(self, old_passphrase: str, new_passphrase: str,
                          progress: Callable[[str], None] | None = None) -> None:
        """Re-encrypt every page under a key derived from the new passphrase.

        SQLCipher 4 cannot rekey in WAL mode, so we checkpoint the WAL away and
        switch to a rollback journal for the rekey: it runs as one SQLite
        transaction, so a crash leaves the hot journal that restores the old
        pages, and the vault opens with the old passphrase; once it commits, the
        new one opens it. Then WAL comes back.
        """
        report = progress or (lambda stage: None)
        report("checking")
        salt = read_salt(self.path)
        if derive_key(old_passphrase, salt) != self.key:
            raise WrongPassphrase()
        problems = check_passphrase_strength(new_passphrase)
        if problems:
            raise WeakPassphrase(" ".join(problems))
        new_key = derive_key(new_passphrase, salt)
        conn = self.conn
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
        conn.execute("PRAGMA journal_mode = DELETE").fetchall()
        report("rekeying")
        try:
            conn.execute(f"PRAGMA rekey = {_raw_key_literal(new_key, None)}")
            self._key = bytearray(new_key)
            report("rekeyed")
        finally:
            conn.execute("PRAGMA journal_mode = WAL").fetchall()
        report("done")

    # -- backups -------------------------------------------------------
    def backup_before_migration(self, backup_dir: Path | None) -> Path:
        """An encrypted copy (same key) before a migration runs."""
        target_dir = backup_dir or self.path.parent / "backups"
        version = self.conn.execute("PRAGMA user_version").fetchone()[0]
        target = target_dir / f"{self.path.stem}.v{version}.backup"
        return self.backup_to(target)

    def backup_to(self, target: Path, progress: Callable[[int, int], None] | None = None) -> Path:
        """An encrypted copy, consistent while the vault is open, written whole.

        SQLite's backup API copies the pages of one snapshot (what is in the ``-wal`` too)
        into a temporary file (0600) under the same key and salt, so the passphrase that
        opens the vault opens the copy; the copy keeps a rollback journal (one file, no
        ``-wal``), is fsynced and renamed into place. ``progress(copied, total)`` in pages.
        """
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=".backup-", suffix=".tmp", dir=target.parent)
        os.close(fd)  # mkstemp made it 0600; SQLCipher writes into it
        tmp = Path(name)
        try:
            dst = sqlcipher3.connect(str(tmp), isolation_level=None)
            try:
                dst.execute(f"PRAGMA key = {_raw_key_literal(self.key, read_salt(self.path))}")
                if progress is None:
                    self.conn.backup(dst)
                else:
                    self.conn.backup(dst, pages=2048, progress=lambda _s, left, total:
                                     progress(total - left, total))
                dst.execute("PRAGMA journal_mode = DELETE").fetchall()
            finally:
                dst.close()
            os.chmod(tmp, 0o600)
            with open(tmp, "rb+") as fh:
                os.fsync(fh.fileno())
            os.replace(tmp, target)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        _fsync_dir(target.parent)
        return target


@contextlib.contextmanager
def damage_reported() -> Iterator[None]:
    """Turn SQLite's page-level damage errors into :class:`VaultCorrupted`."""
    try:
        yield
    except DatabaseError as exc:
        text = str(exc).lower()
        if "malformed" in text or "not a database" in text or "corrupt" in text:
            raise VaultCorrupted(type(exc).__name__) from exc
        raise


class QueryCancelled(Exception):
    """A read was abandoned because its caller no longer wanted the answer."""


@contextlib.contextmanager
def cancellable(conn: Connection, cancelled: Callable[[], bool] | None) -> Iterator[None]:
    """Run reads that stop early (``QueryCancelled``) once ``cancelled()`` turns true.

    Checked every few thousand SQLite steps through a progress handler, so a search
    overtaken by the next keystroke frees the vault for it at once. For reads only:
    an interrupted write would roll back.
    """
    if cancelled is None:
        yield
        return
    conn.set_progress_handler(lambda: 1 if cancelled() else 0, 4000)
    try:
        yield
    except DatabaseError as exc:
        if "interrupted" in str(exc).lower() and cancelled():
            raise QueryCancelled() from exc
        raise
    finally:
        conn.set_progress_handler(None, 0)


def _is_empty(conn: Connection) -> bool:
    row = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    return bool(row[0] == 0)


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def row_factory(cursor: Any, row: tuple[Any, ...]) -> dict[str, Any]:
    return {d[0]: v for d, v in zip(cursor.description, row, strict=True)}


__all__ = [
    "Connection",
    "DatabaseError",
    "QueryCancelled",
    "Vault",
    "VaultCorrupted",
    "VaultError",
    "VaultExists",
    "VaultLocked",
    "VaultMissing",
    "WeakPassphrase",
    "WrongPassphrase",
    "cancellable",
    "check_passphrase_strength",
    "damage_reported",
    "passphrase_strength_score",
]
