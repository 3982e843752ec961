"""Conflicts a person can resolve (issue 10, point 4), in the real window over real vaults.

Pat corrects the same record on the laptop and on the tablet while neither has the other's
change; Mo, the manager, closes Pat's follow-up the other way. The other device's changes
arrive in Pat's window as a pulled page does (through the bridge and the one ingest path).
"""

from __future__ import annotations

import datetime as dt
import json

import pytest
from PySide6.QtCore import Qt
from shiboken6 import isValid

from app.events import hlc_local_iso
from app.problems import InvalidChange, ValidationError
from tests.conftest import make_share
from tests.sync_support import Team
from tests.ui.team_window import (
    correct,
    pull_into,
    share_everywhere,
    status_of,
)
from ui.decisions.conflict_dialog import ConflictDialog
from ui.shell.main_window import MainWindow
from ui.widgets.dates import format_when

LAPTOP_REASONS = "Reasons written on the laptop."
TABLET_REASONS = "Reasons written on the tablet."



def _record_corrected_in_two_places(team: Team) -> str:
    laptop, tablet = team.devices["pat-laptop"], team.devices["pat-tablet"]
    rid = laptop.record_decision(make_share(reasons="First reasons."))
    share_everywhere(team)
    correct(laptop, rid, "more detail", reasons=LAPTOP_REASONS)
    correct(tablet, rid, "more detail from the visit", reasons=TABLET_REASONS)
    return rid


def _select(qtbot, window: MainWindow, rid: str) -> None:
    qtbot.waitUntil(lambda: window.decisions.model.row_of(rid) >= 0, timeout=10_000)
    window.decisions.select_record(rid)
    qtbot.waitUntil(lambda: window.detail.loaded_id == rid, timeout=10_000)


def _open_dialog(qtbot, window: MainWindow) -> ConflictDialog:
    qtbot.waitUntil(window.detail.resolve_button.isEnabled, timeout=10_000)
    qtbot.mouseClick(window.detail.resolve_button, Qt.MouseButton.LeftButton)
    return _dialog(qtbot, window)


def _dialog(qtbot, window: MainWindow) -> ConflictDialog:
    qtbot.waitUntil(lambda: any(d.isVisible() and d.choices or d.isVisible()
                                and d._withdrawal_shown()
                                for d in window.findChildren(ConflictDialog)), timeout=10_000)
    return next(d for d in window.findChildren(ConflictDialog) if d.isVisible())


def _closed(dialog: ConflictDialog) -> bool:
    return not isValid(dialog) or not dialog.isVisible()


def _texts(dialog: ConflictDialog) -> str:
    from PySide6.QtWidgets import QLabel

    return "\n".join(label.text() for label in dialog.findChildren(QLabel))


def test_a_record_changed_in_two_places_is_marked_in_the_list_and_the_pane(
        qtbot, team: Team, windows) -> None:
    rid = _record_corrected_in_two_places(team)
    window = windows("pat-laptop")
    _select(qtbot, window, rid)
    assert status_of(window, rid) == "Corrected"
    assert not window.detail.conflict_box.isVisible()

    pull_into(qtbot, window, team, "pat-tablet", "pat-laptop")  # the tablet's version arrives

    qtbot.waitUntil(lambda: status_of(window, rid) == "In conflict", timeout=10_000)
    qtbot.waitUntil(window.detail.conflict_box.isVisible, timeout=10_000)
    assert "Reasons" in window.detail.conflict_label.text()
    assert window.detail.resolve_button.isEnabled()
    assert window.decisions.selected_record_id() == rid  # the refresh kept the selection
    model = window.decisions.model
    tooltip = model.index(model.row_of(rid), model.STATUS).data(Qt.ItemDataRole.ToolTipRole)
    assert "two places" in tooltip


