"""The decisions list, search-as-you-type, filters and the detail pane, over a real vault."""

from __future__ import annotations

import datetime as dt

from PySide6.QtCore import Qt

from app import demo
from app.model import Subject
from tests.conftest import make_share
from tests.ui.shell_support import open_window, unlock, wait_for_rows
from ui.decisions.model import DecisionsModel


def _seed(service):
    ids = demo.seed(service, 40, end=dt.datetime(2026, 10, 1, 12, 0), days_back=60)
    special = service.record_decision(make_share(
        subjects=[Subject(name="Zebedee Quux", case_ref="C777777", kind="child")],
        decided_at="2026-11-02T10:30"))
    refused = service.record_decision(make_share(
        subjects=[Subject(name="Orla Refused", case_ref="C888888", kind="child")],
        decision="not_share", method="", consent="refused", decided_at="2026-11-03T09:00"))
    return ids, special, refused


def test_list_search_and_filters(qtbot, home, service):
    _ids, special, refused = _seed(service)
    service.lock()
    window = open_window(qtbot, home)
    unlock(qtbot, window)
    panel = window.decisions
    model = panel.model
    wait_for_rows(qtbot, window, 42)
    assert panel.count_label.text() == "42 decisions"
    assert model.record_id(0) == refused  # newest first
    assert model.index(1, DecisionsModel.SUBJECTS).data() == "Zebedee Quux"

    # Ctrl+F focuses the search; typing shows results as you type.
    window.activateWindow()
    window.commands.find.trigger()
    assert panel.search.hasFocus()
    qtbot.keyClicks(panel.search, "Zebe")
    qtbot.waitUntil(lambda: model.rowCount() == 1, timeout=5_000)
    assert model.record_id(0) == special
    qtbot.keyClicks(panel.search, "dee quu")  # two words, the last one a prefix
    qtbot.waitUntil(lambda: model.filters.text == "Zebedee quu" and not model.is_loading,
                    timeout=5_000)
    assert [model.record_id(r) for r in range(model.rowCount())] == [special]
    panel.search.clear()
    wait_for_rows(qtbot, window, 42)

    # Filters narrow the list.
    panel.decision.setCurrentIndex(panel.decision.findData("not_share"))
    qtbot.waitUntil(lambda: 0 < model.rowCount() < 42, timeout=5_000)
    # The list says what happened, never "Do not share" beside "Shared out".
    assert all(model.index(r, DecisionsModel.DECISION).data() in ("Not shared", "Not asked")
               for r in range(model.rowCount()))
    refused_row = model.row_of(refused)
    assert [model.index(refused_row, c).data() for c in (
        DecisionsModel.DIRECTION, DecisionsModel.DECISION)] == ["Share decision", "Not shared"]
    panel.consent.setCurrentIndex(panel.consent.findData("refused"))
    qtbot.waitUntil(lambda: model.row_of(refused) >= 0 and all(
        model.index(r, DecisionsModel.CONSENT).data() == "Refused"
        for r in range(model.rowCount())), timeout=5_000)
    panel.reset_filters()
    wait_for_rows(qtbot, window, 42)
    panel.date_from.setDate(dt.date(2026, 11, 1))
    wait_for_rows(qtbot, window, 2)
    panel.date_to.setDate(dt.date(2026, 11, 2))
    wait_for_rows(qtbot, window, 1)
    assert model.record_id(0) == special
    panel.reset_filters()
    panel.followup.setCurrentIndex(panel.followup.findData("none"))
    qtbot.waitUntil(lambda: model.row_of(refused) >= 0 and model.row_of(special) < 0,
                    timeout=5_000)
    window.close()


def test_stale_search_results_are_dropped(qtbot, home, service):
    _seed(service)
    service.lock()
    window = open_window(qtbot, home)
    unlock(qtbot, window)
    wait_for_rows(qtbot, window, 42)
    panel = window.decisions
    shown: list[int] = []
    panel.model.results_shown.connect(shown.append)
    panel.search.setText("Zebedee")
    first = panel.run_query()
    panel.search.setText("Orla")
    second = panel.run_query()
    assert second > first
    window.bridge.wait_idle()
    qtbot.waitUntil(lambda: not panel.model.is_loading)
    assert shown == [second]  # the overtaken query's rows never reached the list
    assert panel.model.rowCount() == 1
    assert panel.model.index(0, DecisionsModel.SUBJECTS).data() == "Orla Refused"
    window.close()


def test_detail_shows_versions_after_correction(qtbot, home, service):
    rid = service.record_decision(make_share())
    corrected = make_share(reasons="Corrected reasons: the GP must know of the injuries.")
    service.correct_decision(rid, corrected, "The first reasons missed the injuries.",
                             parents=service.get_decision(rid).heads)
    service.lock()
    window = open_window(qtbot, home)
    unlock(qtbot, window)
    wait_for_rows(qtbot, window, 1)
    window.decisions.select_record(rid)
    detail = window.detail
    qtbot.waitUntil(lambda: detail.record_id == rid and detail.title.text() != "")
    assert detail.title.text() == "Shared with Riverside Medical Centre"
    assert "corrected once" in detail.subtitle.text()
    assert detail.integrity.text().startswith("✓")
    record_text = detail.record_view.toPlainText()
    assert "Corrected reasons" in record_text
    assert "Public task (Art 6(1)(e))" in record_text  # words, not stored keys
    assert "Children Act 1989 s47" in record_text
    detail.tabs.setCurrentIndex(1)  # tabs are filled when shown
    history = detail.history_view.toPlainText()
    assert "Recorded" in history and "Corrected" in history
    assert "The first reasons missed the injuries." in history
    assert "Sam Worker" in history
    # What changed, from what to what, in words.
    assert "Changed Reasons: Sharing is needed to protect the child" in history
    assert "→ Corrected reasons: the GP must know of the injuries." in history
    assert detail.tabs.tabText(1) == "History (2)"
    detail.tabs.setCurrentIndex(2)
    assert "Confirm the recipient received" in detail.followups_view.toPlainText()
    window.close()


