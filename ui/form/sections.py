"""The decision form's questions, section by section, in the order of the decision flow.

``FormSections`` lays out the widgets and remembers, for every row, its field (the
editor and its message) under the name validation uses, which is also the
``DecisionRecord`` attribute it answers. It knows the keyboard order within each
section; what the answers mean is ``ui.form.answers``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from app.model import (
    ADVICE_FROM,
    ART6_BASES,
    ART10_CONDITIONS,
    CATEGORIES,
    CONSENT_LABELS,
    CONSENT_REASONS,
    FACT_OPINION,
    METHODS,
    PERSON_INFORMED,
    SEVEN_TESTS,
    SPECIAL_CONDITION_CHOICES,
    STATUTORY_GATEWAYS,
    WITHOUT_CONSENT_GROUNDS,
    Decision,
    Direction,
)
from app.record_data import COUNTERPARTY_FIELDS, TEXT_FIELDS
from ui.form.controls import CategoryList, ChoiceBox, YesNoBox
from ui.form.fields import (
    Field,
    choice_box,
    form_label,
    message_label,
    note,
    section,
    text_box,
    yes_no_grid,
)
from ui.form.people import SubjectEditor, SubjectList
from ui.widgets.inputs import DateTimeField

EditorT = TypeVar("EditorT", bound=QWidget)


class FormSections(QWidget):
    """The questions as widgets; ``_fields`` and ``_rows`` find any of them by name."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._direction = Direction.DISCLOSURE.value
        self._fields: dict[str, Field] = {}
        self._rows: dict[str, tuple[QFormLayout, QWidget]] = {}
        self._build_page()
        self._build_questions()

    # -- rows -------------------------------------------------------------------------
    def _row(self, form: QFormLayout, name: str, label: str, editor: EditorT) -> EditorT:
        field = Field(editor, self)
        editor.setAccessibleName(label)
        label_widget = form_label(label, self)
        label_widget.setBuddy(editor)
        form.addRow(label_widget, field)
        self._fields[name] = field
        self._rows[name] = (form, field)
        return editor

    def _choice_row(self, form: QFormLayout, name: str, label: str,
                    choices: Mapping[Any, str]) -> ChoiceBox:
        """A drop-down row that starts on '(choose)': no answer is assumed."""
        return self._row(form, name, label,
                         choice_box(self, choices, placeholder=self.tr("(choose)"), tr=self.tr))

    def _yes_no_row(self, form: QFormLayout, name: str, label: str, *, yes: str = "Yes",
                    no: str = "No") -> YesNoBox:
        return self._row(form, name, label, YesNoBox(self, self.tr, yes=yes, no=no))

    def _set_label(self, name: str, text: str) -> None:
        form, widget = self._rows[name]
        label = form.labelForField(widget)
        if isinstance(label, QLabel):
            label.setText(text)
        self._fields[name].editor.setAccessibleName(text)

    def _row_shown(self, name: str) -> bool:
        form, widget = self._rows[name]
        return form.isRowVisible(widget)

    # -- the page ---------------------------------------------------------------------
    def _build_page(self) -> None:
        outer = QVBoxLayout(self)
        self.title = QLabel(self)
        self.title.setStyleSheet("font-size: 16px; font-weight: bold;")
        outer.addWidget(self.title)
        self.banner = message_label(self.tr("Form messages"), self)
        outer.addWidget(self.banner)
        self.scroll_area = QScrollArea(self)
        self.scroll_area.setWidgetResizable(True)
        self.scroll_area.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.content = QWidget(self.scroll_area)
        self.sections = QVBoxLayout(self.content)
        self.scroll_area.setWidget(self.content)
        outer.addWidget(self.scroll_area, 1)
        buttons = QHBoxLayout()
        self.status = QLabel(self)
        self.status.setAccessibleName(self.tr("Draft status"))
        buttons.addWidget(self.status, 1)
        self.close_button = QPushButton(self.tr("Close"), self)
        self.close_button.setAccessibleName(self.tr("Close the form"))
        self.save_button = QPushButton(self.tr("Save decision"), self)
        self.save_button.setAccessibleName(self.tr("Save decision"))
        self.save_button.setToolTip(self.tr("Save (Ctrl+S or Ctrl+Enter)"))
        self.save_button.setDefault(True)
        buttons.addWidget(self.close_button)
        buttons.addWidget(self.save_button)
        outer.addLayout(buttons)

    def _build_questions(self) -> None:
        tr = self.tr
        self._titles: dict[QWidget, str] = {}  # section -> title without its number

        self.correction_box, form = section(tr("Why are you correcting this record?"), self)
        self.correction_reason = self._row(form, "reason", tr("Reason for the correction"),
                                           text_box(self))

        self.purpose_box, form = self._section(tr("Purpose"))
        self.purpose = self._row(
            form, "purpose", tr("What safeguarding concern or enquiry does this serve?"),
            text_box(self))
        self.clear_purpose = self._yes_no_row(
            form, "clear_purpose", tr("Is there a clear and legitimate purpose for sharing?"))
        self.purpose_note = note(form, tr(
            "Without a clear and legitimate purpose the decision is not to share. "
            "Record why in your reasons."), self)

        # Placed by direction: after the purpose for requests, with the decision for shares.
        self.counterparty_box, form = section(tr("Who"), self)
        self.cp_name = self._row(form, "counterparty.name", tr("Name"), QLineEdit(self))
        self.cp_role = self._row(form, "counterparty.role", tr("Role"), QLineEdit(self))
        self.cp_org = self._row(form, "counterparty.organisation", tr("Organisation"),
                                QLineEdit(self))
        self.cp_contact = self._row(form, "counterparty.contact", tr("Contact details"),
                                    QLineEdit(self))
        self._fields["counterparty"] = self._fields["counterparty.name"]  # "say who" goes here
        self._rows["counterparty"] = self._rows["counterparty.name"]
        for line, key in ((self.cp_name, "name"), (self.cp_role, "role"),
                          (self.cp_org, "organisation"), (self.cp_contact, "contact")):
            line.setMaxLength(COUNTERPARTY_FIELDS[key][0])

        self.info_box, form = self._section(tr("The information and who it is about"))
        self.requested_information = self._row(
            form, "requested_information", tr("What was asked for"), text_box(self, 2))
        self.information = self._row(form, "information", tr("What is (or would be) shared"),
                                     text_box(self, 4))
        self.category_list = self._row(form, "categories", tr("Categories (tick all that fit)"),
                                       CategoryList(self, CATEGORIES, tr))
        self.category_note = note(form, "", self)
        self.fact_opinion = self._choice_row(form, "fact_or_opinion", tr("Fact or opinion?"),
                                             FACT_OPINION)
        self.identifies_person = self._yes_no_row(
            form, "identifies_person", tr("Does the information identify a person?"))
        self.identifies_note = note(form, tr(
            "Information that identifies no one may usually be shared; still record who "
            "or which case it concerns."), self)
        self.subjects_widget = self._row(form, "subjects", tr("About whom"), SubjectList(self))
        self.subjects_widget.setAccessibleName(tr("People the information is about"))
        self.add_subject_button = self.subjects_widget.add_button

        self.confidential_box, form = self._section(tr("Confidentiality"))
        self.confidential = self._yes_no_row(form, "confidential",
                                             tr("Is the information confidential?"))
        self.confidential_note = note(form, tr(
            "Information that is not confidential can usually be shared; record the decision "
            "all the same."), self)

        self.consent_box, form = self._section(tr("Consent"))
        # Starts unanswered: consent is never recorded because nobody changed a default.
        self.consent = self._choice_row(form, "consent", tr("Did the person or family agree?"),
                                        CONSENT_LABELS)

        self.decision_box, form = self._section(tr("Decision"))
        self.decision_form = form
        # Worded by direction (ui.form.wording); the data are the Decision values.
        self.decision = self._choice_row(form, "decision", tr("Your decision"),
                                         {d.value: "" for d in Decision})
        self.decided_at = self._row(form, "decided_at", tr("When did you decide?"),
                                    DateTimeField(self))
        self.late_note = note(form, "", self)
        self.late_confirmed = self._yes_no_row(
            form, "late_confirmed", tr("Are you recording it late?"),
            yes=tr("Yes, I am recording it late"), no=tr("No, the date is wrong"))
        self.counterparty_slot = QVBoxLayout()
        form.addRow(self.counterparty_slot)

        self.basis_box, form = self._section(tr("Lawful basis"))
        self.consent_reason = self._choice_row(
            form, "consent_reason", tr("Why consent was not given or sought"), CONSENT_REASONS)
        self.without_consent_ground = self._choice_row(
            form, "without_consent_ground", tr("Ground for sharing without consent"),
            WITHOUT_CONSENT_GROUNDS)
        self.lawful_basis = self._choice_row(
            form, "lawful_basis", tr("Lawful basis (UK GDPR Article 6)"), ART6_BASES)
        self.statutory_gateway = self._row(
            form, "statutory_gateway", tr("Statutory gateway (if one applies)"),
            choice_box(self, {k: v for k, v in STATUTORY_GATEWAYS.items() if k},
                       placeholder=tr("(none)"), tr=tr))
        self.special_condition = self._row(
            form, "art9_condition",
            tr("Special-category data: Article 9 condition and its DPA 2018 Schedule 1 "
               "condition"),
            choice_box(self, {f"{a}|{b}": label
                              for (a, b), label in SPECIAL_CONDITION_CHOICES.items()},
                       placeholder=tr("(choose)"), tr=tr))
        self._fields["sch1_condition"] = self._fields["art9_condition"]
        self._rows["sch1_condition"] = self._rows["art9_condition"]
        self.art10_condition = self._choice_row(
            form, "art10_condition",
            tr("Criminal offence data: its DPA 2018 Schedule 1 condition (Article 10)"),
            ART10_CONDITIONS)

        self.share_box, form = self._section(tr("Sharing it"))
        self.share_form = form
        self.method = self._choice_row(form, "method", tr("How it was shared"), METHODS)
        self.shared_at = self._row(form, "shared_at", tr("When it was shared"),
                                   DateTimeField(self))
        self.person_informed = self._choice_row(
            form, "person_informed", tr("Was the person or family told?"), PERSON_INFORMED)
        self.person_informed_reason = self._row(form, "person_informed_reason", tr("Why not?"),
                                                text_box(self, 2))
        tests, self.test_boxes = yes_no_grid(self, SEVEN_TESTS, 4, tr("Test"), tr)
        self._row(form, "seven_tests", tr("Does it meet the seven tests?"), tests)
        tests.setAccessibleName(tr("The seven tests"))
        self.tests_note = note(form, tr("Y or N for each test; A in any of them answers yes "
                                        "to all seven."), self)
        self.third_party = self._yes_no_row(
            form, "third_party_identified",
            tr("Does it identify someone else (for example a referrer) who could come to "
               "harm?"))
        self.third_party_protection = self._row(
            form, "third_party_protection", tr("What was withheld or redacted"),
            text_box(self, 2))

        self.record_box, form = self._section(tr("Reasons"))
        self.advice_sought = self._yes_no_row(form, "advice_sought",
                                              tr("Did you seek advice?"))
        self.advice_from = self._choice_row(form, "advice_from", tr("Advice from"), ADVICE_FROM)
        self.advice_notes = self._row(form, "advice_notes", tr("Advice notes"), QLineEdit(self))
        self.reasons = self._row(form, "reasons", tr("Your reasons for this decision"),
                                 text_box(self, 4))
        self.advice_notes.setMaxLength(TEXT_FIELDS["advice_notes"][0])

        for box in (self.correction_box, self.purpose_box, self.info_box,
                    self.confidential_box, self.consent_box, self.decision_box,
                    self.basis_box, self.share_box, self.record_box):
            self.sections.addWidget(box)
        self.sections.addStretch(1)

    def _section(self, title: str) -> tuple[QGroupBox, QFormLayout]:
        """A numbered section of the flow (numbered as shown: see ``number_sections``)."""
        box, form = section(title, self)
        self._titles[box] = title
        return box, form

    def number_sections(self) -> None:
        """The sections shown, numbered in order: hidden ones leave no gap."""
        n = 0
        for box in self._section_widgets():
            title = self._titles.get(box)
            if title is None or not box.isVisibleTo(self):
                continue
            n += 1
            numbered = f"{n}. {title}"
            if isinstance(box, QGroupBox) and box.title() != numbered:
                box.setTitle(numbered)

    # -- keyboard order -------------------------------------------------------------------
    @property
    def subject_editors(self) -> list[SubjectEditor]:
        return self.subjects_widget.editors

    def _section_widgets(self) -> list[QWidget]:
        out: list[QWidget] = []
        for i in range(self.sections.count()):
            item = self.sections.itemAt(i)
            widget = item.widget() if item is not None else None
            if widget is not None:
                out.append(widget)
        return out

    def _focus_chain(self, box: QWidget) -> list[QWidget]:
        """The widgets of one section in the order Tab visits them."""
        who: list[QWidget] = [self.cp_name, self.cp_role, self.cp_org, self.cp_contact]
        shares_inline = self._direction == Direction.DISCLOSURE.value
        chains: dict[QWidget, list[QWidget]] = {
            self.correction_box: [self.correction_reason],
            self.purpose_box: [self.purpose, self.clear_purpose],
            self.counterparty_box: who,
            self.info_box: [self.requested_information, self.information, self.category_list,
                            self.fact_opinion, self.identifies_person, self.add_subject_button,
                            *self.subjects_widget.focus_widgets()],
            self.confidential_box: [self.confidential],
            self.consent_box: [self.consent],
            self.decision_box: [self.decision, self.decided_at, self.late_confirmed,
                                *(who if shares_inline else [])],
            self.basis_box: [self.consent_reason, self.without_consent_ground,
                             self.lawful_basis, self.statutory_gateway, self.special_condition,
                             self.art10_condition],
            self.share_box: [self.method, self.shared_at, self.person_informed,
                             self.person_informed_reason, *self.test_boxes.values(),
                             self.third_party, self.third_party_protection],
            self.record_box: [self.advice_sought, self.advice_from, self.advice_notes,
                              self.reasons],
        }
        return chains.get(box, [])

    def _focus_order(self) -> list[QWidget]:
        """Tab order through the sections shown now."""
        chain: list[QWidget] = []
        for box in self._section_widgets():
            if box.isVisibleTo(self):
                chain.extend(self._focus_chain(box))
        return chain