def test_the_side_by_side_view_shows_who_wrote_each_value_and_when_and_settles_it(
        qtbot, team: Team, windows) -> None:
    rid = _record_corrected_in_two_places(team)
    laptop = team.devices["pat-laptop"]
    window = windows("pat-laptop")
    pull_into(qtbot, window, team, "pat-tablet", "pat-laptop")
    _select(qtbot, window, rid)
    dialog = _open_dialog(qtbot, window)

    [choice] = dialog.choices
    assert sorted(choice.values) == [LAPTOP_REASONS, TABLET_REASONS]
    shown = _texts(dialog)
    assert LAPTOP_REASONS in shown and TABLET_REASONS in shown
    assert "Pat Practitioner" in shown and "Unknown user" not in shown
    # When each was written, in this reader's local time, as dates read everywhere.
    for value in laptop.conflicts(rid)[0].values:
        assert format_when(value.at[:16]) in shown
        assert value.at[:16] == hlc_local_iso(
            laptop.vault.conn.execute("SELECT hlc FROM events WHERE event_id = ?",
                                      (value.event_id,)).fetchone()[0])[:16]
    assert "more detail from the visit" in shown  # the reason each author gave
    assert not dialog.save_button.isEnabled()  # nothing is chosen for the person

    heads_before = set(laptop.get_decision(rid).heads)
    dialog.choices[0].group.button(choice.values.index(TABLET_REASONS)).click()
    assert not dialog.save_button.isEnabled()  # a reason is required
    qtbot.keyClicks(dialog.reason, "The tablet's wording was agreed in supervision.")
    assert dialog.save_button.isEnabled()
    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)

    qtbot.waitUntil(lambda: _closed(dialog), timeout=10_000)
    qtbot.waitUntil(lambda: status_of(window, rid) == "Corrected", timeout=10_000)
    qtbot.waitUntil(lambda: not window.detail.conflict_box.isVisible(), timeout=10_000)
    detail = laptop.get_decision(rid)
    assert detail.record.reasons == TABLET_REASONS and not detail.has_conflict
    [head] = detail.heads
    parents = json.loads(laptop.vault.conn.execute(
        "SELECT parents FROM events WHERE event_id = ?", (head,)).fetchone()[0])
    assert set(parents) == heads_before  # a version after every head
    # Nothing discarded: the value not chosen stays in the history, readable.
    versions = laptop.versions(rid)
    assert [v.record.reasons for v in versions if v.record is not None].count(
        LAPTOP_REASONS) == 1
    assert versions[-1].reason == "The tablet's wording was agreed in supervision."
    window.detail.tabs.setCurrentIndex(1)
    qtbot.waitUntil(lambda: LAPTOP_REASONS in window.detail.history_view.toPlainText(),
                    timeout=10_000)


def test_a_new_value_can_be_written_instead(qtbot, team: Team, windows) -> None:
    rid = _record_corrected_in_two_places(team)
    laptop = team.devices["pat-laptop"]
    window = windows("pat-laptop")
    pull_into(qtbot, window, team, "pat-tablet", "pat-laptop")
    _select(qtbot, window, rid)
    dialog = _open_dialog(qtbot, window)
    [choice] = dialog.choices
    assert choice.new_text is not None
    qtbot.keyClicks(choice.new_text, "Both: the laptop's and the tablet's reasons together.")
    qtbot.keyClicks(dialog.reason, "Neither said it all.")
    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: _closed(dialog), timeout=10_000)
    detail = laptop.get_decision(rid)
    assert detail.record.reasons == "Both: the laptop's and the tablet's reasons together."
    assert laptop.conflicts(rid) == []
    kept = {v.record.reasons for v in laptop.versions(rid) if v.record is not None}
    assert {LAPTOP_REASONS, TABLET_REASONS} <= kept


