"""Every way opening or using the vault can fail, in Sharelog's own words.

Each error's text says what happened and what to do, and is safe to show: no
record content, no SQLite or operating-system text. ``remedies`` names the
actions the vault screen can offer next to the message ("restore": go back to a
backup; "set_aside": rename the file out of the way, keeping it).

``translated`` turns what sqlcipher3 and the operating system raise into these;
``vault_errors`` does it for a block of code.
"""

from __future__ import annotations

import contextlib
import errno
import shutil
from collections.abc import Iterator, Sequence
from pathlib import Path

import sqlcipher3

DatabaseError: type[Exception] = sqlcipher3.dbapi2.DatabaseError
# A constraint the schema enforces (a second row for a unique key): a bad input, not damage.
IntegrityError: type[Exception] = sqlcipher3.dbapi2.IntegrityError

# What was being done when the error came, for the words of the message.
OPENING = "opening"
SAVING = "saving"
CREATING = "creating"
REKEYING = "rekeying"

RESTORE = "restore"
SET_ASIDE = "set_aside"

# SQLite's primary result codes (the low byte of the extended code).
SQLITE_PERM, SQLITE_BUSY, SQLITE_LOCKED, SQLITE_READONLY = 3, 5, 6, 8
SQLITE_IOERR, SQLITE_CORRUPT, SQLITE_FULL, SQLITE_CANTOPEN = 10, 11, 13, 14
SQLITE_AUTH, SQLITE_NOTADB = 23, 26
# Below this much free space an I/O error while writing is taken for a full disk
# (SQLite reports a WAL index that cannot grow as an I/O error, not as "full").
NEARLY_FULL_BYTES = 1024 * 1024
# How long a save waits for another connection's write (an import, a rebuild) to end
# before it says the vault is busy. Read when a connection opens.
BUSY_TIMEOUT_MS = 20_000


class VaultError(Exception):
    """Base for vault errors; messages are safe to show a user."""

    remedies: frozenset[str] = frozenset()


class WrongPassphrase(VaultError):
    def __init__(self, message: str = "") -> None:
        super().__init__(message or "That passphrase doesn't open this vault.")


class PassphraseChangeInterrupted(WrongPassphrase):
    """The key check knows this passphrase, but a passphrase change went the other way.

    Not a guess: it does not count towards the wait after wrong passphrases.
    """

    def __init__(self) -> None:
        super().__init__(
            "That passphrase doesn't open this vault now: Sharelog stopped while your "
            "passphrase was being changed, and the vault kept the other one. Try your "
            "previous passphrase (or the new one, if you typed the old one).")


class VaultCorrupted(VaultError):
    """The file cannot be read as a vault; nothing about it has been changed."""

    remedies = frozenset({RESTORE, SET_ASIDE})

    def __init__(self, detail: str = "", message: str = "") -> None:
        super().__init__(message or (
            "This file is not a Sharelog vault, or it is damaged. Sharelog has not "
            "changed it. Restore the latest backup, or set the file aside and start again."))
        self.detail = detail


class VaultDamaged(VaultCorrupted):
    """The right key, but pages of the file fail their check (or are missing)."""

    def __init__(self, pages: Sequence[int] = (), *, passphrase_known: bool = True,
                 cut_short: bool = False) -> None:
        self.pages = tuple(sorted(set(pages)))
        self.passphrase_known = passphrase_known
        if cut_short:
            what = "Part of the vault file is missing (it has been cut short)."
        elif self.pages:
            shown = ", ".join(str(p) for p in self.pages[:5])
            more = "" if len(self.pages) <= 5 else f" and {len(self.pages) - 5} more"
            count = "1 page fails" if len(self.pages) == 1 else f"{len(self.pages)} pages fail"
            what = f"The vault file is damaged: {count} its check (page {shown}{more})."
        else:
            what = "The vault file is damaged."
        first = "Your passphrase is right, but your records cannot all be read. " \
            if passphrase_known else ""
        super().__init__(
            "damaged",
            first + what + " Sharelog has not changed the file. Restore the latest backup "
            "(your records as they were then), or ask your administrator for help.")


class NotAVault(VaultCorrupted):
    def __init__(self, plain_sqlite: bool = False) -> None:
        what = ("The file where your vault should be is an unencrypted database, not a "
                "Sharelog vault." if plain_sqlite else
                "The file where your vault should be is not a Sharelog vault, or it has been "
                "cut short.")
        super().__init__("not a vault", what + " Sharelog has not changed it. Restore the "
                         "latest backup, or set the file aside and start again.")


class VaultIncomplete(VaultCorrupted):
    """A 0-byte vault beside a journal that holds data (never handed to SQLite, which
    would delete that journal)."""

    def __init__(self) -> None:
        super().__init__(
            "incomplete",
            "The vault file is empty, but the file of recent changes beside it still holds "
            "data (it was being created or copied when it stopped). Sharelog has not changed "
            "either file. Restore the latest backup, or set both files aside and start again.")


