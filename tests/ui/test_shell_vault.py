"""Create a vault by typing; unlock; wrong passphrases get a message and a growing delay."""

from __future__ import annotations

from PySide6.QtCore import Qt

from app import session
from app.settings import Settings, settings_path
from tests.conftest import PASSPHRASE
from tests.ui.shell_support import open_window, unlock, vault_folder


def test_create_vault_by_typing(qtbot, home):
    window = open_window(qtbot, home)
    page = window.vault_screen.create_page
    qtbot.waitUntil(lambda: window.vault_screen.stack.currentWidget() is page)
    assert window.windowTitle() == "Sharelog"
    qtbot.keyClicks(page.name, "Sam Worker")
    qtbot.keyClicks(page.passphrase, "short")
    assert not page.button.isEnabled()
    assert "10 characters" in page.strength_label.text()
    qtbot.keyClicks(page.passphrase, " but now long enough")
    assert page.strength.value() >= 2
    qtbot.keyClicks(page.confirm, "short but now long")
    assert "different" in page.match_label.text()
    assert not page.button.isEnabled()
    qtbot.keyClicks(page.confirm, " enough")
    assert page.button.isEnabled()
    qtbot.keyClick(page.confirm, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: window.is_unlocked, timeout=10_000)
    assert window.screens.currentWidget() is window.pages
    assert session.vault_exists(vault_folder(home))
    assert window.windowTitle() == "Sharelog"
    window.close()


def test_unlock_existing_vault(qtbot, home, service):
    service.lock()
    window = open_window(qtbot, home)
    unlock(qtbot, window)
    qtbot.waitUntil(lambda: window.sync_label.text() == "Not signed in")
    assert window.commands.lock.isEnabled()
    window.close()


def test_wrong_passphrase_message_and_growing_delay(qtbot, home, service):
    service.lock()
    window = open_window(qtbot, home)
    screen = window.vault_screen
    page = screen.unlock_page
    qtbot.waitUntil(lambda: screen.stack.currentWidget() is page)

    def attempt(expected_failures: int) -> None:
        qtbot.waitUntil(page.button.isEnabled, timeout=10_000)
        page.passphrase.clear()
        qtbot.keyClicks(page.passphrase, "not the passphrase")
        qtbot.mouseClick(page.button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: screen.failures == expected_failures, timeout=10_000)
        assert page.message.text() == "That passphrase doesn't open this vault."

    attempt(1)
    attempt(2)
    assert screen.delay_left == 0 and page.button.isEnabled()
    attempt(3)
    assert session.unlock_delay(3) == 1.0
    assert 0.5 < screen.delay_left <= 1.0  # what is left of it once the answer arrives
    assert not page.button.isEnabled()
    assert "try again in 1 s" in page.wait_label.text()
    attempt(4)  # waits for the 1 s delay to end first
    assert 1.5 < screen.delay_left <= 2.0
    assert not page.button.isEnabled()
    assert "try again in 2 s" in page.wait_label.text()
    assert session.failed_unlocks(vault_folder(home)) == 4
    # The right passphrase still opens it once the wait is over, and resets the count.
    qtbot.waitUntil(page.button.isEnabled, timeout=10_000)
    page.passphrase.clear()
    unlock(qtbot, window, PASSPHRASE)
    assert session.failed_unlocks(vault_folder(home)) == 0
    window.close()


def test_delay_survives_a_restart(qtbot, home, service):
    service.lock()
    for _ in range(3):
        try:
            session.unlock("wrong wrong wrong", base=home)
        except Exception:  # noqa: BLE001 - WrongPassphrase expected
            pass
    # As if two more had failed: a 4 s wait, so a slow start cannot outlast it.
    settings = Settings.load(settings_path(home))
    settings.failed_unlocks = 5
    settings.save(settings_path(home))
    window = open_window(qtbot, home)
    page = window.vault_screen.unlock_page
    qtbot.waitUntil(lambda: window.vault_screen.stack.currentWidget() is page)
    assert not page.button.isEnabled()
    assert "try again" in page.wait_label.text()
    qtbot.waitUntil(page.button.isEnabled, timeout=10_000)
    window.close()
