"""Whole-file writes: all or nothing, owner-only, nothing left beside the target."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from app.files import atomic_path, atomic_write


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_success_replaces_the_target_owner_only(tmp_path: Path) -> None:
    target = tmp_path / "folder" / "export.pdf"
    with atomic_path(target, suffix=".part") as tmp:
        assert tmp.parent == target.parent and tmp.exists() and _mode(tmp) == 0o600
        tmp.write_bytes(b"%PDF new")
    assert target.read_bytes() == b"%PDF new"
    assert _mode(target) == 0o600
    assert sorted(p.name for p in target.parent.iterdir()) == ["export.pdf"]


def test_a_writer_that_widens_permissions_still_gives_owner_only(tmp_path: Path) -> None:
    target = tmp_path / "export.pdf"
    with atomic_path(target) as tmp:
        tmp.unlink()
        tmp.write_bytes(b"recreated")
        tmp.chmod(0o644)
    assert _mode(target) == 0o600


def test_failure_leaves_the_target_and_no_temp_file(tmp_path: Path) -> None:
    target = tmp_path / "settings.json"
    target.write_bytes(b"old")
    target.chmod(0o640)
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_bytes(b"half")
        raise RuntimeError("the writer failed")
    assert target.read_bytes() == b"old"
    assert _mode(target) == 0o640
    assert [p.name for p in tmp_path.iterdir()] == ["settings.json"]


def test_atomic_write_is_owner_only(tmp_path: Path) -> None:
    target = tmp_path / "a.json"
    atomic_write(target, b"{}")
    assert target.read_bytes() == b"{}" and _mode(target) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["a.json"]
