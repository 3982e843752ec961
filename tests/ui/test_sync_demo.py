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
MORGAN_PASSPHRASE = "marble kettle harbour violin 42"


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
    """One data folder, one window, as ``make run`` gives a newcomer: Sam records and it
    syncs; Sam locks; Morgan chooses "Someone else: sign in", makes a vault, is taken
    straight to the sign-in dialog, and receives Sam's record with Sam's name."""
    session.create_vault_for("Sam Carter", PASSPHRASE, base=home).lock()

    window = open_window(qtbot, home)
    unlock(qtbot, window)
    sign_in_in_window(qtbot, window, "sam")
    saved: list[object] = []
    window.bridge.write(lambda s: s.record_decision(make_share()), saved.append,
                        saved.append)
    qtbot.waitUntil(lambda: bool(saved), timeout=10_000)
    record_id = saved[0]
    qtbot.waitUntil(lambda: window.sync_label.text().startswith("Synced at ")
                    and window.bridge.service.pending_sync_count() == 0, timeout=30_000)
    sam_id = window.bridge.service.identity.user_id
    window.lock()

    screen = window.vault_screen
    unlock_page, create_page = screen.unlock_page, screen.create_page
    qtbot.waitUntil(lambda: screen.stack.currentWidget() is unlock_page)
    button = unlock_page.someone_else_button
    assert button.text() == "Someone else: sign in"  # the store's address is known
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: screen.stack.currentWidget() is create_page)
    qtbot.keyClicks(create_page.name, "Morgan Reyes")
    qtbot.keyClicks(create_page.passphrase, MORGAN_PASSPHRASE)
    qtbot.keyClicks(create_page.confirm, MORGAN_PASSPHRASE)
    qtbot.mouseClick(create_page.button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.is_unlocked, timeout=20_000)
    # No menu to find: the new vault goes on to the sign-in dialog by itself.
    qtbot.waitUntil(lambda: window.sync.sign_in_dialog is not None
                    and window.sync.sign_in_dialog.isVisible(), timeout=10_000)
    dialog = window.sync.sign_in_dialog
    assert dialog.address.text() == demo_store
    qtbot.keyClicks(dialog.username, "morgan")
    qtbot.keyClicks(dialog.password, USERS["morgan"].password)
    qtbot.mouseClick(dialog.button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.sync_label.text().startswith("Synced at "),
                    timeout=30_000)
    service = window.bridge.service
    assert service.identity.user_id != sam_id  # Morgan's own vault, not Sam's reopened
    qtbot.waitUntil(lambda: window.decisions.model.rowCount() == 1, timeout=10_000)
    assert service.get_decision(record_id).owner_id == sam_id
    assert service.user_name(sam_id) == "Sam Carter"  # from the store, not "Unknown user"
    # A manager's window: Mine / Team and the practitioner filter, Sam's record read-only.
    panel = window.decisions
    qtbot.waitUntil(panel.team_button.isVisible, timeout=10_000)
    assert panel.practitioner.findText("Sam Carter") > 0
    assert window.bridge.service.get_decision(record_id).read_only
    window.close()
