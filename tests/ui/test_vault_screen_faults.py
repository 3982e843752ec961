"""The vault screen says what is wrong with a vault that does not open, and offers what helps."""

from __future__ import annotations

import sqlite3

from PySide6.QtCore import Qt

from app import session
from app.paths import vault_path
from tests.conftest import PASSPHRASE
from tests.ui.shell_support import open_window, vault_folder
from tests.vault_support import flip, seed


def test_a_damaged_vault_is_said_with_restore_and_set_aside_not_a_wrong_passphrase(
        qtbot, home):
    seed(home, 5)
    flip(vault_path(home), 300)
    window = open_window(qtbot, home)
    screen = window.vault_screen
    page = screen.unlock_page
    qtbot.waitUntil(lambda: screen.stack.currentWidget() is page)
    assert page.restore_button.isHidden() and page.set_aside_button.isHidden()
    qtbot.keyClicks(page.passphrase, PASSPHRASE)
    qtbot.mouseClick(page.button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "damaged" in page.message.text(), timeout=10_000)
    text = page.message.text()
    assert text.startswith("Your passphrase is right")
    assert "page 1" in text and "Restore the latest backup" in text
    assert "doesn't open" not in text
    assert page.restore_button.isVisible() and page.set_aside_button.isVisible()
    assert page.button.isEnabled() and screen.delay_left == 0  # no wait: not a guess
    assert session.failed_unlocks(vault_folder(home)) == 0
    with qtbot.waitSignal(screen.restore_requested, timeout=2_000):
        qtbot.mouseClick(page.restore_button, Qt.MouseButton.LeftButton)
    window.close()


def test_a_foreign_file_is_said_at_once_and_set_aside_only_when_agreed(qtbot, home):
    plain = sqlite3.connect(vault_path(home))
    plain.execute("CREATE TABLE notes (body TEXT)")
    plain.commit()
    plain.close()
    window = open_window(qtbot, home)
    screen = window.vault_screen
    page = screen.unlock_page
    qtbot.waitUntil(lambda: "unencrypted" in page.message.text(), timeout=10_000)
    folder = vault_folder(home)  # moved into a folder of its own, as it was
    assert not page.passphrase.isEnabled() and not page.button.isEnabled()
    assert page.set_aside_button.isVisible()
    qtbot.mouseClick(page.set_aside_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: screen.set_aside_box is not None and screen.set_aside_box.isVisible())
    box = screen.set_aside_box
    assert "nothing is deleted" in box.text()
    cancel = [b for b in box.buttons() if b.text() == "Cancel"][0]
    qtbot.mouseClick(cancel, Qt.MouseButton.LeftButton)
    assert vault_path(folder).exists()  # said no: nothing moved
    qtbot.mouseClick(page.set_aside_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: screen.set_aside_box is not None and screen.set_aside_box.isVisible())
    qtbot.mouseClick(screen.set_aside_yes, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: screen.stack.currentWidget() is screen.create_page, timeout=10_000)
    assert "is kept as vault.sharelog.damaged-" in screen.create_page.message.text()
    assert not vault_path(folder).exists()
    assert len(list(folder.glob("vault.sharelog.damaged-*"))) == 1
    window.close()


def test_the_create_page_refuses_a_list_first_password_with_advice(qtbot, home):
    window = open_window(qtbot, home)
    page = window.vault_screen.create_page
    qtbot.waitUntil(lambda: window.vault_screen.stack.currentWidget() is page)
    qtbot.keyClicks(page.name, "Sam Worker")
    qtbot.keyClicks(page.passphrase, "letmein123")
    qtbot.keyClicks(page.confirm, "letmein123")
    assert not page.button.isEnabled()
    advice = page.strength_label.text()
    assert "commonly used password" in advice and "letmein" not in advice
    assert page.strength.value() <= 1
    page.passphrase.clear()
    page.confirm.clear()
    qtbot.keyClicks(page.passphrase, "Sam Worker 2026")  # the person's own name
    qtbot.keyClicks(page.confirm, "Sam Worker 2026")
    assert not page.button.isEnabled()
    window.close()
