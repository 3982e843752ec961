"""The form adapts to the decision flow, refuses what the rules refuse, keeps drafts."""

from __future__ import annotations

import datetime as dt
import random

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractButton, QCheckBox, QComboBox, QLineEdit, QPlainTextEdit

from app.model import SEVEN_TESTS
from tests.conftest import make_share
from ui.decisions.detail_pane import record_html
from ui.form.controls import ChoiceBox, YesNoBox
from ui.form.decision_form import DecisionForm


@pytest.fixture
def form(qtbot, bridge) -> DecisionForm:
    f = DecisionForm(bridge)
    qtbot.addWidget(f)
    f.resize(900, 800)
    f.show()
    qtbot.waitExposed(f)
    return f


def choose(combo: QComboBox, key: str) -> None:
    index = combo.findData(key)
    assert index >= 0, key
    combo.setCurrentIndex(index)


def fill_basic(form: DecisionForm, *, decision: str = "share") -> None:
    """Every question a share of education information asks, answered."""
    form.purpose.setPlainText("Child protection enquiry")
    form.clear_purpose.set_value(True)
    if form.requested_information.isVisibleTo(form):
        form.requested_information.setPlainText("Attendance this term")
    form.information.setPlainText("Home visit observations")
    form.category_list.set_values(["education"])
    choose(form.fact_opinion, "fact")
    form.identifies_person.set_value(True)
    person = form.subject_editors[0]
    person.name.setText("Alice Example")
    choose(person.kind, "child")
    person.case_ref.setText("C100200")
    form.confidential.set_value(True)
    choose(form.consent, "given")
    choose(form.decision, decision)
    form.cp_name.setText("Dr R. Mensah")
    form.cp_org.setText("Riverside Medical Centre")
    if decision != "not_share":
        choose(form.method, "secure_email")
        choose(form.person_informed, "yes")
        for box in form.test_boxes.values():
            box.set_value(True)
        form.third_party.set_value(False)
    form.advice_sought.set_value(False)
    form.reasons.setPlainText("Needed to protect the child.")


def visible(form: DecisionForm, name: str) -> bool:
    return form._fields[name].isVisibleTo(form)


def error_text(form: DecisionForm, name: str) -> str:
    field = form._fields[name]
    return field.error.text() if field.error.isVisibleTo(form) else ""


def save_and_wait(qtbot, form: DecisionForm) -> str:
    with qtbot.waitSignal(form.saved, timeout=10_000) as saved:
        form.save()
    return saved.args[0]


def test_share_without_consent_or_basis_shows_messages_beside_fields(qtbot, form, service):
    form.start_new("disclosure")
    fill_basic(form)
    assert not visible(form, "consent_reason") and visible(form, "lawful_basis")
    choose(form.consent, "not_sought")
    assert visible(form, "consent_reason") and visible(form, "lawful_basis")
    assert visible(form, "without_consent_ground")

    form.save()

    assert "Consent was not given" in error_text(form, "consent_reason")
    assert "lawful basis" in error_text(form, "lawful_basis")
    assert form.lawful_basis.accessibleDescription() == error_text(form, "lawful_basis")
    assert error_text(form, "purpose") == ""
    form.bridge.wait_idle()
    assert service.list_decisions() == []

    # Fixing one clears its message at once; the other stays until fixed.
    choose(form.consent_reason, "risk_of_harm")
    assert error_text(form, "consent_reason") == ""
    assert error_text(form, "lawful_basis") != ""


# -- 1. special-category data follows from the categories ------------------------------------
def test_ticking_health_asks_for_both_conditions_and_the_record_says_so(qtbot, form, service):
    form.start_new("disclosure")
    fill_basic(form)
    assert not visible(form, "art9_condition")
    assert not [w for w in form.findChildren(QCheckBox)]  # no separate "special?" tick-box
    form.category_list.set_values(["education", "health"])
    assert visible(form, "art9_condition")
    assert "Special-category data" in form.category_note.text() and "health" in \
        form.category_note.text()
    form.save()
    assert "Article 9" in error_text(form, "art9_condition")
    assert "Schedule 1" in error_text(form, "art9_condition")
    choose(form.special_condition, "art9_2_g|sch1_para18")
    record_id = save_and_wait(qtbot, form)
    record = service.get_decision(record_id).record
    assert (record.art9_condition, record.sch1_condition) == ("art9_2_g", "sch1_para18")
    words = record_html(record)
    assert "Special-category data" in words and "Yes: health" in words
    assert "Sch 1 para 18" in words


