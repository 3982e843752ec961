"""Several people on one computer: one vault each, in a folder of its own (app.vaults), and
the single vault of an earlier Sharelog adopted into that layout without losing anything,
even when the adoption is stopped half way."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from app import backups, session, vaults
from app.model import Subject
from app.paths import settings_path, vault_path
from app.settings import Settings
from db.claim import VaultClaim
from tests.conftest import PASSPHRASE, make_share
from tests.vault_support import MARKER, ROOT, run_child, seed

OTHER_PASSPHRASE = "tangerine lighthouse under quiet rain"
SEEDED = 12  # decisions saved and checkpointed by the earlier Sharelog
IN_WAL = 3  # decisions it saved last, only in the WAL when it stopped


def _earlier_layout(base: Path) -> None:
    """What an earlier Sharelog left: one vault in the data folder itself, a day's backup,
    preferences, Qt's memory of its file dialogs, and changes still only in the WAL."""
    seed(base, SEEDED)  # a lock after changes: the day's backup in backups/
    Settings(idle_lock_minutes=9).save(settings_path(base))
    (base / "qt").mkdir(mode=0o700)
    (base / "qt" / "QtProject.conf").write_text("[FileDialog]\nlastVisited=file:///cases\n")
    child = run_child(f"""
        import os
        from app import session
        from tests.conftest import make_share
        svc = session.unlock({PASSPHRASE!r})
        for i in range({IN_WAL}):
            svc.record_decision(make_share(reasons="saved last, only in the WAL " + str(i)))
        os._exit(0)  # stopped: no lock, no checkpoint
    """, base)
    _, err = child.communicate(timeout=120)
    assert child.returncode == 0, err
    (base / "profile.json").unlink()  # today's Sharelog writes one; the earlier did not
    assert (base / "vault.sharelog-wal").stat().st_size > 0
    assert list((base / "backups").iterdir())


def _assert_whole(base: Path) -> Path:
    """Exactly one vault, adopted, opening with everything the earlier one held."""
    entries = vaults.list_vaults(base)
    assert len(entries) == 1
    folder = entries[0].folder
    assert folder.parent == base / "vaults" and re.fullmatch(r"[0-9a-f]{16}", folder.name)
    # Left in the data folder: the unlock screen's own Qt folder, the old place's lock.
    assert {p.name for p in base.iterdir()} - {"logs"} == {"qt", "vaults",
                                                           "vault.sharelog.lock"}
    assert not (base / "qt" / "QtProject.conf").exists()  # theirs went with their vault
    assert "cases" in (folder / "qt" / "QtProject.conf").read_text()
    assert Settings.load(settings_path(folder)).idle_lock_minutes == 9
    assert backups.list_backups(folder)
    svc = session.unlock(PASSPHRASE, base=folder)
    try:
        assert svc.decision_count() == SEEDED + IN_WAL
        assert len(svc.search("WAL")) == IN_WAL
        assert svc.missing_changes is None  # the chain tip came along, and agrees
        assert svc.verify_integrity().ok
    finally:
        svc.lock()
    assert vaults.list_vaults(base)[0].display_name == "Sam Worker"  # learned on unlock
    return folder


def test_an_earlier_single_vault_moves_into_its_own_folder_whole(home: Path) -> None:
    _earlier_layout(home)
    listed = vaults.list_vaults(home)
    assert [e.display_name for e in listed] == [None]  # its name is inside the vault
    assert listed[0].last_used is not None  # when the vault file was last written
    folder = _assert_whole(home)
    # A second start finds it where it now is, and adopts nothing more.
    assert [e.folder for e in vaults.list_vaults(home)] == [folder]


STOP_AT_STEP = """
    import os, sys
    from pathlib import Path
    from app import vaults
    stop_at, calls = int(sys.argv[1]), [0]
    def stopping(real):
        def step(*args):
            if calls[0] == stop_at:
                os._exit(17)  # the power goes: no cleanup runs
            calls[0] += 1
            return real(*args)
        return step
    for name in ("_link", "_rename", "_unlink"):
        setattr(vaults, name, stopping(getattr(vaults, name)))
    vaults.list_vaults(Path(os.environ["SHARELOG_HOME"]))
"""


