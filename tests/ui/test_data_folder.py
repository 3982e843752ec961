"""Everything a session writes stays in Sharelog's data folder, every folder owner-only."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_a_session_writes_only_inside_the_data_folder(tmp_path: Path) -> None:
    home = tmp_path / "home"
    documents = home / "Documents"
    documents.mkdir(parents=True)
    export = documents / "for-the-case-file.pdf"
    env = {k: v for k, v in os.environ.items()
           if k != "SHARELOG_HOME" and not k.startswith("XDG_")}
    env.update(HOME=str(home), QT_QPA_PLATFORM="offscreen")
    if "XDG_RUNTIME_DIR" in os.environ:  # Qt's sockets; never under the home
        env["XDG_RUNTIME_DIR"] = os.environ["XDG_RUNTIME_DIR"]
    done = subprocess.run([sys.executable, "-m", "tests.ui.fresh_home_session", str(export)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=240,
                          check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert export.read_bytes().startswith(b"%PDF")

    data = home / ".local" / "share" / "Sharelog"  # the platform's data folder on Linux
    [vault] = list((data / "vaults").iterdir())  # the one person's own folder
    assert (vault / "vault.sharelog").is_file()
    assert (vault / "settings.json").is_file()
    assert (data / "logs" / "sharelog.log").is_file()
    outside = sorted(str(p.relative_to(home)) for p in home.rglob("*")
                     if p != export and data not in (p, *p.parents)
                     and p not in (documents, *data.parents))
    assert outside == []
    # The save dialog's recent folders (they can name whom an export was about): that
    # person's own, in their vault's folder, not where the unlock screen keeps its own.
    assert "Documents" in (vault / "qt" / "QtProject.conf").read_text("utf-8")
    assert not (data / "qt" / "QtProject.conf").exists() or \
        "Documents" not in (data / "qt" / "QtProject.conf").read_text("utf-8")
    folders = [data, *(p for p in data.rglob("*") if p.is_dir())]
    wrong = {str(p.relative_to(home)): oct(stat.S_IMODE(p.stat().st_mode))
             for p in folders if stat.S_IMODE(p.stat().st_mode) != 0o700}
    assert wrong == {}
    assert stat.S_IMODE(export.stat().st_mode) == 0o600