def test_criminal_offence_data_asks_for_its_own_condition(qtbot, form, service):
    form.start_new("disclosure")
    fill_basic(form)
    form.category_list.set_values(["criminal"])
    assert visible(form, "art10_condition") and not visible(form, "art9_condition")
    form.save()
    assert "criminal offence data" in error_text(form, "art10_condition")
    choose(form.art10_condition, "sch1_para10")
    record_id = save_and_wait(qtbot, form)
    assert service.get_decision(record_id).record.art10_condition == "sch1_para10"


# -- 3. the flow follows the decision ---------------------------------------------------------
def test_not_to_share_with_consent_refused_asks_nothing_only_a_share_needs(qtbot, form, service):
    form.start_new("disclosure")
    fill_basic(form, decision="not_share")
    form.category_list.set_values(["health"])
    choose(form.consent, "refused")
    for name in ("consent_reason", "lawful_basis", "without_consent_ground", "art9_condition",
                 "method", "shared_at", "person_informed", "seven_tests",
                 "third_party_identified"):
        assert not visible(form, name), name
    assert not form.basis_box.isVisibleTo(form) and not form.share_box.isVisibleTo(form)
    assert form.counterparty_box.title() == "Who would have received it (if anyone)"
    record_id = save_and_wait(qtbot, form)
    detail = service.get_decision(record_id)
    assert detail.record.decision == "not_share"
    assert (detail.record.method, detail.record.lawful_basis) == ("", "")
    assert detail.followups == []
    assert "Decided not to share with Riverside Medical Centre" in record_html(detail.record)


def test_no_clear_purpose_forces_not_to_share(qtbot, form):
    form.start_new("disclosure")
    fill_basic(form)
    form.clear_purpose.set_value(False)
    assert not visible(form, "decision")
    assert form.purpose_note.isVisibleTo(form)
    assert form.record().decision == "not_share"
    for name in ("identifies_person", "confidential", "consent", "method"):
        assert not visible(form, name), name


def test_a_request_made_asks_what_was_asked_for_and_never_when_it_was_shared(qtbot, form,
                                                                             service):
    form.start_new("request_made")
    assert form.counterparty_box.title() == "Who else might hold relevant information?"
    label = form._rows["information"][0].labelForField(form._fields["information"])
    assert label.text() == "What you tell them in asking"
    assert visible(form, "requested_information")
    assert [form.decision.itemText(i) for i in range(1, 4)][0] == "Ask"
    fill_basic(form)
    when = form._rows["shared_at"][0].labelForField(form._fields["shared_at"])
    assert when.text() == "When you asked"
    texts = " ".join(w.text() for w in form.findChildren(QAbstractButton)) + " ".join(
        form.decision.itemText(i) for i in range(form.decision.count()))
    assert "When it was shared" not in texts and "Share" not in texts
    form.requested_information.clear()
    form.save()
    assert error_text(form, "requested_information") == "Say what you asked for."
    form.requested_information.setPlainText("Whether the family is known to the practice")
    record_id = save_and_wait(qtbot, form)
    detail = service.get_decision(record_id)
    assert detail.record.requested_information.startswith("Whether the family")
    assert [f.title for f in detail.followups] == ["Chase the response"]
    assert "Asked Riverside Medical Centre" in record_html(detail.record)


# -- 4. nothing professional is pre-answered --------------------------------------------------
def test_a_new_form_answers_nothing_for_the_practitioner(qtbot, form):
    form.start_new("disclosure")
    answers = (form.clear_purpose, form.identifies_person, form.confidential,
               form.third_party, form.advice_sought, *form.test_boxes.values())
    assert [box.value() for box in answers] == [None] * len(answers)
    for combo in (form.decision, form.consent, form.fact_opinion,
                  form.subject_editors[0].kind, form.special_condition):
        assert combo.currentData() == "", combo.accessibleName()
    assert form.category_list.values() == []
    record = form.record()
    assert (record.clear_purpose, record.decision, record.consent) == (None, "", "")


@pytest.mark.parametrize("question", ["clear_purpose", "identifies_person", "confidential",
                                      "third_party", "advice_sought"])
