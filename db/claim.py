"""One process at a time per vault: a lock file held while the vault is open.

``vault.sharelog.lock`` (empty, owner-only) is locked with the operating system's
advisory file lock (``filelock``: flock on Linux and macOS, LockFileEx on Windows)
from before the vault is read until it is locked again. The lock goes with the
process, so a crash never leaves a vault claimed. A second process, or a second
open in the same one, gets ``VaultInUse`` instead of a second writer.

Inside one process a claim being let go (a lock runs on the vault worker after
the work queued before it) is waited for, up to the busy timeout, so unlocking
right after locking never meets the vault's own earlier claim.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

from filelock import FileLock, Timeout

from db import vault_errors
from db.vault_errors import OPENING, VaultInUse, translated

_held_here: set[str] = set()
_changed = threading.Condition()

SUFFIX = ".lock"


def path_for(vault_path: Path) -> Path:
    return vault_path.with_name(vault_path.name + SUFFIX)


class VaultClaim:
    def __init__(self, vault_path: Path) -> None:
        self._name = os.path.abspath(path_for(vault_path))
        # Not thread-local: a vault is opened on one thread and locked on another.
        self._lock = FileLock(self._name, timeout=0, mode=0o600, thread_local=False)

    def acquire(self) -> VaultClaim:
        with _changed:
            if not _changed.wait_for(lambda: self._name not in _held_here,
                                     timeout=vault_errors.BUSY_TIMEOUT_MS / 1000):
                raise VaultInUse()
            try:
                self._lock.acquire(timeout=0)
            except Timeout:
                raise VaultInUse() from None
            except OSError as exc:
                raise translated(exc, OPENING) from exc
            _held_here.add(self._name)
        return self

    def release(self) -> None:
        with _changed:
            if self._lock.is_locked:
                self._lock.release(force=True)
                _held_here.discard(self._name)
                _changed.notify_all()

    @property
    def held(self) -> bool:
        return bool(self._lock.is_locked)
