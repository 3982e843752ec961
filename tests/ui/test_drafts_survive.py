"""Half-typed work survives a lock and a crash: drafts live encrypted in the vault."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

from app import session
from tests.conftest import PASSPHRASE
from tests.ui.shell_support import open_window, unlock, vault_folder

ROOT = Path(__file__).resolve().parents[2]


def test_lock_keeps_what_was_typed_as_a_draft_and_clears_the_form(qtbot, home, service):
    service.lock()
    window = open_window(qtbot, home)
    unlock(qtbot, window)
    window.commands.new_share.trigger()
    qtbot.waitUntil(lambda: window.pages.currentWidget() is window.form)
    # Typed, then locked at once: well inside the autosave delay.
    qtbot.keyClicks(window.form.purpose, "Concern raised by the school nurse")
    window.lock()
    qtbot.waitUntil(lambda: window.bridge.service is None)
    assert window.form.purpose.toPlainText() == ""

    unlock(qtbot, window)
    # The form was open at the lock, so the work is back in it.
    qtbot.waitUntil(lambda: window.pages.currentWidget() is window.form
                    and window.form.purpose.toPlainText() == "Concern raised by the school nurse",
                    timeout=10_000)
    qtbot.waitUntil(lambda: "back in the form" in window.statusBar().currentMessage(),
                    timeout=5_000)
    drafts = window.bridge.service.drafts()
    assert [d.body["record"]["purpose"] for d in drafts] == [
        "Concern raised by the school nurse"]

    # Left for the list, then locked: the draft waits under File > Resume a draft.
    window.show_decisions()
    window.lock()
    qtbot.waitUntil(lambda: window.bridge.service is None)
    unlock(qtbot, window)
    qtbot.waitUntil(lambda: "unfinished draft" in window.statusBar().currentMessage(),
                    timeout=5_000)
    assert "school nurse" not in window.statusBar().currentMessage()
    assert window.pages.currentWidget() is not window.form
    assert len(window.bridge.service.drafts()) == 1
    # The draft is offered under File > Resume a draft and opens where it was left.
    menu = window.commands.drafts_menu
    menu.aboutToShow.emit()

    def draft_entries():
        return [a for a in menu.actions() if a.text().startswith("Draft saved")]

    qtbot.waitUntil(lambda: len(draft_entries()) == 1, timeout=5_000)
    draft_entries()[0].trigger()
    qtbot.waitUntil(
        lambda: window.form.purpose.toPlainText() == "Concern raised by the school nurse",
        timeout=10_000)
    window.close()


CRASHING_CLIENT = """
import os, signal, sys, time
from pathlib import Path
from PySide6.QtWidgets import QApplication
app = QApplication([])
from ui.shell.main_window import MainWindow
window = MainWindow(base=Path(os.environ["SHARELOG_HOME"]), use_tray=False)
window.show()
window.start()

def until(condition, seconds=20):
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            sys.exit("timed out")
        app.processEvents()
        time.sleep(0.01)

page = window.vault_screen.unlock_page
until(lambda: window.vault_screen.stack.currentWidget() is page and page.button.isEnabled())
page.passphrase.setText(sys.argv[1])
page.button.click()
until(lambda: window.is_unlocked)
window.commands.new_share.trigger()
saved = []
window.form.draft_saved.connect(saved.append)
window.form.purpose.setPlainText("Typed just before the laptop died")
until(lambda: bool(saved))
print("draft saved", flush=True)
os.kill(os.getpid(), signal.SIGKILL)
"""


def test_a_crash_after_autosave_loses_nothing_typed(home, service):
    service.lock()
    env = {**os.environ, "SHARELOG_HOME": str(home), "PYTHONPATH": str(ROOT),
           "QT_QPA_PLATFORM": "offscreen"}
    child = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(CRASHING_CLIENT), PASSPHRASE],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert child.returncode == -signal.SIGKILL, child.stderr
    assert "draft saved" in child.stdout
    again = session.unlock(PASSPHRASE, base=vault_folder(home))
    try:
        assert [d.body["record"]["purpose"] for d in again.drafts()] == [
            "Typed just before the laptop died"]
    finally:
        again.lock()
