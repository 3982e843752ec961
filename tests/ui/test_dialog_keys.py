"""Ctrl+Enter accepts every dialog that has a main action, from any of its fields."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import shiboken6
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication, QFileDialog, QLineEdit, QMessageBox, QWidget

from tests.conftest import PASSPHRASE, make_share
from tests.ui.shell_support import open_window, unlock, wait_for_rows
from ui.shell.preferences import PreferencesDialog
from ui.vault.passphrase import ChangePassphraseDialog
from ui.widgets.dialogs import DateAndReasonDialog, ReasonDialog

CTRL = Qt.KeyboardModifier.ControlModifier


def _ctrl_enter(widget: QWidget, key: Qt.Key = Qt.Key.Key_Return) -> None:
    from PySide6.QtTest import QTest

    QTest.keyClick(widget, key, CTRL)


def _when_modal(kind: type, act: Callable[[QWidget], None]) -> None:
    """Act on the next modal dialog of this kind once it shows (it runs its own loop)."""
    def poll() -> None:
        modal = QApplication.activeModalWidget()
        if not isinstance(modal, kind) or not modal.isVisible():
            QTimer.singleShot(20, poll)
            return
        # A dialog the key failed to close is closed after a while, so the test fails
        # at its checks instead of waiting in the dialog's own loop for ever.
        QTimer.singleShot(10_000, lambda: shiboken6.isValid(modal) and modal.isVisible()
                          and modal.reject())
        act(modal)

    QTimer.singleShot(0, poll)


def _window(qtbot, home, service):
    service.lock()
    window = open_window(qtbot, home)
    unlock(qtbot, window)
    return window


def test_reason_dialogs_accept_from_the_text_and_only_with_a_reason(qtbot, home, service):
    window = _window(qtbot, home, service)  # the window gives the application its keys
    dialog = ReasonDialog(window, "Mark the follow-up done", "What happened?")
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    dialog.text.setFocus()
    _ctrl_enter(dialog.text)  # nothing written yet: OK is off, and so is the key
    assert dialog.isVisible() and dialog.result() == 0
    qtbot.keyClicks(dialog.text, "Received and understood")
    _ctrl_enter(dialog.text, Qt.Key.Key_Enter)  # the keypad's Enter too
    assert not dialog.isVisible()
    assert dialog.result() == ReasonDialog.DialogCode.Accepted
    assert dialog.reason() == "Received and understood"  # no new line typed into it

    later = DateAndReasonDialog(window, "Reschedule", "New due date",
                                earliest=dt.date(2026, 1, 1))
    qtbot.addWidget(later)
    later.show()
    qtbot.waitExposed(later)
    _ctrl_enter(later.date_edit)
    assert later.result() == DateAndReasonDialog.DialogCode.Accepted
    window.close()


def test_preferences_and_passphrase_accept_with_ctrl_enter(qtbot, home, service):
    window = _window(qtbot, home, service)
    window.commands.preferences.trigger()
    qtbot.waitUntil(lambda: any(d.isVisible() for d in window.findChildren(PreferencesDialog)),
                    timeout=5_000)
    prefs = next(d for d in window.findChildren(PreferencesDialog) if d.isVisible())
    saved = []
    prefs.saved.connect(saved.append)
    prefs.idle_minutes.setValue(7)
    _ctrl_enter(prefs.idle_minutes.lineEdit())
    qtbot.waitUntil(lambda: bool(saved) and not (shiboken6.isValid(prefs) and prefs.isVisible()),
                    timeout=5_000)
    assert saved[0].idle_lock_minutes == 7

    window.commands.change_passphrase.trigger()
    change = next(d for d in window.findChildren(ChangePassphraseDialog) if d.isVisible())
    qtbot.keyClicks(change.current, PASSPHRASE)
    qtbot.keyClicks(change.new, "lantern orchard copper 7 kites")
    qtbot.keyClicks(change.confirm, "lantern orchard copper 7 kites")
    with qtbot.waitSignal(change.changed, timeout=30_000):
        _ctrl_enter(change.confirm)
    window.close()


def test_the_export_warning_and_the_save_dialog_accept_with_ctrl_enter(qtbot, home, service,
                                                                       tmp_path, monkeypatch):
    """Qt's own message box and file dialog: the key presses the main button, not Cancel
    (the warning's default button, which Enter alone presses, is Cancel)."""
    record_id = service.record_decision(make_share())
    monkeypatch.setenv("HOME", str(tmp_path))  # the save dialog starts in a folder of ours
    (tmp_path / "Documents").mkdir()
    window = _window(qtbot, home, service)
    wait_for_rows(qtbot, window, 1)
    window.decisions.select_record(record_id)
    qtbot.waitUntil(window.commands.export_record.isEnabled, timeout=5_000)
    target = tmp_path / "Documents" / "for-the-case-file.pdf"

    def save_as(dialog: QWidget) -> None:
        name = dialog.findChild(QLineEdit, "fileNameEdit")
        name.setText(str(target))
        _ctrl_enter(name)

    def warned(box: QWidget) -> None:
        assert "NOT be encrypted" in box.text()
        _when_modal(QFileDialog, save_as)
        _ctrl_enter(box.focusWidget() or box)

    _when_modal(QMessageBox, warned)
    window.commands.export_record.trigger()
    qtbot.waitUntil(target.exists, timeout=30_000)
    assert target.read_bytes().startswith(b"%PDF")
    window.close()


def test_closing_the_form_keeps_the_draft_with_ctrl_enter(qtbot, home, service):
    window = _window(qtbot, home, service)
    window.new_decision("disclosure")
    form = window.form
    first = form.focusWidget() or form
    qtbot.keyClicks(first, "x")
    kept = []
    form.draft_saved.connect(kept.append)

    def keep(box: QWidget) -> None:
        assert isinstance(box, QMessageBox)
        _ctrl_enter(box.focusWidget() or box)

    _when_modal(QMessageBox, keep)
    qtbot.keyClick(form.focusWidget() or form, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: bool(kept), timeout=5_000)
    assert window.pages.currentWidget() is window.splitter
    window.close()


def test_dialogs_without_a_main_action_ignore_the_key(qtbot, home):
    from ui.shell.shortcuts import ShortcutsDialog

    window = open_window(qtbot, home)
    dialog = ShortcutsDialog(window.commands.all(), window)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    _ctrl_enter(dialog.tree)
    assert dialog.isVisible()  # only Close: Ctrl+Enter is not a way to dismiss it
    dialog.close()
    qtbot.waitUntil(lambda: window.vault_screen.stack.currentWidget()
                    is window.vault_screen.create_page)
    window.close()