def test_a_follow_up_done_here_and_cancelled_by_the_manager_is_settled_from_my_follow_ups(
        qtbot, team: Team, windows) -> None:
    laptop, mo = team.devices["pat-laptop"], team.devices["mo-laptop"]
    rid = laptop.record_decision(make_share())
    share_everywhere(team)
    fid = laptop.get_decision(rid).followups[0].followup_id
    laptop.complete_followup(fid, "The GP confirmed by phone.",
                             parents=laptop.get_followup(fid).heads)
    mo.cancel_followup(fid, "Case closed at the strategy meeting.",
                       parents=mo.get_followup(fid).heads)
    window = windows("pat-laptop")
    window.show_followups()
    panel = window.followups
    assert panel.model.index_of(fid).isValid() is False  # done here: not in My follow-ups

    pull_into(qtbot, window, team, "mo-laptop", "pat-laptop")

    # Done against cancelled shows as open, in conflict, until a person chooses.
    qtbot.waitUntil(lambda: panel.model.index_of(fid).isValid(), timeout=10_000)
    index = panel.model.index_of(fid).siblingAtColumn(panel.model.ACTION)
    assert index.data().startswith("In conflict:")
    panel.select(fid)
    qtbot.waitUntil(panel.resolve_button.isEnabled, timeout=5_000)
    qtbot.mouseClick(panel.resolve_button, Qt.MouseButton.LeftButton)
    dialog = _dialog(qtbot, window)
    [choice] = dialog.choices
    assert choice.conflict.field == "state"
    shown = _texts(dialog)
    assert "Mo Manager" in shown and "Pat Practitioner" in shown
    assert "Case closed at the strategy meeting." in shown
    assert dialog.reason.isHidden()  # the outcome or reason kept with it is the answer
    choice.group.button(choice.values.index("cancelled")).click()
    assert choice.note_text is not None
    assert choice.note_text.toPlainText() == "Case closed at the strategy meeting."
    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: _closed(dialog), timeout=10_000)
    qtbot.waitUntil(lambda: not panel.model.index_of(fid).isValid(), timeout=10_000)
    fu = laptop.get_followup(fid)
    assert (fu.state, fu.cancel_reason, fu.conflicts) == (
        "cancelled", "Case closed at the strategy meeting.", ())
    kinds = [h.kind for h in laptop.followup_history(fid)]
    assert kinds.count("followup.done") == 1  # the outcome not chosen stays in the history
    assert laptop.followup_history(fid)[1].detail == {"outcome": "The GP confirmed by phone."} \
        or any(h.detail.get("outcome") == "The GP confirmed by phone."
               for h in laptop.followup_history(fid))


def test_two_new_due_dates_are_settled_with_a_reason(qtbot, team: Team, windows) -> None:
    laptop, mo = team.devices["pat-laptop"], team.devices["mo-laptop"]
    rid = laptop.record_decision(make_share())
    share_everywhere(team)
    fid = laptop.get_decision(rid).followups[0].followup_id
    laptop.reschedule_followup(fid, dt.date(2027, 1, 11), parents=laptop.get_followup(fid).heads)
    mo.reschedule_followup(fid, dt.date(2027, 1, 18), parents=mo.get_followup(fid).heads)
    window = windows("pat-laptop")
    pull_into(qtbot, window, team, "mo-laptop", "pat-laptop")
    _select(qtbot, window, rid)
    dialog = _open_dialog(qtbot, window)
    [choice] = dialog.choices
    assert choice.conflict.field == "due_date"
    assert "11 Jan 2027" in _texts(dialog) and "18 Jan 2027" in _texts(dialog)
    choice.group.button(choice.values.index("2027-01-18")).click()
    assert not dialog.save_button.isEnabled()
    qtbot.keyClicks(dialog.reason, "The GP is away until the 15th.")
    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: _closed(dialog), timeout=10_000)
    fu = laptop.get_followup(fid)
    assert (fu.due_date, fu.conflicts, len(fu.heads)) == (dt.date(2027, 1, 18), (), 1)


def test_settling_refuses_stale_versions_and_values_never_offered(team: Team) -> None:
    rid = _record_corrected_in_two_places(team)
    laptop = team.devices["pat-laptop"]
    team.exchange("pat-tablet", "pat-laptop", __import__("random").Random(1))
    detail = laptop.get_decision(rid)
    count = len(laptop.versions(rid))
    with pytest.raises(InvalidChange):  # not every head: the person did not see them all
        laptop.resolve_record(rid, {"reasons": TABLET_REASONS}, "x",
                              parents=detail.heads[:1])
    with pytest.raises(ValidationError):  # a reason is required
        laptop.resolve_record(rid, {"reasons": TABLET_REASONS}, " ", parents=detail.heads)
    with pytest.raises(ValidationError):  # every field in conflict gets an answer
        laptop.resolve_record(rid, {}, "why", parents=detail.heads)
    with pytest.raises(ValidationError):  # only fields in conflict
        laptop.resolve_record(rid, {"reasons": TABLET_REASONS, "purpose": "Other"}, "why",
                              parents=detail.heads)
    assert len(laptop.versions(rid)) == count and laptop.get_decision(rid).has_conflict
