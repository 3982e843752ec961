"""The vaults on this computer: one per person, each in a folder of its own.

``<data>/vaults/<id>/`` holds one person's vault and everything that belongs to it: its
WAL, key check, chain tip, lock file, ``settings.json`` (their preferences and their
wrong-passphrase count), ``backups/``, ``replaced/`` and ``qt/`` (Qt's own memory of
their file dialogs). The id is 16 random hex digits, so no folder name says whose it is.
Everything ``app.session`` and ``app.backups`` do with a ``base`` folder they do with one
of these.

``profile.json`` beside the vault holds what the unlock screen lists before anyone has
typed a passphrase: the vault's display name (its owner's own name, as they gave it) and
when it was last unlocked. It is plaintext on purpose — nothing can be read from the
vault without a passphrase — and holds no record content.

**The single vault of earlier Sharelogs** (``vault.sharelog`` and the files beside it
directly in the data folder) is adopted on the first start: each of its files is
hard-linked into ``vaults/.adopting-<id>/`` (the originals untouched), and one rename of
that folder to ``vaults/<id>`` is the moment it moves. Only then are its folders
(``backups/``, ``replaced/``, ``qt/``) moved over and the old names unlinked. A marker,
``.vault-adoption`` in the data folder, names the id throughout, so a start after an
interruption either begins again (before the rename: the links are dropped, the old
layout is whole) or finishes the cleanup (after it). Where hard links cannot be made,
the vault stays where it is and is listed from there, working as before.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import os
import re
import secrets
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from app.files import atomic_write, private_dir
from app.paths import VAULT_FILENAME, data_dir, qt_settings_dir, vault_path
from db.claim import VaultClaim
from db.claim import path_for as claim_path
from db.vault import VaultError, present

log = logging.getLogger("sharelog.vaults")

VAULTS_DIR = "vaults"
PROFILE = "profile.json"
ADOPTING_PREFIX = ".adopting-"
ADOPTION_MARKER = ".vault-adoption"
_ID = re.compile(r"^[0-9a-f]{16}$")
# What an earlier Sharelog kept beside its single vault besides the vault's own files.
_SINGLE_VAULT_FILES = ("settings.json",)
_SINGLE_VAULT_FOLDERS = ("backups", "replaced", "qt")
_NOT_MOVED = (claim_path(Path(VAULT_FILENAME)).name,  # the old place's lock: held meanwhile
              VAULT_FILENAME + "-shm")                 # an index of the WAL, rebuilt from it


@dataclass(frozen=True)
class VaultEntry:
    """One vault on this computer, as the unlock screen lists it."""

    folder: Path
    display_name: str | None  # None until it is learned from the vault (an adopted one)
    last_used: dt.datetime | None  # UTC

    @property
    def vault_id(self) -> str:
        return self.folder.name


def vaults_dir(base: Path | None = None) -> Path:
    return (base or data_dir()) / VAULTS_DIR


def list_vaults(base: Path | None = None) -> list[VaultEntry]:
    """The vaults here, the last used first.

    The single vault of an earlier Sharelog is adopted into its own folder first; when it
    cannot be (another Sharelog has it open, no hard links on this disk), it is listed
    where it is, with the data folder as its folder, and works as it always did.
    """
    base = base or data_dir()
    entries: list[VaultEntry] = []
    try:
        adopt_single_vault(base)
    except (OSError, VaultError) as exc:
        log.warning("the vault of an earlier Sharelog stays where it is (%s)",
                    type(exc).__name__)
    folder = vaults_dir(base)
    if folder.is_dir():
        for child in folder.iterdir():
            if _ID.match(child.name) and child.is_dir() and present(vault_path(child)):
                entries.append(_entry(child))
    # Not when it is only another name for one just listed (a cleanup that could not end).
    if present(vault_path(base)) and not any(
            _same_file(vault_path(base), vault_path(e.folder)) for e in entries):
        entries.append(_entry(base))
    return sorted(entries, key=_last_used_first)


def last_used_folder(base: Path | None = None) -> Path:
    """The folder of the vault unlocked last (for the colour scheme before an unlock);
    the data folder itself when there is none. Reads only: adopts nothing."""
    base = base or data_dir()
    folder = vaults_dir(base)
    found = [_entry(c) for c in folder.iterdir() if _ID.match(c.name) and c.is_dir()] \
        if folder.is_dir() else []
    return min(found, key=_last_used_first).folder if found else base


def new_folder(base: Path | None = None) -> Path:
    """An empty, owner-only folder for a new vault, named by a fresh random id."""
    parent = private_dir(vaults_dir(base))
    while True:
        folder = parent / secrets.token_hex(8)
        try:
            folder.mkdir(mode=0o700)
        except FileExistsError:
            continue
        return private_dir(folder)


def drop_empty_folder(folder: Path) -> None:
    """A vault that was not made leaves no folder behind (only when nothing is in it)."""
    with contextlib.suppress(OSError):
        folder.rmdir()


def record_use(folder: Path, display_name: str | None,
               when: dt.datetime | None = None) -> None:
    """Remember who this vault is for and that it was unlocked now. A full disk loses only
    this remembering, never the unlock."""
    profile = {"display_name": display_name or _entry(folder).display_name,
               "last_used": (when or dt.datetime.now(dt.UTC)).isoformat()}
    try:
        atomic_write(folder / PROFILE, json.dumps(profile, indent=1).encode("utf-8"))
    except OSError as exc:
        log.warning("the vault list was not updated (%s)", type(exc).__name__)


def _entry(folder: Path) -> VaultEntry:
    name: str | None = None
    used: dt.datetime | None = None
    try:
        raw = json.loads((folder / PROFILE).read_text("utf-8"))
    except (OSError, ValueError):
        raw = {}
    if isinstance(raw, dict):
        value = raw.get("display_name")
        name = value.strip() or None if isinstance(value, str) else None
        stamp = raw.get("last_used")
        with contextlib.suppress(TypeError, ValueError):
            used = dt.datetime.fromisoformat(stamp) if isinstance(stamp, str) else None
            if used is not None and used.tzinfo is None:
                used = used.replace(tzinfo=dt.UTC)
    return VaultEntry(folder, name, used)


def _last_used_first(entry: VaultEntry) -> tuple[float, str, str]:
    stamp = entry.last_used.timestamp() if entry.last_used else float("-inf")
    return (-stamp, (entry.display_name or "").casefold(), entry.vault_id)


# -- adopting the single vault of earlier Sharelogs ------------------------------------------
def adopt_single_vault(base: Path | None = None) -> Path | None:
    """Move the data folder's own vault (the earlier layout) into a folder of its own.

    Returns the new folder, or None when there was nothing to adopt. Safe to stop at any
    point: the next call begins again or finishes (see the module's notes).
    """
    base = base or data_dir()
    marker = base / ADOPTION_MARKER
    if marker.exists():
        finished = _resume(base, marker)
        if finished is not None:
            return finished
    if not present(vault_path(base)):
        return None
    # No other Sharelog (an earlier version too) may have it open while it moves.
    claim = VaultClaim(vault_path(base)).acquire()
    try:
        if not present(vault_path(base)):
            return None  # another start adopted it meanwhile
        return _adopt(base, marker)
    finally:
        claim.release()


def _adopt(base: Path, marker: Path) -> Path:
    vault_id = secrets.token_hex(8)
    root = private_dir(vaults_dir(base))
    staging = root / f"{ADOPTING_PREFIX}{vault_id}"
    target = root / vault_id
    atomic_write(marker, vault_id.encode("ascii"))
    try:
        staging.mkdir(mode=0o700)
        for source in _single_vault_files(base):
            _link(source, staging / source.name)
        known = _entry(base)  # listed from the old place before, it may have a name
        used = known.last_used or (
            dt.datetime.fromtimestamp(vault_path(base).stat().st_mtime, dt.UTC)
            if vault_path(base).is_file() else None)
        profile = {"display_name": known.display_name,
                   "last_used": used.isoformat() if used else None}
        atomic_write(staging / PROFILE, json.dumps(profile, indent=1).encode("utf-8"))
        _fsync_dir(staging)
        _rename(staging, target)  # the moment the vault moves
        _fsync_dir(root)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)  # links only: the originals are whole
        marker.unlink(missing_ok=True)
        raise
    _finish(base, target)
    marker.unlink(missing_ok=True)
    _fsync_dir(base)
    log.info("the vault of an earlier Sharelog moved into a folder of its own")
    return target


def _resume(base: Path, marker: Path) -> Path | None:
    """After an interruption: finish a move that happened, forget one that did not."""
    try:
        vault_id = marker.read_text("ascii").strip()
    except (OSError, UnicodeDecodeError):
        vault_id = ""
    root = vaults_dir(base)
    if _ID.match(vault_id) and (root / vault_id).is_dir():
        _finish(base, root / vault_id)
        marker.unlink(missing_ok=True)
        _fsync_dir(base)
        return root / vault_id
    if _ID.match(vault_id):
        shutil.rmtree(root / f"{ADOPTING_PREFIX}{vault_id}", ignore_errors=True)
    marker.unlink(missing_ok=True)
    return None


def _finish(base: Path, target: Path) -> None:
    """After the rename: the folders follow, and the old names (links to the same files
    now in ``target``) go, the vault's own last. A file in the old place that is not the
    one in ``target`` is left where it is, to be adopted in its turn."""
    for name in _SINGLE_VAULT_FOLDERS:
        source = base / name
        if source.is_dir() and not source.is_symlink() and not (target / name).exists():
            _rename(source, target / name)
    private_dir(qt_settings_dir(base))  # the unlock screen's own, holding nothing of theirs
    leftovers = sorted(_single_vault_files(base), key=lambda p: p.name == VAULT_FILENAME)
    for source in leftovers:
        twin = target / source.name
        if _same_file(source, twin):
            _unlink(source)
    _unlink(base / PROFILE)  # its name and last use went over with it
    if not vault_path(base).exists():
        _unlink(base / f"{VAULT_FILENAME}-shm")  # only an index of the WAL, rebuilt from it
    _fsync_dir(target)


def _single_vault_files(base: Path) -> Iterator[Path]:
    for path in base.iterdir():
        name = path.name
        if name in _NOT_MOVED or not (name.startswith(VAULT_FILENAME)
                                      or name in _SINGLE_VAULT_FILES):
            continue
        if path.is_symlink() or path.is_file():
            yield path
        elif name == VAULT_FILENAME:
            raise IsADirectoryError(name)  # said on the unlock screen, where it is


def _same_file(one: Path, other: Path) -> bool:
    try:
        return os.path.samefile(one, other)
    except OSError:
        return False


# The file operations of an adoption, one place each (a test stops between any two).
def _link(source: Path, target: Path) -> None:
    os.link(source, target, follow_symlinks=False)


def _rename(source: Path, target: Path) -> None:
    os.rename(source, target)


def _unlink(path: Path) -> None:
    path.unlink(missing_ok=True)


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