def test_an_unanswered_judgement_stops_the_save(qtbot, form, service, question):
    form.start_new("disclosure")
    fill_basic(form)
    getattr(form, question).set_value(None)
    form.save()
    name = {"third_party": "third_party_identified"}.get(question, question)
    assert error_text(form, name), name
    form.bridge.wait_idle()
    assert service.list_decisions() == []


def test_each_of_the_seven_tests_must_be_answered_and_met(qtbot, form, service):
    form.start_new("disclosure")
    fill_basic(form)
    form.test_boxes["secure"].set_value(None)
    form.save()
    assert "not yet answered: Secure" in error_text(form, "seven_tests")
    form.test_boxes["secure"].set_value(False)
    assert "not met: Secure" in error_text(form, "seven_tests")
    form.bridge.wait_idle()
    assert service.list_decisions() == []


# -- 6. messages speak only of what is on screen ---------------------------------------------
def _placed_only_on_visible_rows(form: DecisionForm) -> None:
    problems = form._problems()
    for p in problems:
        name = p.field
        if name.startswith("subjects."):
            continue
        assert name in form._rows and form._row_shown(name), (name, p.message)
    for name, field in form._fields.items():
        if field.error.isVisibleTo(form):
            assert form._row_shown(name), name
    banner = form.banner.text()
    for name, (layout, widget) in form._rows.items():
        label = layout.labelForField(widget)
        if label is not None and not form._row_shown(name) and label.text():
            assert label.text() not in banner, (name, banner)


def test_an_empty_form_speaks_only_of_the_questions_it_shows(qtbot, form):
    for direction in ("disclosure", "request_made", "request_received"):
        form.start_new(direction)
        form.save()
        assert "lawful basis" not in form.banner.text().lower()
        assert not visible(form, "lawful_basis")
        assert form.banner.text().startswith("This record can't be saved yet")
        _placed_only_on_visible_rows(form)


def test_whatever_is_answered_messages_name_only_visible_questions(qtbot, form):
    rng = random.Random(3)
    choices = [form.decision, form.consent, form.consent_reason, form.lawful_basis,
               form.method, form.person_informed, form.special_condition]
    yes_nos = [form.clear_purpose, form.identifies_person, form.confidential,
               form.third_party, form.advice_sought]
    form.start_new("disclosure")
    form.save()
    for _ in range(60):
        rng.choice(choices).setCurrentIndex(rng.randrange(0, 3))
        rng.choice(yes_nos).setCurrentIndex(rng.randrange(0, 3))
        form.category_list.set_values(rng.sample(["health", "criminal", "education"],
                                                 k=rng.randint(0, 2)))
        form._show_problems(form._problems())
        _placed_only_on_visible_rows(form)


# -- 7. every form opens at its top ----------------------------------------------------------
def _at_top(form: DecisionForm, first) -> bool:
    bar = form.scroll_area.verticalScrollBar()
    top = first.mapTo(form.scroll_area.viewport(), first.rect().topLeft()).y()
    return bar.value() == 0 and first.hasFocus() and 0 <= top < form.scroll_area.height()


def _scroll_to_bottom(qtbot, form: DecisionForm) -> None:
    form.reasons.setFocus()
    form.scroll_area.ensureWidgetVisible(form.reasons)
    bar = form.scroll_area.verticalScrollBar()
    qtbot.waitUntil(lambda: bar.value() > 0)


def test_every_form_opens_at_its_top_with_the_cursor_in_its_first_question(qtbot, form, service,
                                                                            bridge):
    form.activateWindow()
    qtbot.waitActive(form)
    for direction in ("disclosure", "request_made", "request_received"):
        form.start_new("disclosure")
        fill_basic(form)
        _scroll_to_bottom(qtbot, form)
        form.start_new(direction)
        qtbot.waitUntil(lambda: _at_top(form, form.purpose))

    record_id = service.record_decision(make_share())
    _scroll_to_bottom(qtbot, form)
    form.start_correction(record_id)
    qtbot.waitUntil(lambda: form.is_correction and _at_top(form, form.correction_reason))
    assert form.correction_box.isVisibleTo(form)

    form.start_new("disclosure")
    form.purpose.setPlainText("Half-written")
    with qtbot.waitSignal(form.draft_saved, timeout=10_000) as drafted:
        form.clear()
    form.start_new("disclosure")
    fill_basic(form)
    _scroll_to_bottom(qtbot, form)
    form.resume_draft(drafted.args[0])
    qtbot.waitUntil(lambda: form.draft_id == drafted.args[0] and _at_top(form, form.purpose))


