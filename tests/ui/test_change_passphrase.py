"""File > Change passphrase…: refused beside the field before anything runs, or a real rekey."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from app import session
from tests.conftest import PASSPHRASE
from tests.ui.shell_support import open_window, unlock, vault_folder
from ui.vault.passphrase import ChangePassphraseDialog
from ui.vault.screens import Refused

NEW_PASSPHRASE = "lantern orchard copper 7 kites"


def _open(qtbot, home, service):
    service.lock()  # the window opens the vault itself
    window = open_window(qtbot, home)
    unlock(qtbot, window)
    return window


def _dialog(qtbot, window) -> ChangePassphraseDialog:
    window.commands.change_passphrase.trigger()
    dialogs = [d for d in window.findChildren(ChangePassphraseDialog) if d.isVisible()]
    assert len(dialogs) == 1
    return dialogs[0]


def _fill(qtbot, dialog, current: str, new: str, again: str) -> None:
    qtbot.keyClicks(dialog.current, current)
    qtbot.keyClicks(dialog.new, new)
    qtbot.keyClicks(dialog.confirm, again)


def _change(qtbot, dialog) -> None:
    qtbot.mouseClick(dialog.change_button, Qt.MouseButton.LeftButton)


def _lock_and_wait(window) -> None:
    window.lock()
    window.bridge.wait_idle()  # the vault is closed before the test opens it again


def _opens_with(home, passphrase: str) -> bool:
    try:
        service = session.unlock(passphrase, base=vault_folder(home))
    except session.WrongPassphrase:
        return False
    service.lock()
    return True


def test_disabled_while_locked(qtbot, home, service):
    service.lock()
    window = open_window(qtbot, home)
    assert not window.commands.change_passphrase.isEnabled()
    window.show_change_passphrase()  # a stray call while locked opens nothing
    assert not window.findChildren(ChangePassphraseDialog)
    unlock(qtbot, window)
    assert window.commands.change_passphrase.isEnabled()
    window.lock()
    assert not window.commands.change_passphrase.isEnabled()
    window.close()


def test_change_passphrase_end_to_end(qtbot, home, service):
    window = _open(qtbot, home, service)
    dialog = _dialog(qtbot, window)
    qtbot.keyClicks(dialog.new, NEW_PASSPHRASE)
    assert dialog.strength.value() >= 2
    assert dialog.strength_label.text().startswith("Strength: ")
    qtbot.keyClicks(dialog.current, PASSPHRASE)
    qtbot.keyClicks(dialog.confirm, NEW_PASSPHRASE)
    assert dialog.match_label.text() == "The passphrases match."

    _change(qtbot, dialog)
    # Busy at once, before the worker can answer: nothing to press, nothing to edit.
    assert dialog.busy
    assert not dialog.change_button.isEnabled() and not dialog.cancel_button.isEnabled()
    assert dialog.working.isVisible() and dialog.current.isReadOnly()
    dialog.reject()  # Esc (or a lock) cannot abandon a rekey half way
    assert dialog.isVisible()

    qtbot.waitUntil(lambda: dialog.done_ok, timeout=30_000)
    assert "Your passphrase has been changed" in dialog.status.text()
    assert dialog.cancel_button.text() == "Close" and dialog.change_button.isHidden()
    assert (dialog.current.text(), dialog.new.text(), dialog.confirm.text()) == ("", "", "")
    with qtbot.waitSignal(dialog.finished, timeout=5_000):
        qtbot.mouseClick(dialog.cancel_button, Qt.MouseButton.LeftButton)

    _lock_and_wait(window)
    assert not _opens_with(home, PASSPHRASE)
    assert _opens_with(home, NEW_PASSPHRASE)
    # And the window's own unlock screen takes the new one.
    unlock(qtbot, window, NEW_PASSPHRASE)
    window.close()


def test_wrong_current_passphrase_says_so_and_changes_nothing(qtbot, home, service):
    window = _open(qtbot, home, service)
    dialog = _dialog(qtbot, window)
    _fill(qtbot, dialog, "not the passphrase at all", NEW_PASSPHRASE, NEW_PASSPHRASE)
    _change(qtbot, dialog)
    qtbot.waitUntil(lambda: not dialog.busy, timeout=30_000)

    assert dialog.current_error.isVisible()
    assert dialog.current_error.text() == Refused(0, 0).message  # the unlock screen's words
    assert not dialog.done_ok and dialog.isVisible()
    assert dialog.change_button.isEnabled() and not dialog.current.isReadOnly()
    assert dialog.focusWidget() is dialog.current

    window.close()  # locks the vault and waits for the worker
    assert not _opens_with(home, NEW_PASSPHRASE)
    assert _opens_with(home, PASSPHRASE)


@pytest.mark.parametrize(("new", "again", "field"), [
    (NEW_PASSPHRASE, NEW_PASSPHRASE + "x", "confirm"),
    ("short", "short", "new"),
    (PASSPHRASE, PASSPHRASE, "new"),
])
def test_mismatched_or_weak_new_passphrase_is_refused_beside_its_field(
        qtbot, home, service, new, again, field):
    window = _open(qtbot, home, service)
    dialog = _dialog(qtbot, window)
    _fill(qtbot, dialog, PASSPHRASE, new, again)
    qtbot.waitUntil(lambda: window.bridge.pending == 0, timeout=10_000)
    qtbot.keyClick(dialog.confirm, Qt.Key.Key_Return)  # Enter presses "Change passphrase"

    error = dialog.confirm_error if field == "confirm" else dialog.new_error
    other = dialog.new_error if field == "confirm" else dialog.confirm_error
    assert error.isVisible() and error.text()
    assert not other.isVisible()
    assert not dialog.current_error.isVisible()
    if field == "confirm":
        assert "different" in error.text()
    assert not dialog.busy and window.bridge.pending == 0  # nothing was sent to the vault

    # Typing the same passphrase twice clears the mismatch message at once.
    if field == "confirm":
        dialog.confirm.setText(new)
        assert not dialog.confirm_error.isVisible()

    window.close()  # locks the vault and waits for the worker
    assert _opens_with(home, PASSPHRASE)