def test_withdraw_from_detail(qtbot, home, service, monkeypatch):
    rid = service.record_decision(make_share())
    service.lock()
    from ui.widgets import dialogs

    monkeypatch.setattr(dialogs, "ask_reason", lambda *_a, **_k: "Recorded about the wrong child.")
    window = open_window(qtbot, home)
    unlock(qtbot, window)
    wait_for_rows(qtbot, window, 1)
    window.decisions.select_record(rid)
    detail = window.detail
    qtbot.waitUntil(detail.withdraw_button.isEnabled)
    qtbot.mouseClick(detail.withdraw_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "Withdrawn" in detail.title.text(), timeout=5_000)
    assert not detail.correct_button.isEnabled()
    model = window.decisions.model
    qtbot.waitUntil(lambda: model.index(0, DecisionsModel.STATUS).data() == "Withdrawn")
    detail.tabs.setCurrentIndex(1)
    assert "Recorded about the wrong child." in detail.history_view.toPlainText()
    window.close()


def test_correct_opens_the_form_in_correction_mode(qtbot, home, service):
    rid = service.record_decision(make_share())
    service.lock()
    window = open_window(qtbot, home)
    unlock(qtbot, window)
    wait_for_rows(qtbot, window, 1)
    window.decisions.select_record(rid)
    qtbot.waitUntil(window.detail.correct_button.isEnabled)
    qtbot.mouseClick(window.detail.correct_button, Qt.MouseButton.LeftButton)
    assert window.pages.currentWidget() is window.form
    qtbot.waitUntil(lambda: window.form.is_correction)
    window.close()


def test_shortcuts_dialog_lists_every_shortcut(qtbot, home):
    from ui.shell.shortcuts import ShortcutsDialog

    window = open_window(qtbot, home)
    dialog = ShortcutsDialog(window.commands.all(), window)
    qtbot.addWidget(dialog)
    listed = dict(dialog.rows)
    for action in window.commands.all():
        if not action.shortcut().isEmpty():
            assert action.text() in listed
    assert listed["Lock"] == "Ctrl+L"
    assert listed["New request made…"] == "Ctrl+Shift+N"
    assert listed["Decisions"] == "Ctrl+1" and listed["My follow-ups"] == "Ctrl+2"
    # The vault check on the task pool has answered before the window closes.
    qtbot.waitUntil(lambda: window.vault_screen.stack.currentWidget()
                    is window.vault_screen.create_page)
    window.close()


def test_search_box_keys_and_an_empty_result(qtbot, home, service):
    _ids, special, _refused = _seed(service)
    service.lock()
    window = open_window(qtbot, home)
    unlock(qtbot, window)
    panel, model, detail = window.decisions, window.decisions.model, window.detail
    wait_for_rows(qtbot, window, 42)
    window.activateWindow()
    panel.select_record(special)
    qtbot.waitUntil(lambda: detail.record_id == special and detail.title.text() != "")

    # A search that finds nothing says so, and the detail pane no longer shows a record
    # that is not in the list.
    window.commands.find.trigger()
    qtbot.keyClicks(panel.search, "Nobodyhere")
    qtbot.waitUntil(lambda: model.filters.text == "Nobodyhere" and not model.is_loading,
                    timeout=5_000)
    assert model.rowCount() == 0
    assert "No decisions match" in panel.hint_label.text()
    qtbot.waitUntil(lambda: detail.record_id == "" and detail.title.text() == "")

    # Esc clears what was typed (Help > Keyboard shortcuts says so) and the list is back.
    qtbot.keyClick(panel.search, Qt.Key.Key_Escape)
    assert panel.search.text() == ""
    wait_for_rows(qtbot, window, 42)
    assert panel.hint_label.text() == ""

    # Down goes from the search box to the results.
    qtbot.keyClicks(panel.search, "Zebedee")
    qtbot.waitUntil(lambda: model.rowCount() == 1 and not model.is_loading, timeout=5_000)
    qtbot.keyClick(panel.search, Qt.Key.Key_Down)
    assert panel.table.hasFocus()
    qtbot.waitUntil(lambda: detail.record_id == special)

    # Tab passes through the date filters like any other field.
    panel.date_from.setFocus()
    qtbot.keyClick(panel.date_from, Qt.Key.Key_Tab)
    assert panel.date_to.hasFocus()
    qtbot.keyClick(panel.date_to, Qt.Key.Key_Tab)
    assert panel.direction.hasFocus()
    window.close()


def test_saving_from_the_window_says_so_and_shows_the_record(qtbot, home, service):
    from tests.ui.test_form_flow import fill_basic

    service.lock()
    window = open_window(qtbot, home)
    unlock(qtbot, window)
    hint = window.decisions.hint_label
    qtbot.waitUntil(lambda: "No decisions yet" in hint.text(), timeout=5_000)
    window.new_decision("disclosure")
    fill_basic(window.form)
    window.form.save()
    qtbot.waitUntil(lambda: window.statusBar().currentMessage() == "Decision saved.",
                    timeout=10_000)
    wait_for_rows(qtbot, window, 1)
    qtbot.waitUntil(lambda: hint.text() == "")  # the list is no longer empty
    qtbot.waitUntil(lambda: window.detail.title.text().startswith("Share"), timeout=5_000)
    window.close()
