"""Whole-file writes: temp file (owner-only), fsync, atomic replace."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path


def make_private_dirs(path: Path) -> Path:
    """Create ``path`` and any missing folders above it, each owner-only (0700).

    ``Path.mkdir(parents=True, mode=...)`` gives the mode to the last folder only; the
    ones above it would follow the umask (often 0755). Folders that exist are left as
    they are (an export may go to a folder of the person's own).
    """
    missing = []
    folder = path
    while not folder.exists() and folder != folder.parent:
        missing.append(folder)
        folder = folder.parent
    for folder in reversed(missing):
        with contextlib.suppress(FileExistsError):
            folder.mkdir(mode=0o700)
        with contextlib.suppress(OSError):
            os.chmod(folder, 0o700)  # the umask may have taken bits off; never adds any
    return path


def private_dir(path: Path) -> Path:
    """One of Sharelog's own folders (its home, logs, backups): created or made 0700."""
    make_private_dirs(path)
    with contextlib.suppress(OSError):
        os.chmod(path, 0o700)
    return path


@contextlib.contextmanager
def atomic_path(path: Path, *, prefix: str = ".tmp-", suffix: str = "") -> Iterator[Path]:
    """A temporary file beside ``path`` for a writer that wants a file name.

    The file exists, empty and owner-only (0600), when the block starts. When the
    block ends normally it is fsynced and atomically replaces ``path`` (and the
    folder is fsynced); when the block raises, it is removed and ``path`` is
    untouched.
    """
    make_private_dirs(path.parent)
    fd, name = tempfile.mkstemp(prefix=prefix, suffix=suffix, dir=path.parent)
    tmp = Path(name)
    try:
        try:
            os.fchmod(fd, 0o600)
        finally:
            os.close(fd)
        yield tmp
        os.chmod(tmp, 0o600)  # a writer may have recreated the file with wider permissions
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    with contextlib.suppress(OSError):
        dfd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)


def atomic_write(path: Path, data: bytes) -> None:
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        fh.write(data)
