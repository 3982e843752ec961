"""``make run``'s demo store answering the window with the demo team (issue 10, point 8):
Sam records a decision and it syncs; Morgan, the manager, signs in on the same computer
in another vault and receives it, with Sam's name from the store."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from app import session
from server import demo
from server.pgcluster import free_port
from server.process import ROOT
from tests.conftest import PASSPHRASE, make_share
from tests.ui.shell_support import open_window, unlock

USERS = {u.username: u for u in demo.DEMO_USERS}


@pytest.fixture
def demo_store(qtbot, home: Path, monkeypatch) -> Iterator[str]:
    """``python -m server demo`` as ``make run`` starts it (its own SQLite file in the
    data folder); the client gets its address as ``SHARELOG_SERVER``."""
    port = free_port()
    url = demo.demo_url(port)
    with open(home / "demo.out", "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "server", "demo", "--port", str(port)],
                                cwd=ROOT, env={**os.environ, "SHARELOG_HOME": str(home)},
                                stdout=out, stderr=subprocess.STDOUT)
    qtbot.waitUntil(lambda: demo.answering(url), timeout=60_000)
    monkeypatch.setenv("SHARELOG_SERVER", url)
    yield url
    demo.stop(proc)


def sign_in_in_window(qtbot, window, username: str) -> None:
    window.sync.sign_in.trigger()  # Sync > Sign in…
    qtbot.waitUntil(lambda: window.sync.sign_in_dialog is not None
                    and window.sync.sign_in_dialog.isVisible())
    dialog = window.sync.sign_in_dialog
    assert dialog.address.text() == os.environ["SHARELOG_SERVER"]
    qtbot.keyClicks(dialog.username, username)
    qtbot.keyClicks(dialog.password, USERS[username].password)
    qtbot.mouseClick(dialog.button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.sync.sign_in_dialog is None, timeout=30_000)
    assert f"Signed in as {USERS[username].display_name}" in \
        window.statusBar().currentMessage()


def test_the_whole_loop_on_one_computer_with_the_demo_store(qtbot, home: Path,
                                                            demo_store: str) -> None:
    sam_home, morgan_home = home / "sam", home / "morgan"
    for base, name in ((sam_home, "Sam Carter"), (morgan_home, "Morgan Reyes")):
        session.create_vault(name, PASSPHRASE, base=base).lock()

    sam = open_window(qtbot, sam_home)
    unlock(qtbot, sam)
    sign_in_in_window(qtbot, sam, "sam")
    saved: list[object] = []
    sam.bridge.write(lambda s: s.record_decision(make_share()), saved.append, saved.append)
    qtbot.waitUntil(lambda: bool(saved), timeout=10_000)
    record_id = saved[0]
    qtbot.waitUntil(lambda: sam.sync_label.text().startswith("Synced at ")
                    and sam.bridge.service.pending_sync_count() == 0, timeout=30_000)
    sam_id = sam.bridge.service.identity.user_id
    sam.close()

    morgan = open_window(qtbot, morgan_home)
    unlock(qtbot, morgan)
    sign_in_in_window(qtbot, morgan, "morgan")
    qtbot.waitUntil(lambda: morgan.sync_label.text().startswith("Synced at "),
                    timeout=30_000)
    service = morgan.bridge.service
    qtbot.waitUntil(lambda: morgan.decisions.model.rowCount() == 1, timeout=10_000)
    assert service.get_decision(record_id).owner_id == sam_id
    assert service.user_name(sam_id) == "Sam Carter"  # from the store, not "Unknown user"
    morgan.close()
