"""A manager's window (issue 10, point 6): Mine / Team and a practitioner filter; other
practitioners' records read-only, with the reason shown, except for giving a follow-up to
someone else. The rules hold in app/ too: a change the store would refuse is never saved."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication

from app.model import Subject
from app.problems import InvalidChange
from tests.conftest import make_share
from tests.sync_support import MO, PAT, PAULA, Team
from tests.ui.team_window import correct, share_everywhere
from ui.decisions.reassign_dialog import ReassignDialog
from ui.shell.main_window import MainWindow


def _team_records(team: Team) -> dict[str, list[str]]:
    made: dict[str, list[str]] = {}
    for device, owner, count in (("pat-laptop", PAT, 2), ("paula-laptop", PAULA, 1),
                                 ("mo-laptop", MO, 1)):
        svc = team.devices[device]
        made[owner] = [svc.record_decision(make_share(subjects=[Subject(
            name=f"Child {owner} {n}", kind="child", case_ref=f"C{n}")]))
            for n in range(count)]
        share_everywhere(team, device)
    return made


def _listed(window: MainWindow) -> set[str]:
    model = window.decisions.model
    return {model.record_id(r) or "" for r in range(model.rowCount())}


def _settled(qtbot, window: MainWindow, wanted: set[str]) -> None:
    model = window.decisions.model
    qtbot.waitUntil(lambda: not model.is_loading and _listed(window) == wanted, timeout=10_000)


def test_a_manager_switches_between_mine_and_the_teams_records_and_one_practitioners(
        qtbot, team: Team, windows) -> None:
    made = _team_records(team)
    window = windows("mo-laptop")
    panel = window.decisions
    everyone = {rid for ids in made.values() for rid in ids}
    _settled(qtbot, window, everyone)  # a manager starts on the team's records
    assert panel.team_button.isVisible() and panel.mine_button.isVisible()
    assert panel.team_button.isChecked()
    assert not panel.table.isColumnHidden(panel.model.OWNER)
    owners = {panel.model.index(r, panel.model.OWNER).data()
              for r in range(panel.model.rowCount())}
    assert owners == {"Pat Practitioner", "Paula Practitioner", "You"}
    names = [panel.practitioner.itemText(i) for i in range(panel.practitioner.count())]
    assert names == ["Every practitioner", "Pat Practitioner", "Paula Practitioner"]

    qtbot.mouseClick(panel.mine_button, Qt.MouseButton.LeftButton)
    _settled(qtbot, window, set(made[MO]))
    assert not panel.practitioner.isEnabled()

    qtbot.mouseClick(panel.team_button, Qt.MouseButton.LeftButton)
    panel.practitioner.setCurrentIndex(names.index("Paula Practitioner"))
    _settled(qtbot, window, set(made[PAULA]))
    panel.practitioner.setCurrentIndex(names.index("Pat Practitioner"))
    _settled(qtbot, window, set(made[PAT]))

    qtbot.mouseClick(panel.clear_filters, Qt.MouseButton.LeftButton)
    _settled(qtbot, window, everyone)


def test_another_practitioners_record_is_read_only_for_the_manager_with_the_reason(
        qtbot, team: Team, windows) -> None:
    made = _team_records(team)
    window = windows("mo-laptop")
    _settled(qtbot, window, {rid for ids in made.values() for rid in ids})
    detail = window.detail
    pats = made[PAT][0]
    window.decisions.select_record(pats)
    qtbot.waitUntil(lambda: detail.loaded_id == pats, timeout=10_000)
    assert not detail.correct_button.isEnabled() and not detail.withdraw_button.isEnabled()
    assert not window.commands.correct_record.isEnabled()
    assert not window.commands.withdraw_record.isEnabled()
    assert detail.owner_note.isVisible()
    assert "This is Pat Practitioner's record: only they can correct or withdraw it." in \
        detail.owner_note.text()
    assert "only the practitioner who made this record" in \
        detail.correct_button.toolTip().lower()
    assert detail.export_button.isEnabled()  # reading it is not changing it

    # The manager's own record: theirs to correct.
    window.decisions.select_record(made[MO][0])
    qtbot.waitUntil(lambda: detail.loaded_id == made[MO][0], timeout=10_000)
    assert detail.correct_button.isEnabled() and not detail.owner_note.isVisible()


def test_the_manager_gives_a_practitioners_follow_up_to_someone_else(
        qtbot, team: Team, windows) -> None:
    made = _team_records(team)
    mo = team.devices["mo-laptop"]
    window = windows("mo-laptop")
    _settled(qtbot, window, {rid for ids in made.values() for rid in ids})
    detail = window.detail
    pats = made[PAT][0]
    window.decisions.select_record(pats)
    qtbot.waitUntil(lambda: detail.loaded_id == pats, timeout=10_000)
    qtbot.waitUntil(detail.reassign_button.isEnabled, timeout=5_000)
    fid = mo.get_decision(pats).followups[0].followup_id

    def answer() -> None:
        dialog = next(w for w in QApplication.topLevelWidgets()
                      if isinstance(w, ReassignDialog) and w.isVisible())
        assert not dialog.ok_button.isEnabled()  # nobody is chosen for the manager
        dialog.to.setCurrentIndex(dialog.to.findText("Paula Practitioner"))
        qtbot.keyClicks(dialog.reason, "Pat is on leave this week.")
        dialog.ok_button.click()

    QTimer.singleShot(100, answer)
    qtbot.mouseClick(detail.reassign_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: mo.get_followup(fid).owner_id == PAULA, timeout=10_000)
    detail.tabs.setCurrentIndex(2)
    qtbot.waitUntil(lambda: "Paula Practitioner" in detail.followups_view.toPlainText(),
                    timeout=10_000)


def test_a_practitioner_sees_no_team_view(qtbot, team: Team, windows) -> None:
    _team_records(team)
    window = windows("paula-laptop")
    panel = window.decisions
    qtbot.waitUntil(lambda: panel.model.rowCount() > 0 and not panel.model.is_loading,
                    timeout=10_000)
    assert not panel.team_button.isVisible() and not panel.practitioner.isVisible()


def test_who_may_change_what_holds_in_app_too(team: Team) -> None:
    made = _team_records(team)
    mo, pat, paula = (team.devices[n] for n in ("mo-laptop", "pat-laptop", "paula-laptop"))
    rid = made[PAT][0]
    before = len(mo.versions(rid))
    with pytest.raises(InvalidChange, match="Only the practitioner who made this record"):
        correct(mo, rid, "manager's view", reasons="Changed by the manager.")
    with pytest.raises(InvalidChange):
        mo.withdraw_decision(rid, "not theirs", parents=mo.get_decision(rid).heads)
    assert len(mo.versions(rid)) == before and mo.get_decision(rid).read_only
    assert pat.get_decision(rid).read_only == ""
    fid = pat.get_decision(rid).followups[0].followup_id
    with pytest.raises(InvalidChange, match="Only a manager"):  # a practitioner
        pat.reassign_followup(fid, PAULA, parents=pat.get_followup(fid).heads)
    with pytest.raises(InvalidChange):  # not hers: Paula holds none of Pat's follow-ups
        paula.complete_followup(fid, "done", parents=paula.get_followup(fid).heads)
    assert pat.get_followup(fid).owner_id == PAT and pat.get_followup(fid).state == "open"
    mo.reassign_followup(fid, PAULA, parents=mo.get_followup(fid).heads)  # a manager may
    assert mo.get_followup(fid).owner_id == PAULA