# -- 2. dates that cannot be true; a late record is confirmed ---------------------------------
def _set_decided(form: DecisionForm, when: dt.datetime) -> None:
    from PySide6.QtCore import QDateTime

    form.decided_at.setDateTime(QDateTime.fromString(when.strftime("%Y-%m-%dT%H:%M"),
                                                     "yyyy-MM-ddTHH:mm"))


def test_a_late_record_is_confirmed_and_says_when_it_was_written(qtbot, form, service):
    service.set_now(dt.datetime(2026, 12, 1, 15, 0))
    form.start_new("disclosure")
    fill_basic(form)
    assert not visible(form, "late_confirmed")
    _set_decided(form, dt.datetime(2026, 10, 17, 11, 0))
    assert visible(form, "late_confirmed")
    assert "45 days ago" in form.late_note.text()
    form.save()
    assert "recording this decision late" in error_text(form, "late_confirmed")
    form.late_confirmed.set_value(True)
    record_id = save_and_wait(qtbot, form)
    (version,) = service.versions(record_id)
    words = record_html(service.get_decision(record_id).record, version.at)
    assert "17 Oct 2026 11:00" in words  # decided
    assert "days after the decision" in words  # and when it was written


def test_a_decision_in_the_future_or_before_a_birth_is_refused_beside_its_field(qtbot, form,
                                                                                service):
    service.set_now(dt.datetime(2026, 12, 1, 15, 0))
    form.start_new("disclosure")
    fill_basic(form)
    _set_decided(form, dt.datetime(2026, 12, 2, 9, 0))
    form.save()
    assert "future" in error_text(form, "decided_at")
    _set_decided(form, dt.datetime(2015, 5, 1, 9, 0))
    form.subject_editors[0].dob.setText("2016-04-02")
    form.late_confirmed.set_value(True)
    form.save()
    editor = form.subject_editors[0]
    assert "after the decision" in editor.dob_field.error.text()
    form.bridge.wait_idle()
    assert service.list_decisions() == []


# -- 9. a stray key never changes a legal answer -----------------------------------------------
def test_space_in_any_answer_control_changes_no_answer(qtbot, form):
    form.activateWindow()
    qtbot.waitActive(form)
    form.start_new("disclosure")
    fill_basic(form)
    form.category_list.set_values(["health"])
    choose(form.special_condition, "art9_2_g|sch1_para18")
    before = form.record()
    visited = 0
    for widget in form._focus_order():
        if (not widget.isVisibleTo(form) or isinstance(widget, QAbstractButton
                                                      | QLineEdit | QPlainTextEdit)):
            continue
        widget.setFocus(Qt.FocusReason.TabFocusReason)  # as a miscounted Tab leaves it
        qtbot.keyClick(widget, Qt.Key.Key_Space)
        if isinstance(widget, QComboBox) and widget.view().isVisible():
            qtbot.keyClick(widget.view(), Qt.Key.Key_Escape)
        visited += 1
        assert form.record() == before, widget.accessibleName()
    assert visited >= 20


def test_yes_no_answers_by_letter_and_all_seven_tests_at_once(qtbot, form):
    form.activateWindow()
    qtbot.waitActive(form)
    form.start_new("disclosure")
    form.clear_purpose.setFocus()
    qtbot.keyClicks(form.clear_purpose, "y")
    assert form.clear_purpose.value() is True
    assert form.information.hasFocus()  # it moved on
    form.clear_purpose.setFocus()
    qtbot.keyClicks(form.clear_purpose, "u")
    assert form.clear_purpose.value() is None
    fill_basic(form)
    for box in form.test_boxes.values():
        box.set_value(None)
    form.test_boxes["timely"].set_value(False)
    form.test_boxes["relevant"].setFocus()
    qtbot.keyClicks(form.test_boxes["relevant"], "a")
    answers = {k: b.value() for k, b in form.test_boxes.items()}
    assert answers == {k: k != "timely" for k in SEVEN_TESTS}  # a "no" stays a "no"
    assert form.third_party.hasFocus()


