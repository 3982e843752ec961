"""The encrypted vault: one SQLCipher 4 database per user.

Key handling: the passphrase never reaches SQL. We derive a 256-bit key with
scrypt over the vault's own 16-byte salt (the first 16 bytes of a SQLCipher
file) and hand SQLCipher the raw key as ``x'<hex key><hex salt>'``, so the only
text in SQL is derived key material, and SQLCipher's own PBKDF2 is skipped.

Opening, and telling each fault apart, is in ``db.opening``; the errors and their
words in ``db.vault_errors``; passphrase strength and key forms in ``db.passphrase``.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import sqlcipher3

from db import keycheck, migrations
from db.claim import VaultClaim
from db.opening import (
    PAGE_SIZE,
    SQLITE_PLAINTEXT_MAGIC,
    Connection,
    VaultFiles,
    apply_pragmas,
    build_aside,
    connect_raw,
    damaged_pages,
    fsync_dir,
    inspect,
    present,
    raw_key_literal,
    read_salt,
    unlock,
)
from db.passphrase import (
    KEY_BYTES,
    MIN_PASSPHRASE_LENGTH,
    NFC,
    SALT_BYTES,
    check_passphrase_strength,
    derive_key,
    passphrase_strength_score,
)
from db.vault_errors import (
    CREATING,
    OPENING,
    REKEYING,
    SAVING,
    SQLITE_CORRUPT,
    SQLITE_NOTADB,
    DatabaseError,
    DiskFull,
    IntegrityError,
    NotAVault,
    PassphraseChangeInterrupted,
    VaultBusy,
    VaultCorrupted,
    VaultDamaged,
    VaultError,
    VaultExists,
    VaultIncomplete,
    VaultInUse,
    VaultLocked,
    VaultMissing,
    VaultNotAFile,
    VaultTooNew,
    VaultUnreadable,
    WeakPassphrase,
    WrongPassphrase,
    sqlite_code,
    translated,
    vault_errors,
)

# A passphrase change needs room for a second copy of the vault (its rollback journal).
REKEY_ROOM = 1.0
REKEY_MARGIN = 2 * 1024 * 1024

# Kept for callers of the earlier names.
_connect_raw = connect_raw
_apply_pragmas = apply_pragmas
_raw_key_literal = raw_key_literal
_fsync_dir = fsync_dir


def open_connection_with_key(path: Path, key: bytes) -> Connection:
    """Another connection to an open vault with its derived key (worker connections).

    It does not claim the vault: the process that opened it already holds the claim.
    """
    with vault_errors(OPENING, path.parent):
        conn = connect_raw(path, key, None)
        apply_pragmas(conn)
    return conn


def _owner_only_dir(target: Path) -> None:
    """The vault's folder or its backups folder, with any missing parents, owner-only
    (0700): ``mkdir(parents=True)`` would leave the parents to the umask (often 0755)."""
    missing = []
    folder = target
    while not folder.exists() and folder != folder.parent:
        missing.append(folder)
        folder = folder.parent
    for created in reversed(missing):
        with contextlib.suppress(FileExistsError):
            created.mkdir(mode=0o700)
    with contextlib.suppress(OSError):
        os.chmod(target, 0o700)


class Vault:
    """An open (unlocked) vault: owns the key, one connection and the claim on the file.

    All callers go through :meth:`connection`; after :meth:`lock` it raises
    :class:`VaultLocked`.
    """

    def __init__(self, path: Path, conn: Connection, key: bytes, *,
                 claim: VaultClaim | None = None, form: str = NFC,
                 salt: bytes | None = None) -> None:
        self.path = path
        self._conn: Connection | None = conn
        self._key: bytearray | None = bytearray(key)
        self._claim = claim
        self._form = form
        self._salt = salt
        self._damage: list[int] | None = None

    # -- lifecycle -------------------------------------------------------
    @classmethod
    def create(cls, path: Path, passphrase: str, *,
               setup: Callable[[Vault], Any] | None = None,
               user_inputs: Iterable[str] = ()) -> Vault:
        """A new vault at ``path``, made whole beside it and only then moved there.

        ``setup`` runs on the new vault before the move (the service's identity), so a
        full disk or a crash never leaves a half-made vault where Sharelog looks.
        Anything already there (a vault, a file Sharelog cannot open, a 0-byte file
        beside a journal with data) is refused, never replaced.
        """
        problems = check_passphrase_strength(passphrase, user_inputs)
        if problems:
            raise WeakPassphrase(" ".join(problems))
        if present(path):
            raise VaultExists()
        with vault_errors(CREATING, path.parent):
            _owner_only_dir(path.parent)
            claim = VaultClaim(path).acquire()
        try:
            salt = secrets.token_bytes(SALT_BYTES)
            key = derive_key(passphrase, salt, NFC)

            def fill(conn: Connection, where: Path) -> None:
                migrations.migrate(conn, backup=None)
                if setup is not None:
                    setup(cls(where, conn, key, salt=salt))

            with vault_errors(CREATING, path.parent):
                build_aside(path, key, salt, fill)
                conn = connect_raw(path, key, None)
                try:
                    apply_pragmas(conn)
                except BaseException:
                    conn.close()
                    raise
        except BaseException:
            claim.release()
            raise
        return cls(path, conn, key, claim=claim, form=NFC, salt=salt)

    @classmethod
    def open(cls, path: Path, passphrase: str, *, backup_dir: Path | None = None,
             migrate: bool = True) -> Vault:
        """Open with a passphrase, or raise the Sharelog error that names what is wrong.

        ``WrongPassphrase`` only when the key is not the vault's; a file that refuses
        the right key is ``VaultDamaged`` (with its damaged pages), and problems no
        passphrase can fix are named before any key is derived.
        """
        inspect(path)
        claim = VaultClaim(path).acquire()
        try:
            # Inspecting a copy (migrate=False) writes nothing beside it.
            opened = unlock(path, passphrase, remember=migrate)
            vault = cls(path, opened.conn, opened.key, claim=claim, form=opened.form,
                        salt=opened.salt)
            vault._finish_open(backup_dir, migrate)
        except BaseException:
            claim.release()
            raise
        return vault

    @classmethod
    def open_with_key(cls, path: Path, key: bytes, *, backup_dir: Path | None = None,
                      migrate: bool = True) -> Vault:
        """Open with a derived key; unless ``migrate`` is False (inspecting a backup),
        upgrade the schema."""
        inspect(path)
        claim = VaultClaim(path).acquire()
        try:
            try:
                conn = connect_raw(path, key, None)
            except DatabaseError as exc:
                code = sqlite_code(exc)
                if code == SQLITE_NOTADB:
                    raise WrongPassphrase() from None
                if code == SQLITE_CORRUPT:
                    raise VaultDamaged() from None
                raise translated(exc, OPENING, path.parent) from exc
            vault = cls(path, conn, key, claim=claim, salt=read_salt(path))
            vault._finish_open(backup_dir, migrate)
        except BaseException:
            claim.release()
            raise
        return vault

    def _finish_open(self, backup_dir: Path | None, migrate: bool) -> None:
        conn = self.conn
        try:
            with self.reported(OPENING):
                apply_pragmas(conn)
                version = conn.execute("PRAGMA user_version").fetchone()[0]
                if version == 0 and _is_empty(conn):
                    raise VaultIncomplete()
                if version > migrations.LATEST_VERSION:
                    raise VaultTooNew()
                if version < migrations.LATEST_VERSION and migrate:
                    migrations.migrate(
                        conn, backup=lambda: self.backup_before_migration(backup_dir))
        except BaseException:
            self._claim = None  # the caller releases it
            self.lock()
            raise

    @contextlib.contextmanager
    def reported(self, doing: str = SAVING) -> Iterator[None]:
        """Sharelog's own errors for what fails inside; damage is named by page."""
        try:
            with vault_errors(doing, self.path.parent):
                yield
        except VaultDamaged as exc:
            if exc.pages or self._conn is None:
                raise
            if self._damage is None:
                self._damage = damaged_pages(self._conn)
            raise VaultDamaged(self._damage, cut_short=not self._damage) from exc

    def damaged_pages(self) -> list[int]:
        """Pages whose HMAC fails, from SQLCipher's ``cipher_integrity_check`` (reads
        every page: seconds on a large vault)."""
        with self.reported(OPENING):
            self._damage = damaged_pages(self.conn)
        return list(self._damage)

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
        if self._claim is not None:
            self._claim.release()
            self._claim = None

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
        salt = self._salt or read_salt(self.path)
        if derive_key(old_passphrase, salt, self._form) != self.key:
            raise WrongPassphrase()
        problems = check_passphrase_strength(new_passphrase)
        if problems:
            raise WeakPassphrase(" ".join(problems))
        new_key = derive_key(new_passphrase, salt, NFC)
        old_entry = (self._form, keycheck.tag(self.key))
        new_entry = (NFC, keycheck.tag(new_key))
        self._check_room_for_rekey()
        conn = self.conn
        try:
            with self.reported(REKEYING):
                # Both keys listed while the change runs: after a stop half way, the
                # one the vault did not keep is told apart from damage.
                keycheck.save(self.path, salt, [old_entry, new_entry])
                conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
                conn.execute("PRAGMA journal_mode = DELETE").fetchall()
                report("rekeying")
                try:
                    conn.execute(f"PRAGMA rekey = {raw_key_literal(new_key, None)}")
                except BaseException:
                    self._reconnect_after_failed_rekey()
                    raise
                self._key = bytearray(new_key)
                self._form = NFC
                report("rekeyed")
                conn.execute("PRAGMA journal_mode = WAL").fetchall()
        except BaseException:
            if self._key is not None and self.key != new_key:
                keycheck.save_quietly(self.path, salt, [old_entry])
            raise
        keycheck.save_quietly(self.path, salt, [new_entry])
        report("done")

    def _check_room_for_rekey(self) -> None:
        """The rekey journals every page before rewriting it: refuse it up front when the
        disk cannot hold a second copy of the vault (and a margin)."""
        files = VaultFiles(self.path)
        size = sum(p.stat().st_size for p in (self.path, files.wal) if p.exists())
        if shutil.disk_usage(self.path.parent).free < size * REKEY_ROOM + REKEY_MARGIN:
            raise DiskFull(REKEYING)

    def _reconnect_after_failed_rekey(self) -> None:
        """SQLCipher keeps the new key for writes after a rekey fails: one more write on
        that connection (even the switch back to WAL) would put a page under the new key
        among pages under the old. The rollback kept every page as it was, so the
        connection is dropped unused and the vault opened again under the old key."""
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()
        try:
            fresh = connect_raw(self.path, self.key, None)
            apply_pragmas(fresh)
        except (DatabaseError, OSError):
            self.lock()  # unlock again once there is room; the file is intact
            return
        self._conn = fresh

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
        _owner_only_dir(target.parent)
        fd, name = tempfile.mkstemp(prefix=".backup-", suffix=".tmp", dir=target.parent)
        os.close(fd)  # mkstemp made it 0600; SQLCipher writes into it
        tmp = Path(name)
        try:
            dst = sqlcipher3.connect(str(tmp), isolation_level=None)
            try:
                dst.execute(f"PRAGMA key = {raw_key_literal(self.key, read_salt(self.path))}")
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
        fsync_dir(target.parent)
        return target


@contextlib.contextmanager
def damage_reported(doing: str = SAVING) -> Iterator[None]:
    """Turn database and file errors into Sharelog's own (``VaultDamaged``, ``DiskFull``…)."""
    with vault_errors(doing):
        yield


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


def row_factory(cursor: Any, row: tuple[Any, ...]) -> dict[str, Any]:
    return {d[0]: v for d, v in zip(cursor.description, row, strict=True)}


__all__ = [
    "KEY_BYTES",
    "MIN_PASSPHRASE_LENGTH",
    "PAGE_SIZE",
    "SQLITE_PLAINTEXT_MAGIC",
    "Connection",
    "DatabaseError",
    "DiskFull",
    "IntegrityError",
    "NotAVault",
    "PassphraseChangeInterrupted",
    "QueryCancelled",
    "Vault",
    "VaultBusy",
    "VaultCorrupted",
    "VaultDamaged",
    "VaultError",
    "VaultExists",
    "VaultFiles",
    "VaultIncomplete",
    "VaultInUse",
    "VaultLocked",
    "VaultMissing",
    "VaultNotAFile",
    "VaultTooNew",
    "VaultUnreadable",
    "WeakPassphrase",
    "WrongPassphrase",
    "cancellable",
    "check_passphrase_strength",
    "damage_reported",
    "inspect",
    "passphrase_strength_score",
    "present",
    "read_salt",
]
