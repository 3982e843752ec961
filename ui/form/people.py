"""The people in a decision: who it is about (one editor a person) and address-book
suggestions for whom it is shared with."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QModelIndex, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QStandardItem, QStandardItemModel
from PySide6.QtWidgets import (
    QCompleter,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.model import SUBJECT_KINDS, Subject
from app.record_data import SUBJECT_FIELDS
from ui.bridge import Bridge
from ui.form.fields import Field, choice_box, set_choice

SUGGEST_MS = 150
SUBJECT_KIND_LABELS = {kind.value: label for kind, label in SUBJECT_KINDS.items()}
CONTACT_ROLE = Qt.ItemDataRole.UserRole + 1
NAME_ROLE = Qt.ItemDataRole.UserRole + 2


class SubjectEditor(QWidget):
    """One person the information is about."""

    changed = Signal()
    remove_requested = Signal(object)

    def __init__(self, number: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.number = number
        form = QFormLayout(self)
        self.form = form
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
        # Starts unanswered: a child is not assumed.
        self.kind = choice_box(self, SUBJECT_KIND_LABELS, placeholder=self.tr("(choose)"),
                               tr=self.tr)
        self.kind_field = Field(self.kind, self)
        self.case_ref = QLineEdit(self)
        self.age_field = Field(self.age_band, self)
        self.case_field = Field(self.case_ref, self)
        for line, key in ((self.name, "name"), (self.dob, "date_of_birth"),
                          (self.age_band, "age_band"), (self.case_ref, "case_ref")):
            line.setMaxLength(SUBJECT_FIELDS[key][0])
        self.labels = {
            "name": self.tr("Name"),
            "dob": self.tr("Date of birth"),
            "age": self.tr("Age band (if no date of birth)"),
            "kind": self.tr("Kind of person"),
            "case": self.tr("Case reference"),
        }
        form.addRow(self.labels["name"], self.name_field)
        form.addRow(self.labels["dob"], self.dob_field)
        form.addRow(self.labels["age"], self.age_field)
        form.addRow(self.labels["kind"], self.kind_field)
        form.addRow(self.labels["case"], self.case_field)
        self.remove_button = QPushButton(self.tr("Remove this person"), self)
        self.remove_button.clicked.connect(lambda: self.remove_requested.emit(self))
        form.addRow("", self.remove_button)
        for w in (self.name, self.dob, self.age_band, self.case_ref):
            w.textEdited.connect(self.changed)
        self.kind.currentIndexChanged.connect(self.changed)
        # With a date of birth, an age band asks nothing more (and is not asked).
        self.dob.textChanged.connect(self._show_age_band)
        self.kind.currentIndexChanged.connect(self._kind_changed)
        self.set_number(number)

    def _show_age_band(self) -> None:
        self.form.setRowVisible(self.age_field, not self.dob.text().strip())

    def _kind_changed(self) -> None:
        unborn = self.kind.currentData() == "unborn"
        label = self.form.labelForField(self.dob_field)
        text = self.tr("Expected date of birth") if unborn else self.labels["dob"]
        if isinstance(label, QLabel):
            label.setText(text)
        self.dob.setAccessibleName(
            self.tr("Person {n}").format(n=self.number) + f": {text}")

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
        set_choice(self.kind, subject.kind)
        self.case_ref.setText(subject.case_ref)

    def focus_widgets(self) -> list[QWidget]:
        return [self.name, self.dob, self.age_band, self.kind, self.case_ref, self.remove_button]

    def set_problems(self, problems: dict[str, list[str]]) -> None:
        self.name_field.set_problems(problems.get("name", []))
        self.dob_field.set_problems(problems.get("date_of_birth", []))
        self.age_field.set_problems(problems.get("age_band", []))
        self.kind_field.set_problems(problems.get("kind", []))
        self.case_field.set_problems(problems.get("case_ref", []))


class SubjectList(QWidget):
    """Everyone the information is about: at least one person, numbered in order."""

    changed = Signal()  # a person's answer, or a person added or removed
    people_changed = Signal()  # a person added or removed (the tab order must follow)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.editors: list[SubjectEditor] = []
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        # Above the people, so Tab reaches it before them and moving on from the question
        # before goes straight to the first name.
        self.add_button = QPushButton(self.tr("Add another person"), self)
        self.add_button.setAccessibleName(self.tr("Add another person"))
        header = QHBoxLayout()
        header.addStretch(1)
        header.addWidget(self.add_button)
        self._layout.addLayout(header)

    def values(self) -> list[Subject]:
        return [e.value() for e in self.editors]

    def set_subjects(self, subjects: list[Subject]) -> None:
        for editor in self.editors:
            self._discard(editor)
        self.editors = []
        for subject in subjects:
            self._append(subject)
        self.people_changed.emit()

    def add_person(self) -> SubjectEditor:
        """Another, blank person (the 'Add another person' button)."""
        editor = self._append(Subject())
        self.people_changed.emit()
        self.changed.emit()
        return editor

    def remove(self, editor: SubjectEditor) -> None:
        if editor not in self.editors or len(self.editors) == 1:
            return
        index = self.editors.index(editor)
        self.editors.remove(editor)
        self._discard(editor)
        for i, e in enumerate(self.editors, start=1):
            e.set_number(i)
        self.people_changed.emit()
        self.changed.emit()
        self.editors[max(0, index - 1)].name.setFocus()

    def focus_widgets(self) -> list[QWidget]:
        return [w for e in self.editors for w in e.focus_widgets()]

    def _discard(self, editor: SubjectEditor) -> None:
        # Hidden on purpose, never orphaned: a layout shows the widgets added to it on the
        # next turn of the event loop, and an orphan shown then is a window of its own,
        # which took the keyboard focus from the form (two new forms in one turn did it).
        self._layout.removeWidget(editor)
        editor.hide()
        editor.deleteLater()

    def _append(self, subject: Subject) -> SubjectEditor:
        editor = SubjectEditor(len(self.editors) + 1, self)
        editor.load(subject)
        editor.changed.connect(self.changed)
        editor.remove_requested.connect(self.remove)
        self._layout.addWidget(editor)
        editor.show()  # added to a form that may already be on screen
        self.editors.append(editor)
        return editor


class ContactSuggestions(QObject):
    """Address-book entries offered under a name box as the person types."""

    chosen = Signal(dict)  # the contact: name, role, organisation, contact

    def __init__(self, line: QLineEdit, bridge: Bridge, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.line = line
        self.bridge = bridge
        self._generation = 0
        self.model = QStandardItemModel(self)
        self.completer = QCompleter(self.model, self)
        self.completer.setCompletionMode(QCompleter.CompletionMode.UnfilteredPopupCompletion)
        self.completer.setCompletionRole(NAME_ROLE)
        self.completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        popup = self.completer.popup()
        if popup is not None:
            popup.setAccessibleName(self.tr("Suggestions from your address book"))
        line.setCompleter(self.completer)
        self.completer.activated[QModelIndex].connect(self.choose)  # type: ignore[index]
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(SUGGEST_MS)
        self._timer.timeout.connect(self.fetch)

    def name_edited(self, text: str) -> None:
        if text.strip():
            self._timer.start()
        else:
            self.model.clear()

    def reset(self) -> None:
        """Forget suggestions; answers to an earlier question are dropped."""
        self._generation += 1
        self._timer.stop()
        self.model.clear()

    def fetch(self) -> None:
        prefix = self.line.text().strip()
        if not prefix or self.bridge.service is None:
            return
        generation = self._generation

        def got(contacts: list[dict[str, str]]) -> None:
            if generation != self._generation or self.line.text().strip() != prefix:
                return
            self.model.clear()
            for contact in contacts:
                extra = ", ".join(v for v in (contact["role"], contact["organisation"]) if v)
                label = f"{contact['name']} ({extra})" if extra else contact["name"]
                item = QStandardItem(label)
                item.setData(contact["name"] or contact["organisation"], NAME_ROLE)
                item.setData(contact, CONTACT_ROLE)
                item.setEditable(False)
                self.model.appendRow(item)
            if contacts and self.line.hasFocus():
                self.completer.setCompletionPrefix("")
                self.completer.complete()

        self.bridge.read(lambda s: s.suggest_contacts(prefix), got, lambda _e: None)

    def choose(self, index: QModelIndex) -> None:
        contact: Any = index.data(CONTACT_ROLE)
        if isinstance(contact, dict):
            self.chosen.emit(contact)
