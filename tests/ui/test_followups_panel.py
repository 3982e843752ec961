"""My follow-ups: grouped by when due; done, cancel and reschedule through the real vault."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from PySide6.QtCore import Qt

from app.model import FollowUp, Subject
from tests.conftest import make_share
from ui.bridge import Bridge
from ui.followups.model import GROUPS, FollowUpsModel
from ui.followups.panel import FollowUpsPanel
from ui.widgets import dialogs

TODAY = dt.date(2026, 11, 25)  # a Wednesday


@pytest.fixture
def bridge(qtbot, service) -> Iterator[Bridge]:
    service.set_now(dt.datetime.combine(TODAY, dt.time(17, 0)))  # decisions at 9 are past
    b = Bridge(service)
    yield b
    b.wait_idle()
    b.shutdown()


@pytest.fixture
def seeded(service) -> dict[str, str]:
    """One follow-up in each group: decided so that the working days land where needed (a
    decision is never dated after today)."""
    ids = {}
    for name, decided, days, case in (("overdue", "2026-11-16T09:00", 1, "C1"),
                                      ("today", "2026-11-24T09:00", 1, "C2"),
                                      ("this_week", "2026-11-25T09:00", 1, "C3"),
                                      ("later", "2026-11-25T09:00", 8, "C4")):
        rid = service.record_decision(
            make_share(decided_at=decided,
                       subjects=[Subject(name=f"Child {case}", case_ref=case, kind="child")]),
            followup_days=days)
        ids[name] = service.get_decision(rid).followups[0].followup_id
    return ids


@pytest.fixture
def panel(qtbot, bridge, seeded) -> FollowUpsPanel:
    p = FollowUpsPanel(bridge)
    qtbot.addWidget(p)
    p.resize(900, 500)
    p.show()
    with qtbot.waitSignal(p.overdue_count_changed, timeout=10_000) as overdue:
        p.refresh()
    assert overdue.args == [1]
    return p


def _fu(fid: str, due: dt.date, state: str = "open") -> FollowUp:
    return FollowUp(followup_id=fid, record_id="r" + fid, owner_id="u", kind="confirm_receipt",
                    title="Chase the response", due_date=due, state=state, outcome=None,
                    cancel_reason=None, subjects="Alice", case_refs="C1",
                    counterparty="Dr R. Mensah, GP")


def test_model_passes_qt_model_tester_through_updates(qtmodeltester) -> None:
    model = FollowUpsModel()
    qtmodeltester.check(model)
    model.set_followups({"overdue": [_fu("a", TODAY - dt.timedelta(days=3))],
                         "today": [_fu("b", TODAY), _fu("c", TODAY)]}, TODAY)
    qtmodeltester.check(model)
    model.set_followups({"today": [_fu("c", TODAY)],
                         "later": [_fu("a", TODAY + dt.timedelta(days=20))]}, TODAY)
    qtmodeltester.check(model)
    model.clear()
    qtmodeltester.check(model)


def test_model_columns_and_days_overdue() -> None:
    model = FollowUpsModel()
    model.set_followups({"overdue": [_fu("a", TODAY - dt.timedelta(days=3))]}, TODAY)
    group = model.index(0, 0)
    assert model.data(group) == "Overdue (1)"
    assert model.data(group, FollowUpsModel.GroupRole) == "overdue"
    row = model.index(0, 0, group)
    assert model.data(row) == f"22 {TODAY:%b %Y}"  # dates read as in the decisions list
    assert model.data(row.siblingAtColumn(FollowUpsModel.SUBJECTS)) == "Alice (C1)"
    assert model.data(row.siblingAtColumn(FollowUpsModel.COUNTERPARTY)) == "Dr R. Mensah, GP"
    assert model.data(row.siblingAtColumn(FollowUpsModel.DAYS_OVERDUE)) == "3"
    assert model.data(row, FollowUpsModel.RecordIdRole) == "ra"
    assert model.headerData(FollowUpsModel.ACTION, Qt.Orientation.Horizontal) == "What to do"


def test_model_updates_without_reset(qtbot) -> None:
    model = FollowUpsModel()
    model.set_followups({"today": [_fu("b", TODAY)]}, TODAY)
    resets = []
    model.modelReset.connect(lambda: resets.append(1))
    with qtbot.waitSignal(model.rowsInserted, timeout=1000):
        model.set_followups({"today": [_fu("b", TODAY), _fu("c", TODAY)]}, TODAY)
    assert resets == []


def test_panel_shows_the_four_groups(panel, qtmodeltester) -> None:
    model = panel.model
    assert [model.data(model.index(g, 0), FollowUpsModel.GroupRole) for g in range(4)] \
        == list(GROUPS)
    assert [model.count(g) for g in GROUPS] == [1, 1, 1, 1]
    overdue = model.followup(model.index(0, 0, model.index(0, 0)))
    assert overdue is not None and overdue.case_refs == "C1"
    assert panel.model.data(model.index(0, FollowUpsModel.DAYS_OVERDUE, model.index(0, 0))) \
        == str((TODAY - overdue.due_date).days)
    qtmodeltester.check(model)


def test_mark_done_with_outcome_moves_it_out_of_open(qtbot, panel, seeded, service,
                                                     monkeypatch) -> None:
    asked = []
    monkeypatch.setattr(dialogs, "ask_reason",
                        lambda *a, **k: asked.append(a) or "GP confirmed and booked a review.")
    panel.select(seeded["overdue"])
    assert panel.done_button.isEnabled()
    with qtbot.waitSignal(panel.overdue_count_changed, timeout=10_000) as overdue:
        panel.done_button.click()
    assert overdue.args == [0]
    assert asked
    assert panel.model.count("overdue") == 0
    open_ids = {f.followup_id for f in service.my_followups()}
    assert seeded["overdue"] not in open_ids
    closed = {f.followup_id: f for f in service.my_followups(include_closed=True)}
    assert closed[seeded["overdue"]].state == "done"
    assert closed[seeded["overdue"]].outcome == "GP confirmed and booked a review."


def test_cancel_needs_a_reason(qtbot, panel, seeded, service, monkeypatch) -> None:
    bridge = panel.bridge
    asked: list[str] = []

    def back(*_a, about: str = "", **_k):  # the person pressed Back
        asked.append(about)

    monkeypatch.setattr(dialogs, "ask_reason", back)
    panel.select(seeded["today"])
    panel.cancel()
    bridge.wait_idle()
    assert seeded["today"] in {f.followup_id for f in service.my_followups()}
    # The dialog names the follow-up it would cancel.
    assert "Child C2 (C2)" in asked[0] and "due " in asked[0]

    reason_dialog = dialogs.ReasonDialog(None, "Cancel the follow-up", "Why?",
                                         ok_text="Cancel follow-up", about=asked[0])
    qtbot.addWidget(reason_dialog)
    # Its two buttons cannot be mistaken for each other.
    assert sorted(b.text() for b in reason_dialog.buttons.buttons()) == [
        "Back", "Cancel follow-up"]

    monkeypatch.setattr(dialogs, "ask_reason", lambda *a, **k: "Case closed by the court.")
    with qtbot.waitSignal(bridge.changed, timeout=10_000):
        panel.cancel()
    qtbot.waitUntil(lambda: panel.model.count("today") == 0, timeout=10_000)
    closed = {f.followup_id: f for f in service.my_followups(include_closed=True)}
    assert closed[seeded["today"]].state == "cancelled"
    assert closed[seeded["today"]].cancel_reason == "Case closed by the court."


def test_reason_dialog_ok_disabled_until_text(qtbot) -> None:
    dialog = dialogs.ReasonDialog(None, "Cancel the follow-up", "Why?")
    qtbot.addWidget(dialog)
    assert not dialog.ok_button.isEnabled()
    qtbot.keyClicks(dialog.text, "   ")
    assert not dialog.ok_button.isEnabled()
    qtbot.keyClicks(dialog.text, "No longer needed")
    assert dialog.ok_button.isEnabled()
    assert dialog.reason() == "No longer needed"


def test_reschedule_changes_due_date_and_keeps_the_old_one(qtbot, panel, seeded, service,
                                                           monkeypatch) -> None:
    new_due = TODAY + dt.timedelta(days=14)
    monkeypatch.setattr(dialogs, "ask_date_and_reason",
                        lambda *a, **k: (new_due, "Recipient on leave"))
    old_due = {f.followup_id: f for f in service.my_followups()}[seeded["overdue"]].due_date
    panel.select(seeded["overdue"])
    with qtbot.waitSignal(panel.overdue_count_changed, timeout=10_000):
        panel.reschedule()
    assert panel.model.count("later") == 2
    fu = {f.followup_id: f for f in service.my_followups()}[seeded["overdue"]]
    assert fu.due_date == new_due
    history = service.followup_history(seeded["overdue"])
    change = history[-1]
    assert change.kind == "followup.reschedule"
    assert change.detail["previous_due_date"] == old_due.isoformat()
    assert change.detail["reason"] == "Recipient on leave"


def test_opening_a_followup_names_its_record(qtbot, panel, seeded, service) -> None:
    panel.select(seeded["later"])
    with qtbot.waitSignal(panel.open_record, timeout=1000) as opened:
        panel.open_button.click()
    record_ids = {f.followup_id: f.record_id for f in service.my_followups()}
    assert opened.args == [record_ids[seeded["later"]]]


def test_clear_empties_the_panel(panel) -> None:
    panel.clear()
    assert all(panel.model.count(g) == 0 for g in GROUPS)
