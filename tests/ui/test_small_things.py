"""Small things a user sees: "Draft saved" said once, counts that read right for one."""

from __future__ import annotations

import datetime as dt

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel

from app.model import FollowUp
from tests.conftest import make_share
from tests.ui.shell_support import open_window, unlock
from ui.followups.model import FollowUpsModel
from ui.widgets.plural import counted


def _places_saying(window, words: str) -> int:
    labels = [w for w in window.findChildren(QLabel) if w.isVisible() and words in w.text()]
    return len(labels) + (words in window.statusBar().currentMessage())


def test_draft_saved_is_said_in_one_place(qtbot, home, service):
    service.lock()
    window = open_window(qtbot, home)
    unlock(qtbot, window)
    window.commands.new_share.trigger()
    form = window.form
    qtbot.waitUntil(lambda: window.pages.currentWidget() is form)
    qtbot.keyClicks(form.purpose, "Concern raised by the school nurse")
    with qtbot.waitSignal(form.draft_saved, timeout=5_000):
        form.save_draft_now()
    assert _places_saying(window, "Draft saved") == 1  # the form's own line, not the bar too

    # Once the form has closed, the status bar is where it is said (and only there).
    qtbot.keyClicks(form.purpose, " and the GP")
    with qtbot.waitSignal(form.draft_saved, timeout=5_000):
        form.save_draft_now()
        window.show_decisions()
    assert "Draft saved" in window.statusBar().currentMessage()
    assert _places_saying(window, "Draft saved") == 1
    window.close()


def test_the_sync_count_reads_right_for_one_change(qtbot, home, service):
    # A request received and declined has no follow-up: one change waiting.
    service.record_decision(make_share(direction="request_received", decision="not_share",
                                       requested_information="The child's school reports"))
    assert service.pending_sync_count() == 1
    service.lock()
    window = open_window(qtbot, home)
    unlock(qtbot, window)
    qtbot.waitUntil(lambda: window.sync_label.text() != "", timeout=5_000)
    assert window.sync_label.text() == "Not signed in · 1 change waiting"
    window.close()


def test_followup_groups_read_right_for_one(qtbot):
    model = FollowUpsModel()
    today = dt.date(2026, 11, 12)
    fu = FollowUp(followup_id="f1", record_id="r1", owner_id="u1", kind="chase",
                  title="Chase the response", due_date=today, state="open", outcome=None,
                  cancel_reason=None)
    model.set_followups({"today": [fu]}, today)
    group = model.index(1, 0)
    assert model.data(group, Qt.ItemDataRole.AccessibleTextRole) == "Due today: 1 follow-up"


def test_counted() -> None:
    assert counted(1, "1 change", "%1 changes") == "1 change"
    assert counted(0, "1 change", "%1 changes") == "0 changes"
    assert counted(12_345, "1 change", "%1 changes") == "12,345 changes"
