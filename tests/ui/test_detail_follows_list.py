"""The detail pane shows the record selected in the list on screen, or nothing; the Record
menu's commands act on it and are enabled only while it allows them."""

from __future__ import annotations

import datetime as dt

from PySide6.QtCore import Qt

from app import demo
from app.model import Counterparty, Subject
from tests.conftest import make_request_made, make_share
from tests.ui.shell_support import open_window, unlock, wait_for_rows
from ui.decisions.model import DecisionsModel


def _two_people(service) -> tuple[str, str]:
    """Alice's share with Riverside Medical Centre, and a request made about Bram to a school."""
    alice = service.record_decision(make_share())
    bram = service.record_decision(make_request_made(
        decided_at="2026-11-03T09:00",
        subjects=[Subject(name="Bram Other", case_ref="C300400", kind="child")],
        counterparty=Counterparty(name="K. Osei", role="Designated safeguarding lead",
                                  organisation="Hillview Primary School")))
    return alice, bram


def _shown(qtbot, window, record_id: str) -> None:
    detail = window.detail
    qtbot.waitUntil(lambda: detail.record_id == record_id and detail.loaded_id == record_id,
                    timeout=5_000)


def _nothing_shown(qtbot, window) -> None:
    detail, a = window.detail, window.commands
    qtbot.waitUntil(lambda: detail.record_id == "" and detail.shown_text() == "", timeout=5_000)
    for control in (detail.correct_button, detail.withdraw_button, detail.export_button,
                    a.correct_record, a.withdraw_record, a.export_record):
        assert not control.isEnabled()


def _selected_in_list(window) -> str:
    return window.decisions.selected_record_id()


def test_a_search_that_hides_the_shown_record_empties_the_pane(qtbot, home, service):
    alice, bram = _two_people(service)
    service.lock()
    window = open_window(qtbot, home)
    unlock(qtbot, window)
    panel, model = window.decisions, window.decisions.model
    wait_for_rows(qtbot, window, 2)
    _nothing_shown(qtbot, window)  # nothing selected yet: nothing to act on

    panel.select_record(bram)
    _shown(qtbot, window, bram)
    assert window.commands.correct_record.isEnabled()
    assert window.commands.export_record.isEnabled()

    # The report: a search for "Riverside" listed Alice while the pane showed Bram's request.
    panel.search.setText("Riverside")
    qtbot.waitUntil(lambda: model.filters.text == "Riverside" and not model.is_loading,
                    timeout=5_000)
    assert [model.record_id(r) for r in range(model.rowCount())] == [alice]
    _nothing_shown(qtbot, window)
    assert "Bram" not in window.detail.shown_text()

    # A record still in the list after the search stays selected and shown.
    panel.select_record(alice)
    _shown(qtbot, window, alice)
    panel.search.setText("Riverside Medical")
    qtbot.waitUntil(lambda: model.filters.text == "Riverside Medical" and not model.is_loading,
                    timeout=5_000)
    window.bridge.wait_idle()
    qtbot.waitUntil(lambda: _selected_in_list(window) == alice)
    assert window.detail.record_id == alice

    # Clearing the search brings every row back; the selection stays where it was.
    panel.search.clear()
    wait_for_rows(qtbot, window, 2)
    qtbot.waitUntil(lambda: _selected_in_list(window) == alice)
    _shown(qtbot, window, alice)

    # A filter that leaves the record out empties the pane too.
    panel.direction.setCurrentIndex(panel.direction.findData("request_made"))
    wait_for_rows(qtbot, window, 1)
    _nothing_shown(qtbot, window)
    window.close()


def test_sorting_and_a_refresh_keep_the_pane_on_the_list(qtbot, home, service):
    demo.seed(service, 30, end=dt.datetime(2026, 10, 1, 12, 0), days_back=60)
    alice, _bram = _two_people(service)
    service.lock()
    window = open_window(qtbot, home)
    unlock(qtbot, window)
    panel, model = window.decisions, window.decisions.model
    wait_for_rows(qtbot, window, 32)
    panel.select_record(alice)
    _shown(qtbot, window, alice)

    # Sorting moves the row; the selection and the pane move with it.
    panel.table.sortByColumn(DecisionsModel.SUBJECTS, Qt.SortOrder.AscendingOrder)
    qtbot.waitUntil(lambda: not model.is_loading)
    assert _selected_in_list(window) == alice
    assert window.detail.record_id == alice
    panel.table.sortByColumn(DecisionsModel.DATE, Qt.SortOrder.DescendingOrder)
    qtbot.waitUntil(lambda: not model.is_loading)
    assert _selected_in_list(window) == alice

    # Only decisions with an open follow-up; then Alice's follow-up is done elsewhere
    # (the refresh after a write): her record leaves the list and the pane.
    panel.followup.setCurrentIndex(panel.followup.findData("open"))
    qtbot.waitUntil(lambda: not model.is_loading and model.rowCount() < 32, timeout=5_000)
    qtbot.waitUntil(lambda: _selected_in_list(window) == alice)
    _shown(qtbot, window, alice)
    done = []
    window.bridge.write(lambda s: s.complete_followup(
        s.get_decision(alice).followups[0].followup_id, "Received and acted on.",
            parents=s.get_followup(s.get_decision(alice).followups[0].followup_id).heads),
        done.append, done.append)
    qtbot.waitUntil(lambda: model.row_of(alice) < 0, timeout=5_000)
    _nothing_shown(qtbot, window)
    window.close()


