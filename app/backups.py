"""Encrypted backups of the vault, and a restore that checks before it replaces anything.

**Rolling backups.** When the vault locks (Ctrl+L, idle, quit) after any change, Sharelog
writes the day's backup, ``backups/daily-<date>.sharelog-backup``: a page-by-page copy
of the open vault by SQLite's backup API (one consistent snapshot, still encrypted with
the vault's key and salt, so the passphrase of the day opens it), written to a temporary
file (0600), fsynced and renamed into place. A later lock the same day replaces that
day's file; the last ``BACKUPS_KEPT`` days are kept. Names carry only the date.

**Restore** (``check_backup`` then ``restore``). The chosen backup is copied aside, opened
with the passphrase given for it, upgraded if it is older, and checked (every hash and
link, and every record against its events) before anything is replaced. It is compared
with the tip kept beside the current vault, so the practitioner is told which changes
made on this laptop the backup lacks. Only then, on ``restore``, is the current vault
(with everything beside it) moved into ``replaced/`` — never deleted — and the checked
copy moved into its place.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import secrets
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from app import integrity, tip
from app.integrity import IntegrityReport
from app.paths import VAULT_FILENAME, backup_dir, vault_path
from app.tip import ChainTip, MissingChanges, TipFile, tip_path
from db import store
from db.claim import VaultClaim
from db.opening import fsync_dir
from db.vault import DatabaseError, Vault, VaultError

log = logging.getLogger("sharelog.backups")

BACKUPS_KEPT = 5
DAILY_PREFIX = "daily-"
DAILY_SUFFIX = ".sharelog-backup"
REPLACED_DIR = "replaced"


class BackupDamaged(VaultError):
    def __init__(self, report: IntegrityReport | None = None) -> None:
        super().__init__(
            "This backup opens, but it does not pass the integrity check, so it has not "
            "been restored. Nothing has been changed. Choose another backup.")
        self.report = report


class NotABackup(VaultError):
    def __init__(self) -> None:
        super().__init__("That file could not be read. Choose a Sharelog backup.")


# -- rolling backups ------------------------------------------------------------------
def daily_path(folder: Path, day: dt.date) -> Path:
    return folder / f"{DAILY_PREFIX}{day.isoformat()}{DAILY_SUFFIX}"


def take_daily(vault: Vault, folder: Path, today: dt.date | None = None) -> Path:
    """Write (or refresh) today's backup and keep the last ``BACKUPS_KEPT`` days'."""
    target = vault.backup_to(daily_path(folder, today or dt.date.today()))
    prune(folder)
    return target


def daily_backups(folder: Path) -> list[Path]:
    """The rolling backups, newest day first."""
    if not folder.is_dir():
        return []
    found = [p for p in folder.iterdir()
             if p.name.startswith(DAILY_PREFIX) and p.name.endswith(DAILY_SUFFIX)]
    return sorted(found, key=lambda p: p.name, reverse=True)


def prune(folder: Path, keep: int = BACKUPS_KEPT) -> None:
    for old in daily_backups(folder)[keep:]:
        with contextlib.suppress(OSError):
            old.unlink()


@dataclass(frozen=True)
class BackupFile:
    path: Path
    taken_at: dt.datetime
    kind: str  # "daily" | "before upgrade"


def list_backups(base: Path) -> list[BackupFile]:
    """Backups Sharelog made of this vault, newest first."""
    folder = backup_dir(base)
    if not folder.is_dir():
        return []
    found: list[BackupFile] = []
    for p in folder.iterdir():
        if p.name.startswith(DAILY_PREFIX) and p.name.endswith(DAILY_SUFFIX):
            kind = "daily"
        elif p.name.endswith(".backup"):
            kind = "before upgrade"
        else:
            continue
        with contextlib.suppress(OSError):
            found.append(BackupFile(p, dt.datetime.fromtimestamp(p.stat().st_mtime), kind))
    return sorted(found, key=lambda b: b.taken_at, reverse=True)


# -- restore --------------------------------------------------------------------------
@dataclass(frozen=True)
class RestoreCheck:
    """A backup copied aside and checked, ready to take the vault's place."""

    source: Path
    staging: Path
    staged: Path
    decisions: int
    events: int
    newest_change_ms: int | None
    report: IntegrityReport
    lacks: MissingChanges | None  # changes made on this laptop that the backup lacks
    other_vault: bool  # the backup is of another vault than the one beside the tip
    new_tip: ChainTip | None


Progress = Callable[[int, int], None]


