"""Locking (Ctrl+L and idle) clears every widget that showed record content."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QToolButton

from app import demo
from tests.ui.shell_support import open_window, unlock, wait_for_rows


def _seed(service, n=12):
    ids = demo.seed(service, n)
    service.lock()
    return ids


def _assert_no_record_content(window):
    assert window.decisions.model.rowCount() == 0
    assert window.decisions.model.total_known == 0
    assert window.decisions.proxy.rowCount() == 0
    assert window.decisions.search.text() == ""
    assert window.detail.record_id == ""
    assert window.detail.shown_text() == ""
    assert window.detail.title.text() == ""
    assert window.detail.subtitle.text() == ""
    if hasattr(window.followups, "model"):  # group rows stay; no follow-up under them
        fmodel = window.followups.model
        assert sum(fmodel.rowCount(fmodel.index(g, 0)) for g in range(fmodel.rowCount())) == 0
    assert window.windowTitle() == "Sharelog"
    assert window.screens.currentWidget() is window.vault_screen
    assert window.vault_screen.stack.currentWidget() is window.vault_screen.unlock_page
    assert window.vault_screen.unlock_page.passphrase.text() == ""
    assert window.bridge.service is None


def _show_a_record(qtbot, window):
    wait_for_rows(qtbot, window)
    window.decisions.table.setFocus()
    window.decisions.select_record(window.decisions.model.record_id(0))
    qtbot.waitUntil(lambda: window.detail.shown_text() != "", timeout=10_000)
    assert window.detail.record_view.toPlainText()


def test_ctrl_l_locks_and_clears(qtbot, home, service):
    _seed(service)
    window = open_window(qtbot, home)
    unlock(qtbot, window)
    _show_a_record(qtbot, window)
    window.decisions.search.setText("ab")
    window.decisions.run_query()  # a query in flight when the lock comes
    window.activateWindow()
    QTest.keyClick(window, Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: not window.is_unlocked)
    _assert_no_record_content(window)
    # Its answer arrives after the lock and cannot refill the list.
    window.bridge.wait_idle()
    qtbot.wait(50)
    _assert_no_record_content(window)
    # Unlocking again shows the list again, under an empty search box with no clear button.
    unlock(qtbot, window)
    wait_for_rows(qtbot, window)
    search = window.decisions.search
    qtbot.wait(300)  # the button fades out
    assert not [b for b in search.findChildren(QToolButton)
                if b.isVisibleTo(search) and (b.property("opacity") or 0) > 0]
    window.close()


def test_idle_lock_clears_content(qtbot, home, service):
    _seed(service)
    window = open_window(qtbot, home)
    unlock(qtbot, window)
    _show_a_record(qtbot, window)
    # The short idle time starts once a record is on screen (a slow machine could
    # otherwise lock before it is shown).
    window.idle.set_timeout(400)
    window.idle.start()
    qtbot.waitUntil(lambda: not window.is_unlocked, timeout=5_000)
    _assert_no_record_content(window)
    window.close()


def test_input_postpones_idle_lock(qtbot, home, service):
    _seed(service, 3)
    window = open_window(qtbot, home, idle_ms=3_000)
    unlock(qtbot, window)
    for _ in range(6):
        qtbot.wait(600)
        QTest.mouseMove(window.decisions.table.viewport())
        QTest.keyClick(window.decisions.table, Qt.Key.Key_Down)
    assert window.is_unlocked  # 3.6 s passed, but never 3 s without input
    qtbot.waitUntil(lambda: not window.is_unlocked, timeout=5_000)
    window.close()
