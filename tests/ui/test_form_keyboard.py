"""A practitioner records a share with the keyboard alone, through the real form and vault."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QWidget

from app.model import SEVEN_TESTS
from bench.form_keys import Keyboard as ScriptKeyboard
from bench.form_keys import record_typical_share
from ui.form.decision_form import DecisionForm


@pytest.fixture
def form(qtbot, bridge) -> DecisionForm:
    f = DecisionForm(bridge)
    qtbot.addWidget(f)
    f.resize(900, 800)
    f.show()
    f.activateWindow()
    qtbot.waitActive(f)
    return f


class Keyboard:
    """Sends keys to whatever has focus, as a person at the keyboard would."""

    def __init__(self, qtbot) -> None:
        self.qtbot = qtbot

    @property
    def focus(self) -> QWidget:
        widget = QApplication.focusWidget()
        assert widget is not None, "nothing has keyboard focus"
        return widget

    def press(self, key: Qt.Key, modifier=Qt.KeyboardModifier.NoModifier, times: int = 1) -> None:
        for _ in range(times):
            self.qtbot.keyClick(self.focus, key, modifier)

    def type(self, text: str) -> None:
        self.qtbot.keyClicks(self.focus, text)

    def tab_to(self, widget: QWidget, limit: int = 80) -> None:
        """Press Tab until the widget has focus (fails if it never gets there)."""
        for _ in range(limit):
            if self.focus is widget:
                return
            self.press(Qt.Key.Key_Tab)
        assert self.focus is widget, f"Tab never reached {widget.accessibleName()!r}"


def test_record_a_share_by_keyboard_alone(qtbot, form, service) -> None:
    keys = ScriptKeyboard()
    with qtbot.waitSignal(form.saved, timeout=10_000) as saved:
        count = record_typical_share(form, keys)
    record_id = saved.args[0]

    # Fewer than 30 keys that are not typed text (59 before, 42 of them Tab), and no
    # answer was given by anything but a key meant for it.
    assert count.nontext < 30, count.other
    assert count.tabs <= 12, count.other
    summaries = service.list_decisions()
    assert [s.record_id for s in summaries] == [record_id]
    detail = service.get_decision(record_id)
    record = detail.record
    assert record.subjects[0].name == "Alice Example"
    assert record.subjects[0].date_of_birth == "2016-04-02"
    assert record.subjects[0].kind == "child"
    assert (record.clear_purpose, record.identifies_person, record.confidential) == (
        True, True, True)
    assert record.categories == ["health"] and record.fact_or_opinion == "fact"
    assert record.consent == "not_sought"
    assert record.consent_reason == "risk_of_harm"
    assert record.lawful_basis == "public_task"
    assert (record.art9_condition, record.sch1_condition) == ("art9_2_g", "sch1_para18")
    assert record.method == "secure_email"
    assert record.counterparty.organisation == "Riverside Medical Centre"
    assert record.seven_tests == {k: True for k in SEVEN_TESTS}
    assert (record.third_party_identified, record.advice_sought) == (False, False)
    assert [f.kind for f in detail.followups] == ["confirm_receipt"]
    assert form.purpose.toPlainText() == ""  # the form is ready for the next one


def test_ctrl_return_saves_too(qtbot, form, service) -> None:
    from tests.conftest import make_share

    keys = Keyboard(qtbot)
    form.start_new("disclosure")
    form._load(make_share(decision="not_share", consent="given", categories=["education"],
                          decided_at=form.now().strftime("%Y-%m-%dT%H:%M")))
    form.reasons.setFocus()
    with qtbot.waitSignal(form.saved, timeout=10_000):
        keys.press(Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert len(service.list_decisions()) == 1


def test_escape_asks_and_keeps_the_draft(qtbot, form, service, monkeypatch) -> None:
    keys = Keyboard(qtbot)
    form.start_new("disclosure")
    keys.type("Enquiry about school attendance")
    asked = []
    monkeypatch.setattr(form, "_ask_keep_draft", lambda: asked.append(1) or True)
    with qtbot.waitSignal(form.closed, timeout=5_000), \
            qtbot.waitSignal(form.draft_saved, timeout=10_000) as drafted:
        keys.press(Qt.Key.Key_Escape)
    assert asked == [1]
    drafts = service.drafts()
    assert [d.draft_id for d in drafts] == [drafted.args[0]]
    assert drafts[0].body["record"]["purpose"] == "Enquiry about school attendance"


def test_escape_can_discard_or_go_back(qtbot, form, service, bridge, monkeypatch) -> None:
    keys = Keyboard(qtbot)
    form.start_new("disclosure")
    keys.type("Enquiry")
    monkeypatch.setattr(form, "_ask_keep_draft", lambda: None)  # back to the form
    keys.press(Qt.Key.Key_Escape)
    assert form.purpose.toPlainText() == "Enquiry"
    form.save_draft_now()
    bridge.wait_idle()
    qtbot.waitUntil(lambda: len(service.drafts()) == 1, timeout=5_000)

    monkeypatch.setattr(form, "_ask_keep_draft", lambda: False)  # discard
    with qtbot.waitSignal(form.closed, timeout=5_000):
        keys.press(Qt.Key.Key_Escape)
    bridge.wait_idle()
    qtbot.waitUntil(lambda: service.drafts() == [], timeout=5_000)


def test_add_another_person_by_keyboard(qtbot, form) -> None:
    keys = Keyboard(qtbot)
    form.start_new("request_received")
    keys.tab_to(form.add_subject_button)
    keys.press(Qt.Key.Key_Space)
    assert len(form.subject_editors) == 2
    assert keys.focus is form.subject_editors[1].name
    keys.type("Bob Example")
    assert [s.name for s in form.record().subjects] == ["", "Bob Example"]
    keys.tab_to(form.subject_editors[1].remove_button)
    keys.press(Qt.Key.Key_Space)
    assert len(form.subject_editors) == 1


def test_start_new_keeps_unsaved_work_as_a_draft(qtbot, form, service) -> None:
    form.start_new("disclosure")
    form.purpose.setPlainText("Half-written")
    with qtbot.waitSignal(form.draft_saved, timeout=10_000):
        form.start_new("request_made")
    assert service.drafts()[0].body["record"]["purpose"] == "Half-written"
    assert form.purpose.toPlainText() == ""


def test_address_book_suggestion_chosen_by_keyboard(qtbot, form, service) -> None:
    from tests.conftest import make_share

    service.record_decision(make_share())
    keys = Keyboard(qtbot)
    form.start_new("disclosure")
    keys.tab_to(form.cp_name)
    keys.type("Riv")  # matches the organisation as well as the name
    popup = form.completer.popup()
    qtbot.waitUntil(lambda: popup.isVisible() and popup.model().rowCount() == 1, timeout=5_000)
    qtbot.keyClick(popup, Qt.Key.Key_Down)
    qtbot.keyClick(popup, Qt.Key.Key_Return)
    assert form.cp_name.text() == "Dr R. Mensah"
    assert form.cp_role.text() == "GP"
    assert form.cp_org.text() == "Riverside Medical Centre"