class VaultNotAFile(VaultError):
    remedies = frozenset({SET_ASIDE})

    def __init__(self) -> None:
        super().__init__(
            "There is a folder where your vault file should be, so Sharelog cannot open "
            "it. Sharelog has not changed the folder. Move or rename it, or set it aside.")


class VaultUnreadable(VaultError):
    def __init__(self, writing: bool = False) -> None:
        verb = "write to" if writing else "read"
        super().__init__(
            f"Sharelog is not allowed to {verb} your vault file or its folder. Its "
            "permissions may have been changed: make sure they belong to your user account "
            "(your administrator can help). Nothing has been changed.")


class VaultTooNew(VaultError):
    def __init__(self) -> None:
        super().__init__(
            "This vault was made by a newer version of Sharelog. Update Sharelog to open "
            "it; nothing has been changed.")


class DiskFull(VaultError):
    _WORDS = {
        OPENING: "There is not enough free space on the disk to open your vault. "
                 "Nothing has been changed.",
        SAVING: "There is not enough free space on the disk, so this change was not saved. "
                "Everything saved before is safe.",
        CREATING: "There is not enough free space on the disk to create your vault. "
                  "Nothing was created.",
        REKEYING: "There is not enough free space on the disk to re-encrypt your vault "
                  "with the new passphrase. The current passphrase still opens it.",
    }

    def __init__(self, doing: str = SAVING) -> None:
        self.doing = doing
        super().__init__(self._WORDS.get(doing, self._WORDS[SAVING])
                         + " Free some space (delete or move large files) and try again.")


class VaultBusy(VaultError):
    def __init__(self, waited_ms: int | None = None) -> None:
        waited = BUSY_TIMEOUT_MS if waited_ms is None else waited_ms
        seconds = max(1, round(waited / 1000))
        unit = "second" if seconds == 1 else "seconds"
        super().__init__(
            f"Another task (an import, a rebuild or a check) kept the vault busy for more "
            f"than {seconds} {unit}, so this change was not saved. Nothing was lost: try "
            "again in a moment.")


class VaultInUse(VaultError):
    def __init__(self) -> None:
        super().__init__(
            "This vault is already open in another Sharelog window or program. Switch to "
            "that window, or close it there and try again.")


class VaultIOError(VaultError):
    def __init__(self, doing: str = SAVING) -> None:
        what = {OPENING: "open", CREATING: "create", REKEYING: "re-encrypt"}.get(doing, "save")
        super().__init__(
            f"The disk reported an error, so Sharelog could not {what} that. Nothing you "
            "saved before has been changed. If the vault is on a removable or network "
            "drive, check it is connected; then try again.")


class VaultRefused(VaultError):
    def __init__(self) -> None:
        super().__init__(
            "The vault refused that change, so it was not saved. Nothing you saved before "
            "has been changed. If it happens again, tell your administrator.")


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


def sqlite_code(exc: BaseException) -> int | None:
    code = getattr(exc, "sqlite_errorcode", None)
    return int(code) & 0xFF if isinstance(code, int) else None


def _nearly_full(where: Path | None) -> bool:
    if where is None:
        return False
    for folder in (where, *where.parents):
        if folder.exists():
            try:
                return shutil.disk_usage(folder).free < NEARLY_FULL_BYTES
            except OSError:
                return False
    return False


def translated(exc: BaseException, doing: str, where: Path | None = None,
               busy_timeout_ms: int | None = None) -> VaultError:
    """Sharelog's own error for ``exc``; ``where`` is the vault's folder (for free space)."""
    if isinstance(exc, VaultError):
        return exc
    if isinstance(exc, OSError):
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            return DiskFull(doing)
        if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
            return VaultUnreadable(writing=doing != OPENING or exc.errno == errno.EROFS)
        if exc.errno in (errno.EISDIR, errno.ENOTDIR):
            return VaultNotAFile()
        return DiskFull(doing) if _nearly_full(where) else VaultIOError(doing)
    code = sqlite_code(exc)
    if code == SQLITE_FULL:
        return DiskFull(doing)
    if code in (SQLITE_BUSY, SQLITE_LOCKED):
        return VaultBusy(busy_timeout_ms)
    if code in (SQLITE_CORRUPT, SQLITE_NOTADB):
        return VaultDamaged()
    if code in (SQLITE_READONLY, SQLITE_PERM, SQLITE_AUTH):
        return VaultUnreadable(writing=True)
    if code in (SQLITE_IOERR, SQLITE_CANTOPEN):
        return DiskFull(doing) if _nearly_full(where) else VaultIOError(doing)
    # SQLCipher reports a rekey that ran out of room as a plain error.
    return DiskFull(doing) if _nearly_full(where) else VaultRefused()


@contextlib.contextmanager
def vault_errors(doing: str, where: Path | None = None,
                 busy_timeout_ms: int | None = None) -> Iterator[None]:
    """Raise Sharelog's own errors for database and file errors met inside the block."""
    try:
        yield
    except VaultError:
        raise
    except (DatabaseError, OSError) as exc:
        raise translated(exc, doing, where, busy_timeout_ms) from exc