def test_a_typed_first_letter_chooses_and_moves_on_only_when_it_fits_one_answer(qtbot, form):
    form.activateWindow()
    qtbot.waitActive(form)
    form.start_new("disclosure")
    fill_basic(form)
    choose(form.consent, "not_sought")
    form.lawful_basis.setFocus()
    qtbot.keyClicks(form.lawful_basis, "l")  # legal obligation or legitimate interests
    assert form.lawful_basis.currentData() == "legal_obligation"
    assert form.lawful_basis.hasFocus()  # two answers fit: it waits
    qtbot.keyClicks(form.lawful_basis, "egi")
    assert form.lawful_basis.currentData() == "legitimate_interests"
    qtbot.keyClick(form.lawful_basis, Qt.Key.Key_Delete)
    assert form.lawful_basis.currentData() == ""
    assert all(isinstance(w, ChoiceBox) for w in (form.decision, form.consent))
    assert isinstance(form.clear_purpose, YesNoBox)


# -- drafts, corrections and the rest ---------------------------------------------------------
def test_correction_creates_version_two_with_its_reason(qtbot, form, service):
    record_id = service.record_decision(make_share())
    form.start_correction(record_id)
    qtbot.waitUntil(lambda: form.is_correction, timeout=10_000)
    assert form.correction_box.isVisibleTo(form)
    assert form.subject_editors[0].name.text() == "Alice Example"
    assert form.lawful_basis.currentData() == "public_task"
    assert form.special_condition.currentData() == "art9_2_g|sch1_para18"

    form.information.setPlainText("Observations from the home visit on 4 November")
    form.save()  # no reason yet
    assert "reason" in error_text(form, "reason").lower()
    form.bridge.wait_idle()
    assert len(service.versions(record_id)) == 1

    form.correction_reason.setPlainText("Wrong date of the visit.")
    assert not visible(form, "late_confirmed")  # a correction is not a late recording
    assert save_and_wait(qtbot, form) == record_id
    versions = service.versions(record_id)
    assert [v.number for v in versions] == [1, 2]
    assert versions[1].reason == "Wrong date of the visit."
    assert versions[1].record.information.endswith("4 November")
    assert versions[0].record.information.endswith("3 November")


def test_draft_saved_on_clear_and_restored(qtbot, form, service, bridge):
    form.start_new("request_received")
    fill_basic(form)
    choose(form.consent, "refused")
    choose(form.consent_reason, "prejudice_enquiry")
    form.add_subject_button.click()
    form.subject_editors[1].name.setText("Bob Example")
    choose(form.subject_editors[1].kind, "adult_at_risk")
    with qtbot.waitSignal(form.draft_saved, timeout=10_000) as drafted:
        form.clear()
    draft_id = drafted.args[0]
    assert form.purpose.toPlainText() == ""
    assert form.cp_name.text() == ""
    assert len(form.subject_editors) == 1
    assert [d.draft_id for d in service.drafts()] == [draft_id]

    form.resume_draft(draft_id)
    qtbot.waitUntil(lambda: form.draft_id == draft_id, timeout=10_000)
    assert form.purpose.toPlainText() == "Child protection enquiry"
    assert form.consent_reason.currentData() == "prejudice_enquiry"
    assert form.clear_purpose.value() is True
    assert [e.name.text() for e in form.subject_editors] == ["Alice Example", "Bob Example"]
    assert form.counterparty_box.title() == "Who is asking?"

    choose(form.lawful_basis, "public_task")
    choose(form.without_consent_ground, "risk_of_harm")
    save_and_wait(qtbot, form)
    assert service.drafts() == []  # the saved decision took its draft with it


def test_autosave_after_an_edit(qtbot, form, service):
    form.start_new("disclosure")
    form.purpose.setPlainText("Enquiry")
    with qtbot.waitSignal(form.draft_saved, timeout=5_000):
        pass
    assert service.drafts()[0].body["record"]["purpose"] == "Enquiry"


def test_choosing_a_contact_fills_role_and_organisation(qtbot, form, service):
    service.record_decision(make_share())
    form.start_new("disclosure")
    form.cp_name.setFocus()
    qtbot.keyClicks(form.cp_name, "Dr")
    qtbot.waitUntil(lambda: form.suggestions.model.rowCount() == 1, timeout=5_000)
    index = form.suggestions.model.index(0, 0)
    assert "Riverside Medical Centre" in index.data()
    form.suggestions.choose(index)
    assert form.cp_name.text() == "Dr R. Mensah"
    assert form.cp_role.text() == "GP"
    assert form.cp_org.text() == "Riverside Medical Centre"


