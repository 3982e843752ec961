"""Real faults for vault tests: a small disk that fills up, damaged bytes, other processes."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import PASSPHRASE, make_share

ROOT = Path(__file__).resolve().parents[1]
PAGE = 4096
# In every seeded record: it must never appear in an error's text or repr().
MARKER = "Wendeline Qzxmarker"
RAW_WORDS = ("database is locked", "disk is full", "DatabaseError", "OperationalError",
             "OSError", "Errno", "sqlite", "malformed", "not a database", "No space")


class SmallDisk:
    """A tmpfs of a few MiB (real ENOSPC), filled on demand."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.filler = path / "filler"

    def free(self) -> int:
        st = os.statvfs(self.path)
        return st.f_bavail * st.f_frsize

    def fill(self, leave: int = 0) -> None:
        """Leave about ``leave`` bytes free (rounded to the filesystem's pages)."""
        with open(self.filler, "ab") as fh:
            fh.write(b"\0" * max(0, self.free() - leave))
            fh.flush()

    def make_room(self) -> None:
        self.filler.unlink(missing_ok=True)


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[SmallDisk]:
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=6m,mode=0700", "tmpfs",
                           str(mount)], check=False, capture_output=True, text=True)
    if done.returncode != 0:
        pytest.fail(f"a small tmpfs is needed for the full-disk tests and mounting one was "
                    f"refused: {done.stderr.strip()}")
    try:
        yield SmallDisk(mount)
    finally:
        if subprocess.run(["umount", str(mount)], check=False,
                          capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", str(mount)], check=True)


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def seed(base: Path, records: int = 60, *, checkpoint: bool = True) -> list[str]:
    """A real vault at ``base`` with ``records`` decisions carrying MARKER, then locked."""
    from app import session
    from app.model import Subject

    svc = session.create_vault("Sam Worker", PASSPHRASE, base=base)
    ids = []
    with svc.bulk() as writer:
        for i in range(records):
            ids.append(writer.record_decision(make_share(
                subjects=[Subject(name=f"{MARKER} {i}", kind="child", case_ref="C9")],
                reasons=f"{MARKER} reasons {i} " + "x" * 300)))
    if checkpoint:
        svc.vault.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    svc.lock()
    return [str(i) for i in ids]


def flip(path: Path, offset: int) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0xFF
    path.write_bytes(bytes(data))


def pages(path: Path) -> int:
    return path.stat().st_size // PAGE


def run_child(code: str, home: Path, **kw: object) -> subprocess.Popen[str]:
    env = {**os.environ, "SHARELOG_HOME": str(home), "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code)], cwd=ROOT, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)  # type: ignore[call-overload]


def use_everything(svc: object) -> None:
    """What a practitioner does after unlocking: every list, record, search and check."""
    s: object = svc
    for row in s.list_decisions():  # type: ignore[attr-defined]
        s.get_decision(row.record_id)  # type: ignore[attr-defined]
        s.versions(row.record_id)  # type: ignore[attr-defined]
    s.search("Wendeline")  # type: ignore[attr-defined]
    s.my_followups(include_closed=True)  # type: ignore[attr-defined]
    s.verify_integrity(every_signature=True)  # type: ignore[attr-defined]
    s.record_decision(make_share())  # type: ignore[attr-defined]


def assert_safe(exc: BaseException) -> None:
    """Sharelog's own words: no raw database or system text, no record content."""
    from app.session import VaultError

    assert isinstance(exc, VaultError), f"{type(exc).__name__} reached the user"
    for text in (str(exc), repr(exc)):
        assert MARKER not in text and "Wendeline" not in text
        for raw in RAW_WORDS:
            assert raw.lower() not in text.lower(), f"raw text {raw!r} in {text!r}"