@pytest.mark.slow
def test_an_adoption_stopped_at_any_step_loses_nothing(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    template = tmp_path / "earlier"
    template.mkdir()
    _earlier_layout(template)
    stopped_at = []
    for step in range(60):
        base = tmp_path / f"stopped-{step}"
        shutil.copytree(template, base, symlinks=True)
        monkeypatch.setenv("SHARELOG_HOME", str(base))
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        done = subprocess.run([sys.executable, "-c", textwrap.dedent(STOP_AT_STEP), str(step)],
                              cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
                              check=False)
        if done.returncode == 0:
            break  # this many steps make a whole adoption
        assert done.returncode == 17, done.stderr
        stopped_at.append(step)
        _assert_whole(base)  # the next start begins again or finishes: nothing lost
        shutil.rmtree(base)
    assert len(stopped_at) >= 10  # links, the rename, the folders, the old names


def test_each_person_has_a_vault_of_their_own(home: Path) -> None:
    sam = session.create_vault_for("Sam Worker", PASSPHRASE, base=home)
    sam_folder = sam.vault.path.parent
    sam.record_decision(make_share(subjects=[Subject(name=MARKER, kind="child")]))
    sam.lock()
    alex = session.create_vault_for("Alex Morgan", OTHER_PASSPHRASE, base=home)
    alex_folder = alex.vault.path.parent
    # Unlocking one holds only that one: another process could open Sam's now.
    VaultClaim(vault_path(sam_folder)).acquire().release()
    assert alex.search(MARKER.split()[0]) == []
    assert alex.decision_count() == 0
    alex.lock()

    listed = vaults.list_vaults(home)
    assert [e.display_name for e in listed] == ["Alex Morgan", "Sam Worker"]  # last used first
    assert [e.folder for e in listed] == [alex_folder, sam_folder]
    for folder in (sam_folder, alex_folder):
        assert folder.parent == home / "vaults"
        assert re.fullmatch(r"[0-9a-f]{16}", folder.name)
        assert oct(folder.stat().st_mode & 0o777) == "0o700"
        profile = json.loads((folder / "profile.json").read_text("utf-8"))
        assert set(profile) == {"display_name", "last_used"}
        assert MARKER.encode() not in (folder / "profile.json").read_bytes()

    # One person's passphrase opens only their vault; their mistakes delay only theirs.
    for _ in range(3):
        with pytest.raises(session.WrongPassphrase):
            session.unlock(PASSPHRASE, base=alex_folder)
    assert session.wait_before_unlock(alex_folder) > 0
    assert session.wait_before_unlock(sam_folder) == 0
    again = session.unlock(PASSPHRASE, base=sam_folder)
    assert again.decision_count() == 1
    again.lock()
    assert vaults.list_vaults(home)[0].folder == sam_folder
    assert vaults.last_used_folder(home) == sam_folder  # whose colour scheme the start shows


def test_a_vault_left_where_it_is_while_another_sharelog_has_it_open(home: Path) -> None:
    seed(home, 2)
    holder = run_child(f"""
        import sys
        from app import session
        svc = session.unlock({PASSPHRASE!r})
        print("open", flush=True)
        sys.stdin.readline()
        svc.lock()
    """, home, stdin=subprocess.PIPE)
    assert holder.stdout is not None and holder.stdin is not None
    assert holder.stdout.readline().strip() == "open"
    try:
        listed = vaults.list_vaults(home)
        assert [e.folder for e in listed] == [home]  # listed where it is, nothing moved
        assert vault_path(home).is_file() and not (home / "vaults").exists()
        with pytest.raises(session.VaultError):
            session.unlock(PASSPHRASE, base=home)  # in use elsewhere, said as such
    finally:
        holder.stdin.write("\n")
        holder.stdin.flush()
        holder.wait(timeout=60)
    listed = vaults.list_vaults(home)  # the next start moves it
    assert listed[0].folder.parent == home / "vaults"
    assert session.unlock(PASSPHRASE, base=listed[0].folder).decision_count() == 2


def test_backups_and_restore_keep_to_their_own_vault(home: Path) -> None:
    sam = session.create_vault_for("Sam Worker", PASSPHRASE, base=home)
    sam_folder = sam.vault.path.parent
    sam.record_decision(make_share())
    sam.lock()  # after a change: Sam's day's backup, in Sam's folder
    alex = session.create_vault_for("Alex Morgan", OTHER_PASSPHRASE, base=home)
    alex_folder = alex.vault.path.parent
    alex.lock()
    assert [b.kind for b in backups.list_backups(sam_folder)] == ["daily"]
    assert backups.list_backups(alex_folder) == []
    alex_before = vault_path(alex_folder).read_bytes()

    sam = session.unlock(PASSPHRASE, base=sam_folder)
    sam.record_decision(make_share())
    sam.lock()
    daily = backups.list_backups(sam_folder)[0].path
    check = backups.check_backup(daily, PASSPHRASE, sam_folder)
    backups.restore(check, sam_folder)
    assert (sam_folder / "replaced").is_dir()
    assert vault_path(alex_folder).read_bytes() == alex_before  # Alex's vault untouched
    assert not (alex_folder / "replaced").exists()
    restored = session.unlock(PASSPHRASE, base=sam_folder)
    assert restored.decision_count() == 2  # the day's backup, taken at the last lock
    assert restored.verify_integrity().ok
    restored.lock()
    assert {e.folder for e in vaults.list_vaults(home)} == {sam_folder, alex_folder}
