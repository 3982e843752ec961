"""Sync > Sync details against a real store (issue 10, point 3): the last syncs, what is
waiting, and a change the store refused, with its reason in words."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt

from tests.ui.shell_support import open_window, unlock
from tests.ui.sync_support import Store, signed_in_vault
from tests.ui.test_sync_window import label, save_decision, store  # noqa: F401 - fixture
from ui.sync.details import HeldModel, HistoryModel


def test_a_refused_change_is_shown_with_the_stores_reason(qtbot, qtmodeltester, home: Path,
                                                          store: Store) -> None:  # noqa: F811
    signed_in_vault(home, store)
    window = open_window(qtbot, home)
    unlock(qtbot, window)
    save_decision(qtbot, window)
    qtbot.waitUntil(lambda: label(window).startswith("Synced at ")
                    and window.bridge.service.pending_sync_count() == 0, timeout=30_000)
    # A practitioner gives a follow-up to someone outside the team: the store refuses it.
    done: list[object] = []

    def reassign(service) -> None:
        # The vault last heard this person was a manager (since changed on the store):
        # it lets the change through, and the store, which decides, refuses it.
        service.sync.learn_people({}, roles={service.identity.user_id: "manager"})
        fu = service.my_followups()[0]
        service.reassign_followup(fu.followup_id, "someone-outside-the-team",
                                  parents=fu.heads)

    window.bridge.write(reassign, done.append, done.append)
    qtbot.waitUntil(lambda: bool(done))
    qtbot.keyClick(window, Qt.Key.Key_F5)
    words = "1 change was refused by the team's store and kept on this device: see details."
    qtbot.waitUntil(lambda: label(window) == words, timeout=30_000)  # the sync that met it
    controller = window.sync.controller
    qtbot.waitUntil(lambda: not controller.running)
    controller.sync_now()  # the next one: synced, and the refusal said beside it for as long
    qtbot.waitUntil(lambda: label(window).startswith("Synced at ")
                    and label(window).endswith(words), timeout=30_000)

    qtbot.mouseClick(window.sync_label, Qt.MouseButton.LeftButton)  # the word opens details
    dialog = window.sync.details
    assert dialog is not None
    qtbot.waitUntil(lambda: dialog.held.rowCount() == 1 and dialog.history.rowCount() >= 2,
                    timeout=10_000)
    held = dialog.held
    what = held.index(0, HeldModel.WHAT).data()
    why = held.index(0, HeldModel.WHY).data()
    assert what == "A change made here, refused by the team's store"
    assert why == "The follow-up was given to someone outside the team."  # the store's code
    outcomes = [dialog.history.index(r, HistoryModel.OUTCOME).data()
                for r in range(dialog.history.rowCount())]
    assert outcomes[:2] == ["Synced", words]  # newest first, the refusal in the engine's words
    assert dialog.waiting.text().startswith("Nothing is waiting")
    assert "someone-outside" not in " ".join(
        str(held.index(0, c).data()) for c in range(held.columnCount()))
    qtmodeltester.check(held)
    qtmodeltester.check(dialog.history)
    window.lock()  # a lock closes the window on what it showed
    assert window.sync.details is None or not window.sync.details.isVisible()
    window.close()
