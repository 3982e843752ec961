"""A whole session in a fresh home, run as its own process by test_data_folder.py.

Starts Sharelog the way ``main.py`` does (``ui.shell.app.start``), creates a vault on the
first-run page, records a decision, leaves a draft, saves preferences and exports a
PDF through the warning and Qt's own save dialog; then locks and quits. Prints the
exported file's path.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt, QTimer
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QFileDialog, QLineEdit, QMessageBox

from tests.conftest import PASSPHRASE, make_share


def wait_until(condition: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit("timed out waiting")
        QTest.qWait(10)


def on_next_modal(kind: type, act: Callable[[object], None]) -> None:
    def poll() -> None:
        modal = QApplication.activeModalWidget()
        if isinstance(modal, kind) and modal.isVisible():
            act(modal)
        else:
            QTimer.singleShot(20, poll)

    QTimer.singleShot(0, poll)


def main(export_to: Path) -> None:
    from ui.shell import app as ui_app
    from ui.shell.preferences import PreferencesDialog

    app = QApplication(sys.argv[:1])
    window = ui_app.start(app)
    screen = window.vault_screen
    wait_until(lambda: screen.stack.currentWidget() is screen.create_page)
    page = screen.create_page
    QTest.keyClicks(page.name, "Sam Worker")
    QTest.keyClicks(page.passphrase, PASSPHRASE)
    QTest.keyClicks(page.confirm, PASSPHRASE)
    wait_until(page.button.isEnabled)
    QTest.mouseClick(page.button, Qt.MouseButton.LeftButton)
    wait_until(lambda: window.is_unlocked, 60)

    saved: list[object] = []
    window.bridge.write(lambda s: s.record_decision(make_share()), saved.append, saved.append)
    wait_until(lambda: bool(saved))
    record_id = str(saved[0])

    window.new_decision("disclosure")
    QTest.keyClicks(window.form.purpose, "A draft left half done")
    drafted: list[str] = []
    window.form.draft_saved.connect(drafted.append)
    window.form.save_draft_now()
    wait_until(lambda: bool(drafted))
    window.show_decisions()

    window.commands.preferences.trigger()
    wait_until(lambda: any(d.isVisible() for d in window.findChildren(PreferencesDialog)))
    prefs = next(d for d in window.findChildren(PreferencesDialog) if d.isVisible())
    prefs.idle_minutes.setValue(9)
    prefs.accept()
    wait_until(lambda: not prefs.saving)

    window.decisions.select_record(record_id)
    wait_until(window.commands.export_record.isEnabled)

    def save_as(dialog: object) -> None:
        assert isinstance(dialog, QFileDialog)
        name = dialog.findChild(QLineEdit, "fileNameEdit")
        name.setText(str(export_to))
        QTest.keyClick(name, Qt.Key.Key_Return)

    def warned(box: object) -> None:
        assert isinstance(box, QMessageBox)
        on_next_modal(QFileDialog, save_as)
        QTest.keyClick(box.focusWidget() or box, Qt.Key.Key_Return,
                       Qt.KeyboardModifier.ControlModifier)

    on_next_modal(QMessageBox, warned)
    window.commands.export_record.trigger()
    wait_until(export_to.exists, 60)
    window.lock()
    window.close()
    app.processEvents()
    print(export_to)


if __name__ == "__main__":
    main(Path(sys.argv[1]))
