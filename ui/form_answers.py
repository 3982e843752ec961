"""What the decision form's answers mean: which questions apply, the record they make,
loading a record back, the wording for each direction, and messages beside fields.

One rule table (``_applicable``) decides both which rows are shown and which
answers a record keeps, so the two can never disagree.
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any

from PySide6.QtCore import QDateTime
from PySide6.QtWidgets import QWidget

from app.model import Consent, Counterparty, Decision, DecisionRecord, Direction, Subject
from app.validation import Problem, problems_with
from ui.form_sections import FormSections
from ui.form_widgets import (
    answer_changed,
    clear_answer,
    read_answer,
    set_choice,
    write_answer,
)
from ui.form_wording import wording_for

DEFAULTS = DecisionRecord()
# Record attributes with an editor of their own (read, written and cleared alike).
SCALAR_ANSWERS = frozenset(
    f.name for f in fields(DecisionRecord)
    if f.name not in {"direction", "subjects", "counterparty", "categories", "seven_tests"})
# What a record keeps for a question that does not apply.
NOT_APPLICABLE: dict[str, Any] = {"seven_tests": {}}


class FormAnswers(FormSections):
    """Turns the widgets into a ``DecisionRecord`` and back; shows what applies."""

    _decision_before_purpose: str | None = None  # see _update_visibility

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._correcting: str | None = None
        self._loading = False  # set while widgets are filled in code, not by a person
        self._answers: dict[str, QWidget] = {
            name: self._fields[name].editor for name in self._rows if name in SCALAR_ANSWERS}
        self._counterparty_lines = {"name": self.cp_name, "role": self.cp_role,
                                    "organisation": self.cp_org, "contact": self.cp_contact}

    def _connect_answers(self) -> None:
        """Every answer a person changes calls ``_edited`` (the name box also suggests)."""
        for editor in self._answers.values():
            answer_changed(editor).connect(self._edited)
        for check in (*self.category_boxes.values(), *self.test_boxes.values()):
            check.toggled.connect(self._edited)
        for line in (self.cp_role, self.cp_org, self.cp_contact):
            line.textEdited.connect(self._edited)
        self.correction_reason.textChanged.connect(self._edited)
        self.subjects_widget.changed.connect(self._edited)
        self.subjects_widget.people_changed.connect(self._fix_tab_order)

    def _edited(self, *_: object) -> None:
        """An answer changed: show what now applies (the form shell also autosaves)."""
        self._update_visibility()

    # -- the rules ---------------------------------------------------------------------
    def _ground_applies(self, consent: str, decision: str) -> bool:
        return (_not_given(consent) and decision != Decision.NOT_SHARE.value
                and self._direction != Direction.REQUEST_MADE.value)

    def _applicable(self, answers: dict[str, Any]) -> dict[str, bool]:
        """Which conditional questions apply, given these answers."""
        consent = answers["consent"]
        decision = answers["decision"]
        sharing = decision != Decision.NOT_SHARE.value
        not_given = _not_given(consent)
        return {
            "decision": answers["clear_purpose"],
            "consent_reason": not_given,
            "lawful_basis": not_given,
            "without_consent_ground": self._ground_applies(consent, decision),
            "art9_condition": answers["special_category"],
            "method": sharing,
            "shared_at": sharing,
            "person_informed": sharing,
            "person_informed_reason": sharing and answers["person_informed"] == "no",
            "seven_tests": sharing,
            "advice_from": answers["advice_sought"],
            "advice_notes": answers["advice_sought"],
            "third_party_protection": answers["third_party_identified"],
        }

    def _current_answers(self) -> dict[str, Any]:
        answers = {name: read_answer(editor) for name, editor in self._answers.items()}
        if not answers["clear_purpose"]:  # without a clear purpose the decision is not to share
            answers["decision"] = Decision.NOT_SHARE.value
        return answers

    # -- collecting and loading ---------------------------------------------------
    def record(self) -> DecisionRecord:
        """What the form says now, with inapplicable answers left out."""
        answers = self._current_answers()
        answers["seven_tests"] = {k: b.isChecked() for k, b in self.test_boxes.items()}
        for name, applies in self._applicable(answers).items():
            if not applies and name != "decision":  # the decision is not-share, kept above
                answers[name] = NOT_APPLICABLE.get(name, "")
        return DecisionRecord(
            direction=self._direction,
            subjects=self.subjects_widget.values(),
            counterparty=Counterparty(**{k: line.text().strip()
                                         for k, line in self._counterparty_lines.items()}),
            categories=[k for k, b in self.category_boxes.items() if b.isChecked()],
            **answers,
        )

    def _load(self, record: DecisionRecord) -> None:
        self._decision_before_purpose = None
        self._loading = True
        try:
            self._direction = record.direction
            self._apply_direction()
            for name, editor in self._answers.items():
                write_answer(editor, getattr(record, name))
            for key, box in self.category_boxes.items():
                box.setChecked(key in record.categories)
            for key, box in self.test_boxes.items():
                box.setChecked(bool(record.seven_tests.get(key)))
            for key, line in self._counterparty_lines.items():
                line.setText(getattr(record.counterparty, key))
            self.subjects_widget.set_subjects(record.subjects or [Subject()])
        finally:
            self._loading = False
        self._update_visibility()

    def _reset_answers(self) -> None:
        """Every answer back to a new record's (the times to now)."""
        self._decision_before_purpose = None
        for name, editor in self._answers.items():
            clear_answer(editor, checked=getattr(DEFAULTS, name) is True)
        for box in (*self.category_boxes.values(), *self.test_boxes.values()):
            box.setChecked(False)
        for line in self._counterparty_lines.values():
            line.clear()
        self.correction_reason.clear()
        now = QDateTime.currentDateTime()
        self.decided_at.setDateTime(now)
        self.shared_at.setDateTime(now)
        self.subjects_widget.set_subjects([Subject()])
        for field in self._fields.values():
            field.set_problems([])

    # -- what is shown -------------------------------------------------------------------
    def _update_visibility(self) -> None:
        answers = self._current_answers()
        shown = self.decision.currentData()
        if answers["decision"] != shown:
            # No clear purpose: not to share. The answer given is restored if the box
            # is ticked again, so unticking it by mistake changes nothing for good.
            # (Not while a record is loaded: the box then shows no one's answer.)
            self._decision_before_purpose = None if self._loading else shown
            set_choice(self.decision, Decision.NOT_SHARE.value)
        elif answers["clear_purpose"] and self._decision_before_purpose:
            set_choice(self.decision, self._decision_before_purpose)
            self._decision_before_purpose = None
        self.correction_box.setVisible(self._correcting is not None)
        self.purpose_note.setVisible(not answers["clear_purpose"])
        self.identifies_note.setVisible(not answers["identifies_person"])
        self.confidential_note.setVisible(not answers["confidential"])
        for name, visible in self._applicable(answers).items():
            form, widget = self._rows[name]
            form.setRowVisible(widget, visible)

    def _apply_direction(self) -> None:
        words = wording_for(self._direction, self.tr)
        title = words.title
        if self._correcting is not None:
            title = self.tr("Correct a record: {kind}").format(kind=title)
        self.title.setText(title)
        self.counterparty_box.setTitle(words.who)
        self.counterparty_box.setAccessibleName(words.who)
        self._set_label("information", words.information)
        self._set_label("method", words.method)
        for i, label in enumerate(words.decisions):
            self.decision.setItemText(i, label)
        self.save_button.setText(self.tr("Save correction") if self._correcting else
                                 self.tr("Save decision"))
        self.save_button.setAccessibleName(self.save_button.text())
        # Requests start with whom to ask; shares record the recipient with the decision.
        self.sections.removeWidget(self.counterparty_box)
        self.counterparty_slot.removeWidget(self.counterparty_box)
        if words.counterparty_first:
            self.sections.insertWidget(2, self.counterparty_box)
        else:
            self.counterparty_slot.addWidget(self.counterparty_box)
        self._fix_tab_order()

    def _fix_tab_order(self) -> None:
        """Tab follows the flow as laid out, whichever order widgets were made in."""
        chain: list[QWidget] = []
        for box in self._section_widgets():
            chain.extend(self._focus_chain(box))
        chain += [self.close_button, self.save_button]
        for first, second in zip(chain, chain[1:], strict=False):
            QWidget.setTabOrder(first, second)

    # -- messages beside fields ------------------------------------------------------------
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

    def _show_banner(self, text: str) -> None:
        self.banner.setText(text)
        self.banner.setVisible(bool(text))


def _not_given(consent: str) -> bool:
    """Refused or not sought; unanswered ("") asks nothing more until it is answered."""
    return consent not in (Consent.GIVEN.value, "")