def check_backup(source: Path, passphrase: str, base: Path, *,
                 progress: Progress | None = None,
                 cancelled: Callable[[], bool] | None = None) -> RestoreCheck:
    """Copy ``source`` aside, open it with ``passphrase`` and check it; replace nothing.

    Raises ``WrongPassphrase`` (the passphrase does not open this backup), a
    ``VaultError`` when the file is not a vault, or ``BackupDamaged`` when the copy
    opens but fails the integrity check. The copy is removed on any failure.
    """
    staging = base / f".restore-{secrets.token_hex(6)}"
    staging.mkdir(mode=0o700, parents=True)
    staged = staging / VAULT_FILENAME
    try:
        _copy_private(source, staged)
        for suffix in ("-wal",):
            beside = source.with_name(source.name + suffix)
            if beside.is_file():
                _copy_private(beside, staged.with_name(staged.name + suffix))
        vault = Vault.open(staged, passphrase, backup_dir=staging / "before-upgrade")
        try:
            return _check_open(vault, source, staging, base, progress, cancelled)
        finally:
            vault.lock()
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _check_open(vault: Vault, source: Path, staging: Path, base: Path,
                progress: Progress | None, cancelled: Callable[[], bool] | None
                ) -> RestoreCheck:
    if vault.damaged_pages():
        raise BackupDamaged()
    conn = vault.conn
    try:
        device_id = store.meta_get(conn, "device_id")
        if not isinstance(device_id, str):
            raise BackupDamaged()
        report = integrity.verify_all(conn, progress=progress, cancelled=cancelled)
    except DatabaseError as exc:
        raise BackupDamaged() from exc
    if not report.ok:
        raise BackupDamaged(report)
    current = TipFile(tip_path(vault_path(base))).read()
    other_vault = current is not None and current.device_id != device_id
    lacks = None if current is None or other_vault else tip.compare(conn, current)
    with vault.transaction() as writer:
        # A loss found before this backup was taken is not this vault's question now.
        integrity.set_unresolved_loss(writer, None)
        if lacks is not None:
            # Said now, and kept in the restored vault so its integrity check says it too.
            integrity.note_loss(writer, lacks, _now_ms(), "restore")
    newest = store.device_chain_end(conn, device_id)
    return RestoreCheck(
        source=source, staging=staging, staged=vault.path,
        decisions=store.decision_count(conn), events=store.event_count(conn),
        newest_change_ms=None if newest is None else tip.hlc_ms(newest[2]),
        report=report, lacks=lacks, other_vault=other_vault,
        new_tip=tip.vault_tip(conn, device_id),
    )


def restore(check: RestoreCheck, base: Path) -> Path | None:
    """Put the checked copy in the vault's place; the vault it replaces goes aside.

    The current vault must be closed. Returns the folder the replaced vault was moved
    to (None when there was no vault).
    """
    target = vault_path(base)
    claim = VaultClaim(target).acquire()  # no other Sharelog may have it open meanwhile
    try:
        aside = set_aside(base, "vault")
        os.replace(check.staged, target)
        fsync_dir(target.parent)
    finally:
        claim.release()
    if check.new_tip is not None:
        keeper = TipFile(tip_path(target))
        with contextlib.suppress(OSError):
            keeper.write(check.new_tip)
        keeper.close()
    shutil.rmtree(check.staging, ignore_errors=True)
    log.info("vault restored from a backup")
    return aside


def set_aside(base: Path, label: str) -> Path | None:
    """Move the vault and every file beside it that belongs to it into ``replaced/``.

    Nothing is deleted: ``replaced/<label>-<time>/`` holds the files under their own
    names, so the set can be opened again as it was.
    """
    # Lock files stay: they say who holds the vault's place, not what was in it.
    belongs = [p for p in base.iterdir() if p.name.startswith(VAULT_FILENAME) and p.is_file()
               and not p.name.endswith(".lock")]
    if not belongs:
        return None
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    folder = base / REPLACED_DIR / f"{label}-{stamp}"
    n = 1
    while folder.exists():
        n += 1
        folder = base / REPLACED_DIR / f"{label}-{stamp}-{n}"
    folder.mkdir(mode=0o700, parents=True)
    with contextlib.suppress(OSError):
        os.chmod(folder.parent, 0o700)
    for p in belongs:
        os.replace(p, folder / p.name)
    fsync_dir(folder)
    fsync_dir(base)
    return folder


def discard(check: RestoreCheck) -> None:
    shutil.rmtree(check.staging, ignore_errors=True)


def _copy_private(source: Path, target: Path) -> None:
    try:
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with open(source, "rb") as src, os.fdopen(fd, "wb") as dst:
            shutil.copyfileobj(src, dst, 1024 * 1024)
            dst.flush()
            os.fsync(dst.fileno())
    except IsADirectoryError as exc:
        raise NotABackup() from exc
    except (FileNotFoundError, PermissionError) as exc:
        raise NotABackup() from exc


def _now_ms() -> int:
    return int(dt.datetime.now().timestamp() * 1000)