def test_opening_from_my_followups_shows_the_record_in_the_list(qtbot, home, service):
    alice, bram = _two_people(service)
    service.lock()
    window = open_window(qtbot, home)
    unlock(qtbot, window)
    panel, model = window.decisions, window.decisions.model
    wait_for_rows(qtbot, window, 2)
    panel.search.setText("Hillview")
    qtbot.waitUntil(lambda: model.filters.text == "Hillview" and not model.is_loading,
                    timeout=5_000)
    assert model.rowCount() == 1

    # Opening Alice's follow-up: the search that hid her is cleared, she is selected.
    window.show_followups()
    window.followups.open_record.emit(alice)
    assert window.pages.currentWidget() is window.splitter
    qtbot.waitUntil(lambda: _selected_in_list(window) == alice, timeout=5_000)
    _shown(qtbot, window, alice)
    assert panel.search.text() == ""
    assert model.row_of(bram) >= 0
    assert window.commands.correct_record.isEnabled()

    # The Record menu is for the record beside the list: not while another page shows.
    window.show_followups()
    assert not window.commands.correct_record.isEnabled()
    assert not window.commands.export_record.isEnabled()
    window.show_decisions()
    assert window.commands.correct_record.isEnabled()

    # After a lock nothing is selected, shown or enabled.
    window.lock()
    assert not window.commands.export_record.isEnabled()
    unlock(qtbot, window)
    wait_for_rows(qtbot, window, 2)
    _nothing_shown(qtbot, window)
    window.close()


def test_opening_an_old_record_pages_the_list_until_it_is_there(qtbot, home, service):
    ids = demo.seed(service, 450, end=dt.datetime(2026, 10, 1, 12, 0), days_back=200)
    oldest = min(ids, key=lambda rid: (service.get_decision(rid).record.decided_at, rid))
    service.lock()
    window = open_window(qtbot, home)
    unlock(qtbot, window)
    wait_for_rows(qtbot, window)
    window.open_record(oldest)
    qtbot.waitUntil(lambda: _selected_in_list(window) == oldest, timeout=10_000)
    _shown(qtbot, window, oldest)
    window.close()


def test_record_menu_corrects_withdraws_and_exports_by_keyboard(qtbot, home, service,
                                                               monkeypatch):
    from ui.decisions import export_pdf
    from ui.widgets import dialogs

    alice, _bram = _two_people(service)
    service.lock()
    asked: list[str] = []
    monkeypatch.setattr(dialogs, "ask_reason",
                        lambda *_a, **_k: asked.append("reason") or "Recorded in error.")
    exported: list[list[str]] = []
    monkeypatch.setattr(export_pdf, "export_records",
                        lambda _parent, _bridge, ids: exported.append(list(ids)))
    window = open_window(qtbot, home)
    unlock(qtbot, window)
    a = window.commands
    menu = a.record_menu
    assert [x.text() for x in menu.actions()] == ["Correct…", "Withdraw…", "Export PDF…"]
    wait_for_rows(qtbot, window, 2)
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)

    # With nothing selected the keys do nothing.
    qtbot.keyClick(window.decisions.table, Qt.Key.Key_P, Qt.KeyboardModifier.ControlModifier)
    assert exported == []

    window.decisions.select_record(alice)
    _shown(qtbot, window, alice)
    window.decisions.table.setFocus()
    qtbot.keyClick(window.decisions.table, Qt.Key.Key_P, Qt.KeyboardModifier.ControlModifier)
    assert exported == [[alice]]

    qtbot.keyClick(window.decisions.table, Qt.Key.Key_W,
                   Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert asked == ["reason"]
    qtbot.waitUntil(lambda: window.detail.status == "withdrawn", timeout=5_000)
    # A withdrawn record can be exported, not corrected or withdrawn again.
    assert not a.correct_record.isEnabled() and not a.withdraw_record.isEnabled()
    assert a.export_record.isEnabled()
    qtbot.keyClick(window.decisions.table, Qt.Key.Key_E, Qt.KeyboardModifier.ControlModifier)
    assert window.pages.currentWidget() is window.splitter

    window.decisions.select_record(_bram)
    _shown(qtbot, window, _bram)
    qtbot.keyClick(window.decisions.table, Qt.Key.Key_E, Qt.KeyboardModifier.ControlModifier)
    assert window.pages.currentWidget() is window.form
    qtbot.waitUntil(lambda: window.form.is_correction, timeout=5_000)
    window.close()


def test_shortcuts_dialog_lists_the_record_commands(qtbot, home):
    from ui.shell.shortcuts import ShortcutsDialog

    window = open_window(qtbot, home)
    listed = dict(ShortcutsDialog(window.commands.all(), window).rows)
    assert listed["Correct…"] == "Ctrl+E"
    assert listed["Withdraw…"] == "Ctrl+Shift+W"
    assert listed["Export PDF…"] == "Ctrl+P"
    assert listed["Dialogs: OK, Save or the dialog's main button"] == "Ctrl+Enter"
    qtbot.waitUntil(lambda: window.vault_screen.stack.currentWidget()
                    is window.vault_screen.create_page)
    window.close()
