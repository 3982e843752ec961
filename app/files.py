"""Whole-file writes: temp file (owner-only), fsync, atomic replace."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def atomic_path(path: Path, *, prefix: str = ".tmp-", suffix: str = "") -> Iterator[Path]:
    """A temporary file beside ``path`` for a writer that wants a file name.

    The file exists, empty and owner-only (0600), when the block starts. When the
    block ends normally it is fsynced and atomically replaces ``path`` (and the
    folder is fsynced); when the block raises, it is removed and ``path`` is
    untouched.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
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
