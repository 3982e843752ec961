"""The guided decision form: the training's decision flow, in order, adapting to answers.

The form holds no data of its own beyond its widgets: it turns them into a
``DecisionRecord`` (``_collect``) and back (``_load``), checks them with the pure
``problems_with`` on the UI thread, and reaches the vault only through the
bridge. Every edit schedules an autosave of an encrypted draft in the vault.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from PySide6.QtCore import QDateTime, QModelIndex, Qt, QTimer, Signal
from PySide6.QtGui import QKeySequence, QShortcut, QStandardItem, QStandardItemModel
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QCheckBox,
    QComboBox,
    QCompleter,
    QDateTimeEdit,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from app.model import (
    ADVICE_FROM,
    ART6_BASES,
    ART9_CONDITIONS,
    CATEGORIES,
    CONSENT_LABELS,
    CONSENT_REASONS,
    FACT_OPINION,
    METHODS,
    PERSON_INFORMED,
    SEVEN_TESTS,
    STATUTORY_GATEWAYS,
    WITHOUT_CONSENT_GROUNDS,
    Consent,
    Counterparty,
    Decision,
    DecisionRecord,
    Direction,
    Subject,
    SubjectKind,
)
from app.validation import Problem, ValidationError, problems_with
from ui.bridge import CONTACTS, DECISIONS, DRAFTS, FOLLOWUPS, Bridge
from ui.dialogs import error_text

AUTOSAVE_MS = 1000
SUGGEST_MS = 150
ISO_MINUTES = "yyyy-MM-ddTHH:mm"
ERROR_STYLE = "color: #b00020;"
SUBJECT_KIND_LABELS = {
    SubjectKind.CHILD.value: "Child",
    SubjectKind.ADULT_AT_RISK.value: "Adult at risk",
    SubjectKind.OTHER.value: "Other",
}
DRAFT_KIND_NEW = "decision"
DRAFT_KIND_CORRECTION = "correction"
CONTACT_ROLE = Qt.ItemDataRole.UserRole + 1
NAME_ROLE = Qt.ItemDataRole.UserRole + 2


class Field(QWidget):
    """One input with the small red message that explains what is wrong with it."""

    def __init__(self, editor: QWidget, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.editor = editor
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(editor)
        self.error = QLabel(self)
        self.error.setStyleSheet(ERROR_STYLE)
        self.error.setWordWrap(True)
        self.error.setVisible(False)
        self.error.setAccessibleName(self.tr("Problem"))
        layout.addWidget(self.error)

    def set_problems(self, messages: list[str]) -> None:
        text = "\n".join(messages)
        self.error.setText(text)
        self.error.setVisible(bool(messages))
        self.editor.setAccessibleDescription(text)


def _combo(parent: QWidget, choices: Mapping[Any, str], *, placeholder: str | None,
           tr: Callable[[str], str]) -> QComboBox:
    combo = QComboBox(parent)
    if placeholder is not None:
        combo.addItem(placeholder, "")
    for key, label in choices.items():
        combo.addItem(tr(label), str(key))
    return combo


def _set_combo(combo: QComboBox, value: str) -> None:
    index = combo.findData(value)
    combo.setCurrentIndex(index if index >= 0 else 0)


def _text_box(parent: QWidget, height: int = 70) -> QPlainTextEdit:
    box = QPlainTextEdit(parent)
    box.setTabChangesFocus(True)  # Tab moves on: the form is used by keyboard alone
    box.setMinimumHeight(height)
    box.setMaximumHeight(height * 2)
    return box


def _to_iso(edit: QDateTimeEdit) -> str:
    return edit.dateTime().toString(ISO_MINUTES)


def _set_iso(edit: QDateTimeEdit, value: str) -> None:
    try:
        when = dt.datetime.fromisoformat(value)
    except ValueError:
        edit.setDateTime(QDateTime.currentDateTime())
        return
    edit.setDateTime(QDateTime.fromString(when.strftime("%Y-%m-%dT%H:%M"), ISO_MINUTES))


class DateTimeField(QDateTimeEdit):
    """A date-time box that Tab leaves at once (arrow keys still move between its parts)."""

    def focusNextPrevChild(self, next: bool) -> bool:  # noqa: A002, N802 - Qt's names
        return QAbstractSpinBox.focusNextPrevChild(self, next)


class SubjectEditor(QWidget):
    """One person the information is about."""

    changed = Signal()
    remove_requested = Signal(object)

    def __init__(self, number: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.number = number
        form = QFormLayout(self)
        form.setContentsMargins(0, 4, 0, 4)
        self.heading = QLabel(self)
        self.heading.setStyleSheet("font-weight: bold;")
        form.addRow(self.heading)
        self.name = QLineEdit(self)
        self.name_field = Field(self.name, self)
        self.dob = QLineEdit(self)
        self.dob.setPlaceholderText(self.tr("YYYY-MM-DD"))
        self.dob_field = Field(self.dob, self)
        self.age_band = QLineEdit(self)
        self.age_band.setPlaceholderText(self.tr("for example 5-10, or 65+"))
        self.kind = _combo(self, SUBJECT_KIND_LABELS, placeholder=None, tr=self.tr)
        self.kind_field = Field(self.kind, self)
        self.case_ref = QLineEdit(self)
        self.labels = {
            "name": self.tr("Name"),
            "dob": self.tr("Date of birth"),
            "age": self.tr("Age band (if no date of birth)"),
            "kind": self.tr("Kind of person"),
            "case": self.tr("Case reference"),
        }
        form.addRow(self.labels["name"], self.name_field)
        form.addRow(self.labels["dob"], self.dob_field)
        form.addRow(self.labels["age"], self.age_band)
        form.addRow(self.labels["kind"], self.kind_field)
        form.addRow(self.labels["case"], self.case_ref)
        self.remove_button = QPushButton(self.tr("Remove this person"), self)
        self.remove_button.clicked.connect(lambda: self.remove_requested.emit(self))
        form.addRow("", self.remove_button)
        for w in (self.name, self.dob, self.age_band, self.case_ref):
            w.textEdited.connect(self.changed)
        self.kind.currentIndexChanged.connect(self.changed)
        self.set_number(number)

    def set_number(self, number: int) -> None:
        self.number = number
        self.heading.setText(self.tr("Person {n}").format(n=number))
        self.remove_button.setVisible(number > 1)
        prefix = self.tr("Person {n}").format(n=number)
        for widget, key in ((self.name, "name"), (self.dob, "dob"), (self.age_band, "age"),
                            (self.kind, "kind"), (self.case_ref, "case")):
            widget.setAccessibleName(f"{prefix}: {self.labels[key]}")
        self.remove_button.setAccessibleName(
            self.tr("Remove person {n}").format(n=number))

    def value(self) -> Subject:
        return Subject(name=self.name.text().strip(), date_of_birth=self.dob.text().strip(),
                       age_band=self.age_band.text().strip(),
                       kind=str(self.kind.currentData()), case_ref=self.case_ref.text().strip())

    def load(self, subject: Subject) -> None:
        self.name.setText(subject.name)
        self.dob.setText(subject.date_of_birth)
        self.age_band.setText(subject.age_band)
        _set_combo(self.kind, subject.kind)
        self.case_ref.setText(subject.case_ref)

    def focus_widgets(self) -> list[QWidget]:
        return [self.name, self.dob, self.age_band, self.kind, self.case_ref, self.remove_button]

    def set_problems(self, problems: dict[str, list[str]]) -> None:
        self.name_field.set_problems([])
        self.dob_field.set_problems(problems.get("date_of_birth", []))
        self.kind_field.set_problems(problems.get("kind", []))


class DecisionForm(QWidget):
    """Record a new decision, a request, or a correction; autosaves a draft as you go."""

    saved = Signal(str)  # record id
    closed = Signal()
    draft_saved = Signal(str)  # draft id (for a drafts list)

    def __init__(self, bridge: Bridge, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.bridge = bridge
        self.setAccessibleName(self.tr("Decision form"))
        self._direction = Direction.DISCLOSURE.value
        self._correcting: str | None = None
        self._draft_id: str | None = None
        self._dirty = False
        self._loading = False
        self._saving = False
        self._attempted = False
        self._generation = 0  # bumps on clear(): late callbacks from an old form are ignored
        self._contacts: list[dict[str, str]] = []
        self._fields: dict[str, Field] = {}
        self._rows: dict[str, tuple[QFormLayout, QWidget]] = {}

        self._autosave_timer = QTimer(self)
        self._autosave_timer.setSingleShot(True)
        self._autosave_timer.setInterval(AUTOSAVE_MS)
        self._autosave_timer.timeout.connect(self.save_draft_now)
        self._suggest_timer = QTimer(self)
        self._suggest_timer.setSingleShot(True)
        self._suggest_timer.setInterval(SUGGEST_MS)
        self._suggest_timer.timeout.connect(self._fetch_suggestions)

        self._build()
        self._connect_edits()
        QShortcut(QKeySequence.StandardKey.Save, self, self.save,
                  context=Qt.ShortcutContext.WidgetWithChildrenShortcut)
        QShortcut(QKeySequence("Ctrl+Return"), self, self.save,
                  context=Qt.ShortcutContext.WidgetWithChildrenShortcut)
        QShortcut(QKeySequence("Ctrl+Enter"), self, self.save,
                  context=Qt.ShortcutContext.WidgetWithChildrenShortcut)
        QShortcut(QKeySequence(Qt.Key.Key_Escape), self, self.request_close,
                  context=Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self._reset_widgets()
        self._update_visibility()

    # -- building ---------------------------------------------------------------
    def _row(self, form: QFormLayout, name: str, label: str, editor: QWidget) -> Field:
        field = Field(editor, self)
        editor.setAccessibleName(label)
        label_widget = QLabel(label, self)
        label_widget.setWordWrap(True)
        label_widget.setBuddy(editor)
        form.addRow(label_widget, field)
        self._fields[name] = field
        self._rows[name] = (form, field)
        return field

    def _section(self, title: str) -> tuple[QGroupBox, QFormLayout]:
        box = QGroupBox(title, self)
        box.setAccessibleName(title)
        form = QFormLayout(box)
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        return box, form

    def _note(self, form: QFormLayout, text: str = "") -> QLabel:
        note = QLabel(text, self)
        note.setWordWrap(True)
        note.setStyleSheet("color: palette(mid); font-style: italic;")
        form.addRow(note)
        return note

    def _build(self) -> None:  # noqa: PLR0915 - one place that lays out the flow
        outer = QVBoxLayout(self)
        self.title = QLabel(self)
        self.title.setStyleSheet("font-size: 16px; font-weight: bold;")
        outer.addWidget(self.title)
        self.banner = QLabel(self)
        self.banner.setWordWrap(True)
        self.banner.setStyleSheet(ERROR_STYLE)
        self.banner.setVisible(False)
        self.banner.setAccessibleName(self.tr("Form messages"))
        outer.addWidget(self.banner)

        self.scroll_area = QScrollArea(self)
        self.scroll_area.setWidgetResizable(True)
        self.scroll_area.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.content = QWidget(self.scroll_area)
        self.sections = QVBoxLayout(self.content)
        self.scroll_area.setWidget(self.content)
        outer.addWidget(self.scroll_area, 1)
        tr = self.tr

        # Correction: why this new version
        self.correction_box, form = self._section(tr("Why are you correcting this record?"))
        self.correction_reason = _text_box(self)
        self._row(form, "reason", tr("Reason for the correction"), self.correction_reason)

        # 1. Purpose
        self.purpose_box, form = self._section(tr("1. Purpose"))
        self.purpose = _text_box(self)
        self._row(form, "purpose", tr("What safeguarding concern or enquiry does this serve?"),
                  self.purpose)
        self.clear_purpose = QCheckBox(
            tr("There is a clear and legitimate purpose for sharing"), self)
        self._row(form, "clear_purpose", tr("Clear and legitimate purpose?"), self.clear_purpose)
        self.purpose_note = self._note(form, tr(
            "Without a clear and legitimate purpose the decision is not to share. "
            "Record why in your reasons."))

        # Counterparty (placed by direction: first for requests, in step 6 for shares)
        self.counterparty_box, form = self._section(tr("Who"))
        self.cp_name = QLineEdit(self)
        self.cp_name_label = QLabel(self)
        self._row(form, "counterparty", tr("Name"), self.cp_name)
        self.cp_role = QLineEdit(self)
        self._row(form, "counterparty.role", tr("Role"), self.cp_role)
        self.cp_org = QLineEdit(self)
        self._row(form, "counterparty.organisation", tr("Organisation"), self.cp_org)
        self.cp_contact = QLineEdit(self)
        self._row(form, "counterparty.contact", tr("Contact details"), self.cp_contact)
        self._contact_model = QStandardItemModel(self)
        self.completer = QCompleter(self._contact_model, self)
        self.completer.setCompletionMode(QCompleter.CompletionMode.UnfilteredPopupCompletion)
        self.completer.setCompletionRole(NAME_ROLE)
        self.completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        popup = self.completer.popup()
        if popup is not None:
            popup.setAccessibleName(tr("Suggestions from your address book"))
        self.cp_name.setCompleter(self.completer)
        self.completer.activated[QModelIndex].connect(self._contact_chosen)  # type: ignore[index]

        # 2. Information and who it is about
        self.info_box, form = self._section(tr("2. The information and who it is about"))
        self.information = _text_box(self, 90)
        self.information_label = tr("What is (or would be) shared")
        self._row(form, "information", self.information_label, self.information)
        cats = QWidget(self)
        grid = QGridLayout(cats)
        grid.setContentsMargins(0, 0, 0, 0)
        self.category_boxes: dict[str, QCheckBox] = {}
        for i, (key, label) in enumerate(CATEGORIES.items()):
            cat = QCheckBox(tr(label), cats)
            cat.setAccessibleName(tr("Category: {label}").format(label=tr(label)))
            grid.addWidget(cat, i // 3, i % 3)
            self.category_boxes[key] = cat
        self._row(form, "categories", tr("Categories"), cats)
        cats.setAccessibleName(tr("Categories"))
        self.fact_opinion = _combo(self, FACT_OPINION, placeholder=None, tr=tr)
        self._row(form, "fact_or_opinion", tr("Fact or opinion?"), self.fact_opinion)
        self.identifies_person = QCheckBox(tr("The information identifies a person"), self)
        self._row(form, "identifies_person", tr("Does it identify a person?"),
                  self.identifies_person)
        self.identifies_note = self._note(form, tr(
            "Information that identifies no one may usually be shared; still record who "
            "or which case it concerns."))
        self.subjects_widget = QWidget(self)
        self.subjects_layout = QVBoxLayout(self.subjects_widget)
        self.subjects_layout.setContentsMargins(0, 0, 0, 0)
        self.subject_editors: list[SubjectEditor] = []
        self._row(form, "subjects", tr("About whom"), self.subjects_widget)
        self.subjects_widget.setAccessibleName(tr("People the information is about"))
        self.add_subject_button = QPushButton(tr("Add another person"), self)
        self.add_subject_button.setAccessibleName(tr("Add another person"))
        self.add_subject_button.clicked.connect(self._add_subject_clicked)
        form.addRow("", self.add_subject_button)

        # 3. Confidentiality
        self.confidential_box, form = self._section(tr("3. Confidentiality"))
        self.confidential = QCheckBox(tr("The information is confidential"), self)
        self._row(form, "confidential", tr("Is it confidential?"), self.confidential)
        self.confidential_note = self._note(form, tr(
            "Information that is not confidential can usually be shared; record the decision "
            "all the same."))

        # 4. Consent and lawful basis
        self.consent_box, form = self._section(tr("4. Consent"))
        self.consent = _combo(self, CONSENT_LABELS, placeholder=None, tr=tr)
        self._row(form, "consent", tr("Did the person or family agree?"), self.consent)
        self.consent_reason = _combo(self, CONSENT_REASONS, placeholder=tr("(choose)"), tr=tr)
        self._row(form, "consent_reason", tr("Why consent was not given or sought"),
                  self.consent_reason)
        self.lawful_basis = _combo(self, ART6_BASES, placeholder=tr("(choose)"), tr=tr)
        self._row(form, "lawful_basis", tr("Lawful basis (UK GDPR Article 6)"), self.lawful_basis)
        self.without_consent_ground = _combo(self, WITHOUT_CONSENT_GROUNDS,
                                             placeholder=tr("(choose)"), tr=tr)
        self._row(form, "without_consent_ground", tr("Ground for sharing without consent"),
                  self.without_consent_ground)
        gateways = {k: v for k, v in STATUTORY_GATEWAYS.items() if k}
        self.statutory_gateway = _combo(self, gateways, placeholder=tr(STATUTORY_GATEWAYS[""]),
                                        tr=tr)
        self._row(form, "statutory_gateway", tr("Statutory gateway (if one applies)"),
                  self.statutory_gateway)

        # 5. Special-category data
        self.special_box, form = self._section(tr("5. Special-category data"))
        self.special_category = QCheckBox(tr(
            "Includes special-category data (health, ethnicity, religion, sex life or "
            "orientation, genetics, biometrics, political views, union membership)"), self)
        self._row(form, "special_category", tr("Special-category data?"), self.special_category)
        self.art9_condition = _combo(self, ART9_CONDITIONS, placeholder=tr("(choose)"), tr=tr)
        self._row(form, "art9_condition", tr("Article 9 condition"), self.art9_condition)

        # 6. The decision
        self.decision_box, self.decision_form = self._section(tr("6. Decision"))
        form = self.decision_form
        self.decision = QComboBox(self)
        for key in Decision:
            self.decision.addItem("", key.value)
        self._row(form, "decision", tr("Decision"), self.decision)
        self.counterparty_slot = QVBoxLayout()
        form.addRow(self.counterparty_slot)
        self.method = _combo(self, METHODS, placeholder=tr("(choose)"), tr=tr)
        self._row(form, "method", tr("How it was shared"), self.method)
        self.shared_at = DateTimeField(self)
        self.shared_at.setDisplayFormat("yyyy-MM-dd HH:mm")
        self.shared_at.setCalendarPopup(True)
        self._row(form, "shared_at", tr("When it was shared"), self.shared_at)
        self.person_informed = _combo(self, PERSON_INFORMED, placeholder=tr("(choose)"), tr=tr)
        self._row(form, "person_informed", tr("Was the person or family told?"),
                  self.person_informed)
        self.person_informed_reason = _text_box(self, 50)
        self._row(form, "person_informed_reason", tr("Why not?"), self.person_informed_reason)
        tests = QWidget(self)
        grid = QGridLayout(tests)
        grid.setContentsMargins(0, 0, 0, 0)
        self.test_boxes: dict[str, QCheckBox] = {}
        for i, (key, label) in enumerate(SEVEN_TESTS.items()):
            test = QCheckBox(tr(label), tests)
            test.setAccessibleName(tr("Test: {label}").format(label=tr(label)))
            grid.addWidget(test, i // 4, i % 4)
            self.test_boxes[key] = test
        self._row(form, "seven_tests", tr("The seven tests (confirm each)"), tests)
        tests.setAccessibleName(tr("The seven tests"))
        self.third_party = QCheckBox(tr(
            "It identifies someone else (for example a referrer) who could come to harm"), self)
        self._row(form, "third_party_identified", tr("Others protected?"), self.third_party)
        self.third_party_protection = _text_box(self, 50)
        self._row(form, "third_party_protection", tr("What was withheld or redacted"),
                  self.third_party_protection)

        # 7. Reasons and record
        self.record_box, form = self._section(tr("7. Reasons"))
        self.reasons = _text_box(self, 90)
        self._row(form, "reasons", tr("Your reasons for this decision"), self.reasons)
        self.advice_sought = QCheckBox(tr("I sought advice (for example because I was unsure)"),
                                       self)
        self._row(form, "advice_sought", tr("Advice sought?"), self.advice_sought)
        self.advice_from = _combo(self, ADVICE_FROM, placeholder=tr("(choose)"), tr=tr)
        self._row(form, "advice_from", tr("Advice from"), self.advice_from)
        self.advice_notes = QLineEdit(self)
        self._row(form, "advice_notes", tr("Advice notes"), self.advice_notes)
        self.decided_at = DateTimeField(self)
        self.decided_at.setDisplayFormat("yyyy-MM-dd HH:mm")
        self.decided_at.setCalendarPopup(True)
        self._row(form, "decided_at", tr("Decided at"), self.decided_at)

        for section in (self.correction_box, self.purpose_box, self.info_box,
                        self.confidential_box, self.consent_box, self.special_box,
                        self.decision_box, self.record_box):
            self.sections.addWidget(section)
        self.sections.addStretch(1)

        buttons = QHBoxLayout()
        self.status = QLabel(self)
        self.status.setAccessibleName(self.tr("Draft status"))
        buttons.addWidget(self.status, 1)
        self.close_button = QPushButton(tr("Close"), self)
        self.close_button.setAccessibleName(tr("Close the form"))
        self.close_button.clicked.connect(self.request_close)
        self.save_button = QPushButton(tr("Save decision"), self)
        self.save_button.setAccessibleName(tr("Save decision"))
        self.save_button.setToolTip(tr("Save (Ctrl+S or Ctrl+Enter)"))
        self.save_button.setDefault(True)
        self.save_button.clicked.connect(self.save)
        buttons.addWidget(self.close_button)
        buttons.addWidget(self.save_button)
        outer.addLayout(buttons)

    def _connect_edits(self) -> None:
        for box in (self.correction_reason, self.purpose, self.information,
                    self.person_informed_reason, self.third_party_protection, self.reasons):
            box.textChanged.connect(self._edited)
        for line in (self.cp_role, self.cp_org, self.cp_contact, self.advice_notes):
            line.textEdited.connect(self._edited)
        self.cp_name.textEdited.connect(self._name_edited)
        for check in (self.clear_purpose, self.identifies_person, self.confidential,
                      self.special_category, self.third_party, self.advice_sought,
                      *self.category_boxes.values(), *self.test_boxes.values()):
            check.toggled.connect(self._edited)
        for combo in (self.fact_opinion, self.consent, self.consent_reason, self.lawful_basis,
                      self.without_consent_ground, self.statutory_gateway, self.art9_condition,
                      self.decision, self.method, self.person_informed, self.advice_from):
            combo.currentIndexChanged.connect(self._edited)
        for when in (self.shared_at, self.decided_at):
            when.dateTimeChanged.connect(self._edited)

    # -- public API ---------------------------------------------------------------
    def start_new(self, direction: str) -> None:
        """A blank form for a new decision of this direction."""
        self._keep_unsaved_work()
        self._wipe()
        self._direction = Direction(direction).value
        self._apply_direction()
        self._update_visibility()
        self.purpose.setFocus()

    def start_correction(self, record_id: str) -> None:
        """Load the record's current version; saving makes a new version with a reason."""
        self._keep_unsaved_work()
        self._wipe()
        generation = self._generation
        self._set_busy(True, self.tr("Loading the record…"))

        def loaded(detail: Any) -> None:
            if generation != self._generation:
                return
            self._set_busy(False)
            if detail.status == "withdrawn":
                self._show_banner(self.tr(
                    "This record was withdrawn and can no longer be corrected."))
                return
            self._correcting = record_id
            self._load(detail.record)
            self.correction_reason.setFocus()

        self.bridge.read(lambda s: s.get_decision(record_id), loaded, self._load_failed)

    def resume_draft(self, draft_id: str) -> None:
        """Reopen a draft saved by autosave (after a lock, a crash or Esc)."""
        self._keep_unsaved_work()
        self._wipe()
        generation = self._generation
        self._set_busy(True, self.tr("Opening the draft…"))

        def find(service: Any) -> Any:
            for draft in service.drafts():
                if draft.draft_id == draft_id:
                    return draft
            return None

        def loaded(draft: Any) -> None:
            if generation != self._generation:
                return
            self._set_busy(False)
            if draft is None:
                self._show_banner(self.tr("That draft could not be found."))
                return
            body = draft.body
            self._draft_id = draft.draft_id
            self._correcting = body.get("correcting") or draft.record_id
            self._load(DecisionRecord.from_dict(body.get("record") or {}))
            self._loading = True
            self.correction_reason.setPlainText(str(body.get("correction_reason") or ""))
            self._loading = False
            self.status.setText(self.tr("Draft restored"))
            self.purpose.setFocus()

        self.bridge.read(find, loaded, self._load_failed)

    def clear(self) -> None:
        """Wipe every field (called on lock, before the vault locks); unsaved work is kept
        as a draft first."""
        self._keep_unsaved_work()
        self._wipe()

    def _keep_unsaved_work(self) -> None:
        if self._dirty:
            self.save_draft_now()

    @property
    def draft_id(self) -> str | None:
        return self._draft_id

    @property
    def is_correction(self) -> bool:
        return self._correcting is not None

    # -- collecting and loading ---------------------------------------------------
    def record(self) -> DecisionRecord:
        """What the form says now, with inapplicable answers left out."""
        consent = str(self.consent.currentData())
        decision = str(self.decision.currentData())
        if not self.clear_purpose.isChecked():
            decision = Decision.NOT_SHARE.value
        sharing = decision != Decision.NOT_SHARE.value
        not_given = consent != Consent.GIVEN.value
        record = DecisionRecord(
            direction=self._direction,
            subjects=[e.value() for e in self.subject_editors],
            counterparty=Counterparty(name=self.cp_name.text().strip(),
                                      role=self.cp_role.text().strip(),
                                      organisation=self.cp_org.text().strip(),
                                      contact=self.cp_contact.text().strip()),
            clear_purpose=self.clear_purpose.isChecked(),
            identifies_person=self.identifies_person.isChecked(),
            confidential=self.confidential.isChecked(),
            information=self.information.toPlainText().strip(),
            categories=[k for k, b in self.category_boxes.items() if b.isChecked()],
            special_category=self.special_category.isChecked(),
            fact_or_opinion=str(self.fact_opinion.currentData()),
            purpose=self.purpose.toPlainText().strip(),
            decision=decision,
            decided_at=_to_iso(self.decided_at),
            reasons=self.reasons.toPlainText().strip(),
            consent=consent,
            consent_reason=str(self.consent_reason.currentData()) if not_given else "",
            without_consent_ground=(str(self.without_consent_ground.currentData())
                                    if self._ground_applies(consent, decision) else ""),
            lawful_basis=str(self.lawful_basis.currentData()) if not_given else "",
            art9_condition=(str(self.art9_condition.currentData())
                            if self.special_category.isChecked() else ""),
            statutory_gateway=str(self.statutory_gateway.currentData()),
            seven_tests=({k: b.isChecked() for k, b in self.test_boxes.items()}
                         if sharing else {}),
            method=str(self.method.currentData()) if sharing else "",
            shared_at=_to_iso(self.shared_at) if sharing else "",
            person_informed=str(self.person_informed.currentData()) if sharing else "",
            person_informed_reason=(self.person_informed_reason.toPlainText().strip()
                                    if sharing and self.person_informed.currentData() == "no"
                                    else ""),
            advice_sought=self.advice_sought.isChecked(),
            advice_from=(str(self.advice_from.currentData())
                         if self.advice_sought.isChecked() else ""),
            advice_notes=self.advice_notes.text().strip() if self.advice_sought.isChecked()
            else "",
            third_party_identified=self.third_party.isChecked(),
            third_party_protection=(self.third_party_protection.toPlainText().strip()
                                    if self.third_party.isChecked() else ""),
        )
        return record

    def _ground_applies(self, consent: str, decision: str) -> bool:
        return (consent != Consent.GIVEN.value and decision != Decision.NOT_SHARE.value
                and self._direction != Direction.REQUEST_MADE.value)

    def _load(self, record: DecisionRecord) -> None:
        self._loading = True
        try:
            self._direction = record.direction
            self._apply_direction()
            self.purpose.setPlainText(record.purpose)
            self.clear_purpose.setChecked(record.clear_purpose)
            self.information.setPlainText(record.information)
            for key, box in self.category_boxes.items():
                box.setChecked(key in record.categories)
            _set_combo(self.fact_opinion, record.fact_or_opinion)
            self.identifies_person.setChecked(record.identifies_person)
            self._set_subjects(record.subjects or [Subject()])
            self.confidential.setChecked(record.confidential)
            _set_combo(self.consent, record.consent)
            _set_combo(self.consent_reason, record.consent_reason)
            _set_combo(self.lawful_basis, record.lawful_basis)
            _set_combo(self.without_consent_ground, record.without_consent_ground)
            _set_combo(self.statutory_gateway, record.statutory_gateway)
            self.special_category.setChecked(record.special_category)
            _set_combo(self.art9_condition, record.art9_condition)
            _set_combo(self.decision, record.decision)
            self.cp_name.setText(record.counterparty.name)
            self.cp_role.setText(record.counterparty.role)
            self.cp_org.setText(record.counterparty.organisation)
            self.cp_contact.setText(record.counterparty.contact)
            _set_combo(self.method, record.method)
            if record.shared_at:
                _set_iso(self.shared_at, record.shared_at)
            _set_combo(self.person_informed, record.person_informed)
            self.person_informed_reason.setPlainText(record.person_informed_reason)
            for key, box in self.test_boxes.items():
                box.setChecked(bool(record.seven_tests.get(key)))
            self.third_party.setChecked(record.third_party_identified)
            self.third_party_protection.setPlainText(record.third_party_protection)
            self.reasons.setPlainText(record.reasons)
            self.advice_sought.setChecked(record.advice_sought)
            _set_combo(self.advice_from, record.advice_from)
            self.advice_notes.setText(record.advice_notes)
            if record.decided_at:
                _set_iso(self.decided_at, record.decided_at)
        finally:
            self._loading = False
        self._update_visibility()

    def _draft_body(self) -> dict[str, Any]:
        return {"direction": self._direction, "record": self.record().to_dict(),
                "correcting": self._correcting,
                "correction_reason": self.correction_reason.toPlainText()}

    # -- reacting to edits ----------------------------------------------------------
    def _edited(self, *_: object) -> None:
        self._update_visibility()
        if self._loading:
            return
        self._dirty = True
        self._autosave_timer.start()
        if self._attempted:
            self._show_problems(self._problems())

    def _update_visibility(self) -> None:
        consent = str(self.consent.currentData())
        clear_purpose = self.clear_purpose.isChecked()
        if not clear_purpose and self.decision.currentData() != Decision.NOT_SHARE.value:
            _set_combo(self.decision, Decision.NOT_SHARE.value)
        decision = str(self.decision.currentData())
        sharing = decision != Decision.NOT_SHARE.value
        not_given = consent != Consent.GIVEN.value
        self.correction_box.setVisible(self._correcting is not None)
        self.purpose_note.setVisible(not clear_purpose)
        self.identifies_note.setVisible(not self.identifies_person.isChecked())
        self.confidential_note.setVisible(not self.confidential.isChecked())
        show = {
            "decision": clear_purpose,
            "consent_reason": not_given,
            "lawful_basis": not_given,
            "without_consent_ground": self._ground_applies(consent, decision),
            "art9_condition": self.special_category.isChecked(),
            "method": sharing,
            "shared_at": sharing,
            "person_informed": sharing,
            "person_informed_reason": sharing and self.person_informed.currentData() == "no",
            "seven_tests": sharing,
            "advice_from": self.advice_sought.isChecked(),
            "advice_notes": self.advice_sought.isChecked(),
            "third_party_protection": self.third_party.isChecked(),
        }
        for name, visible in show.items():
            form, widget = self._rows[name]
            form.setRowVisible(widget, visible)

    def _name_edited(self, text: str) -> None:
        self._edited()
        if text.strip():
            self._suggest_timer.start()
        else:
            self._contact_model.clear()

    def _fetch_suggestions(self) -> None:
        prefix = self.cp_name.text().strip()
        if not prefix or self.bridge.service is None:
            return
        generation = self._generation

        def got(contacts: list[dict[str, str]]) -> None:
            if generation != self._generation or self.cp_name.text().strip() != prefix:
                return
            self._contact_model.clear()
            for contact in contacts:
                extra = ", ".join(v for v in (contact["role"], contact["organisation"]) if v)
                label = f"{contact['name']} ({extra})" if extra else contact["name"]
                item = QStandardItem(label)
                item.setData(contact["name"] or contact["organisation"], NAME_ROLE)
                item.setData(contact, CONTACT_ROLE)
                item.setEditable(False)
                self._contact_model.appendRow(item)
            if contacts and self.cp_name.hasFocus():
                self.completer.setCompletionPrefix("")
                self.completer.complete()

        self.bridge.read(lambda s: s.suggest_contacts(prefix), got, lambda _e: None)

    def _contact_chosen(self, index: QModelIndex) -> None:
        contact = index.data(CONTACT_ROLE)
        if not isinstance(contact, dict):
            return
        self.choose_contact(contact)

    def choose_contact(self, contact: dict[str, str]) -> None:
        """Fill the counterparty from an address-book entry."""
        self.cp_name.setText(contact.get("name", ""))
        self.cp_role.setText(contact.get("role", ""))
        self.cp_org.setText(contact.get("organisation", ""))
        self.cp_contact.setText(contact.get("contact", ""))
        self._edited()

    def _add_subject_clicked(self) -> None:
        editor = self._add_subject(Subject())
        self._edited()
        editor.name.setFocus()

    def _add_subject(self, subject: Subject) -> SubjectEditor:
        editor = SubjectEditor(len(self.subject_editors) + 1, self.subjects_widget)
        editor.load(subject)
        editor.changed.connect(self._edited)
        editor.remove_requested.connect(self._remove_subject)
        self.subjects_layout.addWidget(editor)
        editor.show()  # added to a form that may already be on screen
        self.subject_editors.append(editor)
        self._fix_tab_order()
        return editor

    def _remove_subject(self, editor: SubjectEditor) -> None:
        if editor not in self.subject_editors or len(self.subject_editors) == 1:
            return
        index = self.subject_editors.index(editor)
        self.subject_editors.remove(editor)
        editor.setParent(None)
        editor.deleteLater()
        for i, e in enumerate(self.subject_editors, start=1):
            e.set_number(i)
        self._fix_tab_order()
        self._edited()
        self.subject_editors[max(0, index - 1)].name.setFocus()

    def _set_subjects(self, subjects: list[Subject]) -> None:
        for editor in self.subject_editors:
            editor.setParent(None)
            editor.deleteLater()
        self.subject_editors = []
        for subject in subjects:
            self._add_subject(subject)

    # -- direction wording --------------------------------------------------------------
    def _apply_direction(self) -> None:
        tr = self.tr
        direction = self._direction
        if direction == Direction.REQUEST_MADE.value:
            title = tr("Request made to another agency")
            who = tr("Who else might hold relevant information?")
            info = tr("What you disclose in asking")
            labels = [tr("Ask, sharing what is needed to ask"), tr("Ask, sharing only part"),
                      tr("Do not ask")]
            method = tr("How you asked")
        elif direction == Direction.REQUEST_RECEIVED.value:
            title = tr("Request received from another agency")
            who = tr("Who is asking?")
            info = tr("What was asked for, and what is (or would be) shared")
            labels = [tr("Share"), tr("Share in part"), tr("Do not share")]
            method = tr("How it was shared")
        else:
            title = tr("Share decision")
            who = tr("Shared with (or would have been)")
            info = tr("What is (or would be) shared")
            labels = [tr("Share"), tr("Share in part"), tr("Do not share")]
            method = tr("How it was shared")
        if self._correcting is not None:
            title = tr("Correct a record: {kind}").format(kind=title)
        self.title.setText(title)
        self.counterparty_box.setTitle(who)
        self.counterparty_box.setAccessibleName(who)
        self._set_label("information", info)
        self._set_label("method", method)
        for i, label in enumerate(labels):
            self.decision.setItemText(i, label)
        self.save_button.setText(tr("Save correction") if self._correcting else
                                 tr("Save decision"))
        self.save_button.setAccessibleName(self.save_button.text())
        # Requests start with whom to ask; shares record the recipient with the decision.
        self.sections.removeWidget(self.counterparty_box)
        self.counterparty_slot.removeWidget(self.counterparty_box)
        if direction == Direction.DISCLOSURE.value:
            self.counterparty_slot.addWidget(self.counterparty_box)
        else:
            self.sections.insertWidget(2, self.counterparty_box)
        self._fix_tab_order()

    def _set_label(self, name: str, text: str) -> None:
        form, widget = self._rows[name]
        label = form.labelForField(widget)
        if isinstance(label, QLabel):
            label.setText(text)
        self._fields[name].editor.setAccessibleName(text)

    def _fix_tab_order(self) -> None:
        """Tab follows the flow as laid out, whichever order widgets were made in."""
        chain: list[QWidget] = []
        for box in self._section_widgets():
            chain.extend(self._focus_chain(box))
        chain += [self.close_button, self.save_button]
        for first, second in zip(chain, chain[1:], strict=False):
            QWidget.setTabOrder(first, second)

    def _section_widgets(self) -> list[QWidget]:
        out: list[QWidget] = []
        for i in range(self.sections.count()):
            item = self.sections.itemAt(i)
            widget = item.widget() if item is not None else None
            if widget is not None:
                out.append(widget)
        return out

    def _focus_chain(self, box: QWidget) -> list[QWidget]:
        if box is self.correction_box:
            return [self.correction_reason]
        if box is self.purpose_box:
            return [self.purpose, self.clear_purpose]
        if box is self.counterparty_box:
            return [self.cp_name, self.cp_role, self.cp_org, self.cp_contact]
        if box is self.info_box:
            subjects = [w for e in self.subject_editors for w in e.focus_widgets()]
            return [self.information, *self.category_boxes.values(), self.fact_opinion,
                    self.identifies_person, *subjects, self.add_subject_button]
        if box is self.confidential_box:
            return [self.confidential]
        if box is self.consent_box:
            return [self.consent, self.consent_reason, self.lawful_basis,
                    self.without_consent_ground, self.statutory_gateway]
        if box is self.special_box:
            return [self.special_category, self.art9_condition]
        if box is self.decision_box:
            inner = (self._focus_chain(self.counterparty_box)
                     if self._direction == Direction.DISCLOSURE.value else [])
            return [self.decision, *inner, self.method, self.shared_at, self.person_informed,
                    self.person_informed_reason, *self.test_boxes.values(), self.third_party,
                    self.third_party_protection]
        if box is self.record_box:
            return [self.reasons, self.advice_sought, self.advice_from, self.advice_notes,
                    self.decided_at]
        return []

    # -- validation -------------------------------------------------------------------
    def _problems(self) -> list[Problem]:
        problems = problems_with(self.record())
        if self._correcting is not None and not self.correction_reason.toPlainText().strip():
            problems.insert(0, Problem("reason", self.tr("Give a reason for the correction.")))
        return problems

    def _show_problems(self, problems: list[Problem]) -> None:
        by_field: dict[str, list[str]] = {}
        for p in problems:
            by_field.setdefault(p.field, []).append(p.message)
        per_subject: dict[int, dict[str, list[str]]] = {}
        unplaced: list[str] = []
        for name, messages in by_field.items():
            parts = name.split(".")
            if parts[0] == "subjects" and len(parts) == 3 and parts[1].isdigit():
                per_subject.setdefault(int(parts[1]), {})[parts[2]] = messages
            elif name not in self._fields or not self._row_shown(name):
                unplaced.extend(messages)
        for name, field in self._fields.items():
            field.set_problems(by_field.get(name, []) if self._row_shown(name) else [])
        for i, editor in enumerate(self.subject_editors):
            editor.set_problems(per_subject.get(i, {}))
        if self.subject_editors:  # "add a person" belongs to the first person's name
            self.subject_editors[0].name.setAccessibleDescription(
                "\n".join(by_field.get("subjects", [])))
        if unplaced:
            self._show_banner("\n".join(unplaced))
        elif problems:
            self._show_banner(self.tr("This record can't be saved yet: see the messages in red."))
        else:
            self._show_banner("")

    def _row_shown(self, name: str) -> bool:
        form, widget = self._rows[name]
        return form.isRowVisible(widget)

    def _focus_first_problem(self, problems: list[Problem]) -> None:
        names = {p.field for p in problems}
        targets: dict[int, QWidget] = {}
        for name, field in self._fields.items():
            if name in names:
                targets[id(field.editor)] = field.editor
        if self.subject_editors and "subjects" in names:
            targets[id(self.subject_editors[0].name)] = self.subject_editors[0].name
        for i, editor in enumerate(self.subject_editors):
            if f"subjects.{i}.date_of_birth" in names:
                targets[id(editor.dob)] = editor.dob
            if f"subjects.{i}.kind" in names:
                targets[id(editor.kind)] = editor.kind
        for widget in self._focus_order():
            if id(widget) in targets and widget.isVisibleTo(self):
                widget.setFocus()
                self.scroll_area.ensureWidgetVisible(widget)
                return

    def _focus_order(self) -> list[QWidget]:
        chain: list[QWidget] = []
        for box in self._section_widgets():
            if box.isVisibleTo(self):
                chain.extend(self._focus_chain(box))
        return chain

    def _show_banner(self, text: str) -> None:
        self.banner.setText(text)
        self.banner.setVisible(bool(text))

    # -- saving -------------------------------------------------------------------------
    def save(self) -> None:
        """Check the form; when it passes, save on the vault worker."""
        if self._saving or self._loading:
            return
        self._attempted = True
        problems = self._problems()
        self._show_problems(problems)
        if problems:
            self._focus_first_problem(problems)
            return
        record = self.record()
        draft_id = self._draft_id
        correcting = self._correcting
        reason = self.correction_reason.toPlainText().strip()
        self._autosave_timer.stop()
        self._saving = True
        self.save_button.setEnabled(False)
        generation = self._generation
        self.status.setText(self.tr("Saving…"))

        def run(service: Any) -> str:
            if correcting is not None:
                service.correct_decision(correcting, record, reason, draft_id=draft_id)
                return correcting
            return str(service.record_decision(record, draft_id=draft_id))

        def done(record_id: str) -> None:
            self._saving = False
            self.save_button.setEnabled(True)
            if generation != self._generation:
                self.saved.emit(record_id)
                return
            self._wipe()
            self.status.setText(self.tr("Saved"))
            self.saved.emit(record_id)

        def failed(error: BaseException) -> None:
            self._saving = False
            self.save_button.setEnabled(True)
            self.status.setText("")
            if generation != self._generation:
                return
            if isinstance(error, ValidationError):
                self._show_problems(error.problems)
                self._focus_first_problem(error.problems)
            else:
                self._show_banner(self.tr("Not saved: {why}").format(why=error_text(error)))
                self._dirty = True
                self._autosave_timer.start()

        self.bridge.write(run, done, failed, changes={DECISIONS, FOLLOWUPS, DRAFTS, CONTACTS})

    def save_draft_now(self) -> None:
        """Keep what has been typed as an encrypted draft in the vault."""
        self._autosave_timer.stop()
        if not self._dirty or self._saving or self.bridge.service is None:
            return
        if self._draft_id is None:
            self._draft_id = str(uuid.uuid4())
        draft_id = self._draft_id
        body = self._draft_body()
        kind = DRAFT_KIND_CORRECTION if self._correcting else DRAFT_KIND_NEW
        record_id = self._correcting
        self._dirty = False
        generation = self._generation

        def done(_result: object) -> None:
            if generation == self._generation:
                self.status.setText(self.tr("Draft saved"))
            self.draft_saved.emit(draft_id)

        def failed(_error: BaseException) -> None:
            if generation == self._generation:
                self._dirty = True
                self.status.setText(self.tr("The draft could not be saved."))

        self.bridge.write(
            lambda s: s.save_draft(body, draft_id=draft_id, kind=kind, record_id=record_id),
            done, failed, changes={DRAFTS})

    def discard_draft(self) -> None:
        draft_id = self._draft_id
        self._dirty = False
        self._autosave_timer.stop()
        if draft_id is not None and self.bridge.service is not None:
            self.bridge.write(lambda s: s.delete_draft(draft_id), None, lambda _e: None,
                              changes={DRAFTS})

    def request_close(self) -> None:
        """Esc: ask whether to keep the draft, then close."""
        if self._saving:
            return
        if self._dirty or self._draft_id is not None:
            answer = self._ask_keep_draft()
            if answer is None:
                return
            if answer:
                self.save_draft_now()
            else:
                self.discard_draft()
        self._wipe()
        self.closed.emit()

    def _ask_keep_draft(self) -> bool | None:
        """True keeps the draft, False discards it, None goes back to the form."""
        box = QMessageBox(QMessageBox.Icon.Question, self.tr("Close the form"),
                          self.tr("Keep what you have written as a draft? "
                                  "Drafts are kept encrypted and you can finish later."),
                          QMessageBox.StandardButton.NoButton, self)
        keep = box.addButton(self.tr("Keep draft"), QMessageBox.ButtonRole.AcceptRole)
        discard = box.addButton(self.tr("Discard"), QMessageBox.ButtonRole.DestructiveRole)
        back = box.addButton(self.tr("Back to the form"), QMessageBox.ButtonRole.RejectRole)
        for button in (keep, discard, back):
            button.setAccessibleName(button.text())
        box.setDefaultButton(keep)
        box.setEscapeButton(back)
        box.exec()
        clicked = box.clickedButton()
        box.deleteLater()
        if clicked is keep:
            return True
        if clicked is discard:
            return False
        return None

    # -- state ---------------------------------------------------------------------------
    def _load_failed(self, error: BaseException) -> None:
        self._set_busy(False)
        self._show_banner(error_text(error))

    def _set_busy(self, busy: bool, message: str = "") -> None:
        self.content.setEnabled(not busy)
        self.save_button.setEnabled(not busy)
        self.status.setText(message)

    def _wipe(self) -> None:
        self._generation += 1
        self._autosave_timer.stop()
        self._suggest_timer.stop()
        self._correcting = None
        self._draft_id = None
        self._attempted = False
        self._reset_widgets()
        self._dirty = False
        self._set_busy(False)
        self._show_banner("")

    def _reset_widgets(self) -> None:
        self._loading = True
        try:
            self._direction = Direction.DISCLOSURE.value
            for box in (self.correction_reason, self.purpose, self.information,
                        self.person_informed_reason, self.third_party_protection, self.reasons):
                box.clear()
            for line in (self.cp_name, self.cp_role, self.cp_org, self.cp_contact,
                         self.advice_notes):
                line.clear()
            self._contact_model.clear()
            for check in (self.special_category, self.third_party, self.advice_sought,
                          *self.category_boxes.values(), *self.test_boxes.values()):
                check.setChecked(False)
            for check in (self.clear_purpose, self.identifies_person, self.confidential):
                check.setChecked(True)
            for combo in (self.fact_opinion, self.consent, self.consent_reason,
                          self.lawful_basis, self.without_consent_ground, self.statutory_gateway,
                          self.art9_condition, self.decision, self.method, self.person_informed,
                          self.advice_from):
                combo.setCurrentIndex(0)
            now = QDateTime.currentDateTime()
            self.decided_at.setDateTime(now)
            self.shared_at.setDateTime(now)
            self._set_subjects([Subject()])
            for field in self._fields.values():
                field.set_problems([])
            self._apply_direction()
        finally:
            self._loading = False
        self._update_visibility()

