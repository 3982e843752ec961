"""The form adapts to the decision flow, refuses what the rules refuse, keeps drafts."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox

from app.model import SEVEN_TESTS
from tests.conftest import make_share
from ui.decision_form import DecisionForm


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
    form.purpose.setPlainText("Child protection enquiry")
    form.information.setPlainText("Home visit observations")
    form.subject_editors[0].name.setText("Alice Example")
    form.subject_editors[0].case_ref.setText("C100200")
    form.reasons.setPlainText("Needed to protect the child.")
    choose(form.consent, "given")
    choose(form.decision, decision)
    form.cp_name.setText("Dr R. Mensah")
    form.cp_org.setText("Riverside Medical Centre")
    if decision != "not_share":
        choose(form.method, "secure_email")
        choose(form.person_informed, "yes")
        for box in form.test_boxes.values():
            box.setChecked(True)


def visible(form: DecisionForm, name: str) -> bool:
    return form._fields[name].isVisibleTo(form)


def error_text(form: DecisionForm, name: str) -> str:
    field = form._fields[name]
    return field.error.text() if field.error.isVisibleTo(form) else ""


def test_share_without_consent_or_basis_shows_messages_beside_fields(qtbot, form, service):
    form.start_new("disclosure")
    fill_basic(form)
    assert not visible(form, "consent_reason") and not visible(form, "lawful_basis")
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


def test_special_category_needs_an_article_9_condition(qtbot, form, service):
    form.start_new("disclosure")
    fill_basic(form)
    assert not visible(form, "art9_condition")
    form.special_category.setChecked(True)
    assert visible(form, "art9_condition")
    form.save()
    assert "Article 9" in error_text(form, "art9_condition")
    choose(form.art9_condition, "dpa_sch1_para18")
    with qtbot.waitSignal(form.saved, timeout=10_000) as saved:
        form.save()
    assert service.get_decision(saved.args[0]).record.art9_condition == "dpa_sch1_para18"


def test_not_to_share_hides_method_shared_at_and_person_informed(qtbot, form, service):
    form.start_new("disclosure")
    fill_basic(form)
    for name in ("method", "shared_at", "person_informed", "seven_tests"):
        assert visible(form, name)
    choose(form.decision, "not_share")
    for name in ("method", "shared_at", "person_informed", "seven_tests"):
        assert not visible(form, name), name
    with qtbot.waitSignal(form.saved, timeout=10_000) as saved:
        form.save()
    detail = service.get_decision(saved.args[0])
    assert detail.record.decision == "not_share"
    assert detail.record.method == ""
    assert detail.followups == []


def test_no_clear_purpose_forces_not_to_share(qtbot, form):
    form.start_new("disclosure")
    fill_basic(form)
    form.clear_purpose.setChecked(False)
    assert form.decision.currentData() == "not_share"
    assert not visible(form, "decision")
    assert form.purpose_note.isVisibleTo(form)
    assert form.record().decision == "not_share"


def test_request_made_adapts_wording_and_creates_chase_followup(qtbot, form, service):
    form.start_new("request_made")
    assert form.counterparty_box.title() == "Who else might hold relevant information?"
    label = form._rows["information"][0].labelForField(form._fields["information"])
    assert label.text() == "What you disclose in asking"
    fill_basic(form)
    with qtbot.waitSignal(form.saved, timeout=10_000) as saved:
        form.save()
    detail = service.get_decision(saved.args[0])
    assert detail.record.direction == "request_made"
    assert [f.title for f in detail.followups] == ["Chase the response"]


def test_correction_creates_version_two_with_its_reason(qtbot, form, service):
    record_id = service.record_decision(make_share())
    form.start_correction(record_id)
    qtbot.waitUntil(lambda: form.is_correction, timeout=10_000)
    assert form.correction_box.isVisibleTo(form)
    assert form.subject_editors[0].name.text() == "Alice Example"
    assert form.lawful_basis.currentData() == "public_task"

    form.information.setPlainText("Observations from the home visit on 4 November")
    form.save()  # no reason yet
    assert "reason" in error_text(form, "reason").lower()
    form.bridge.wait_idle()
    assert len(service.versions(record_id)) == 1

    form.correction_reason.setPlainText("Wrong date of the visit.")
    with qtbot.waitSignal(form.saved, timeout=10_000) as saved:
        form.save()
    assert saved.args[0] == record_id
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
    assert [e.name.text() for e in form.subject_editors] == ["Alice Example", "Bob Example"]
    assert form.counterparty_box.title() == "Who is asking?"

    choose(form.lawful_basis, "public_task")
    choose(form.without_consent_ground, "risk_of_harm")
    with qtbot.waitSignal(form.saved, timeout=10_000):
        form.save()
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
    from PySide6.QtWidgets import (
        QAbstractButton,
        QAbstractSpinBox,
        QLineEdit,
        QPlainTextEdit,
    )

    for kind in (QAbstractButton, QComboBox, QLineEdit, QPlainTextEdit, QAbstractSpinBox):
        for widget in form.findChildren(kind):
            if isinstance(widget.parent(), QComboBox | QAbstractSpinBox):
                continue  # the inner line edit of a combo or a date box
            assert widget.accessibleName(), widget


def test_seven_tests_are_seven_checkboxes(form):
    assert list(form.test_boxes) == list(SEVEN_TESTS)


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
    # Nothing follows from an unanswered question: no reason or lawful basis asked yet.
    assert not visible(form, "consent_reason") and not visible(form, "lawful_basis")

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


def test_unticking_clear_purpose_by_mistake_is_undone_by_ticking_it_again(qtbot, form):
    form.start_new("disclosure")
    choose(form.decision, "share_partial")
    form.clear_purpose.setChecked(False)
    assert not visible(form, "decision")  # without a clear purpose: not to share
    assert form.record().decision == "not_share"
    assert form.purpose_note.isVisibleTo(form)
    form.clear_purpose.setChecked(True)
    assert visible(form, "decision")
    assert form.decision.currentData() == "share_partial"  # the answer given comes back

    # A record opened without a clear purpose has no other answer to bring back.
    form._load(make_share(clear_purpose=False, decision="not_share", method=""))
    form.clear_purpose.setChecked(True)
    assert form.decision.currentData() == "not_share"