def test_every_control_has_an_accessible_name(form):
    from PySide6.QtWidgets import QAbstractSpinBox, QListView

    for kind in (QAbstractButton, QComboBox, QLineEdit, QPlainTextEdit, QAbstractSpinBox,
                 QListView):
        for widget in form.findChildren(kind):
            if isinstance(widget.parent(), QComboBox | QAbstractSpinBox):
                continue  # the inner line edit of a combo or a date box
            parent = widget.parent()
            if parent is not None and parent.inherits("QComboBoxPrivateContainer"):
                continue  # a drop-down's own list: the drop-down carries the name
            assert widget.accessibleName(), widget


def test_seven_tests_are_seven_yes_no_answers(form):
    assert list(form.test_boxes) == list(SEVEN_TESTS)
    assert all(isinstance(b, YesNoBox) for b in form.test_boxes.values())


def test_bad_date_of_birth_is_shown_beside_it_and_focused(qtbot, form, service):
    form.show()
    form.activateWindow()
    qtbot.waitActive(form)
    form.start_new("disclosure")
    fill_basic(form)
    form.subject_editors[0].dob.setText("2 April 2016")
    form.save()
    editor = form.subject_editors[0]
    assert editor.dob_field.error.isVisibleTo(form)
    assert "date" in editor.dob.accessibleDescription()
    assert editor.dob.hasFocus()
    form.bridge.wait_idle()
    assert service.list_decisions() == []


def test_consent_starts_unanswered_and_must_be_answered(qtbot, form, service):
    form.start_new("disclosure")
    assert form.consent.currentData() == ""  # no answer is assumed for the practitioner
    fill_basic(form)
    choose(form.consent, "")
    # Nothing follows from an unanswered question: no reason asked yet.
    assert not visible(form, "consent_reason")

    form.save()

    assert "Say whether the person or family agreed" in error_text(form, "consent")
    form.bridge.wait_idle()
    assert service.list_decisions() == []


def _wheel(widget, steps: int) -> None:
    from PySide6.QtCore import QPoint, QPointF
    from PySide6.QtGui import QWheelEvent
    from PySide6.QtWidgets import QApplication

    centre = QPointF(widget.width() / 2, widget.height() / 2)
    event = QWheelEvent(centre, QPointF(widget.mapToGlobal(centre)), QPoint(),
                        QPoint(0, -120 * steps), Qt.MouseButton.NoButton,
                        Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(widget, event)


def test_mouse_wheel_scrolls_the_form_not_the_answer_under_it(qtbot, form):
    form.start_new("disclosure")
    fill_basic(form)
    choose(form.consent, "not_sought")
    choose(form.lawful_basis, "public_task")
    form.reasons.setFocus()
    bar = form.scroll_area.verticalScrollBar()
    bar.setValue(0)
    before = bar.value()

    _wheel(form.lawful_basis, 3)

    assert form.lawful_basis.currentData() == "public_task"  # unchanged, unseen or not
    assert bar.value() > before  # the page moved instead
    # Once the practitioner picks the box (click or Tab), the wheel changes it as usual.
    form.lawful_basis.setFocus()
    _wheel(form.lawful_basis, 1)
    assert form.lawful_basis.currentData() != "public_task"


def test_answering_no_clear_purpose_by_mistake_is_undone_by_answering_yes(qtbot, form):
    form.start_new("disclosure")
    choose(form.decision, "share_partial")
    form.clear_purpose.set_value(False)
    assert not visible(form, "decision")  # without a clear purpose: not to share
    assert form.record().decision == "not_share"
    assert form.purpose_note.isVisibleTo(form)
    form.clear_purpose.set_value(True)
    assert visible(form, "decision")
    assert form.decision.currentData() == "share_partial"  # the answer given comes back

    # A record opened without a clear purpose has no other answer to bring back.
    form._load(make_share(clear_purpose=False, decision="not_share", method=""))
    form.clear_purpose.set_value(True)
    assert form.decision.currentData() == "not_share"
