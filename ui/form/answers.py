"""What the decision form's answers mean: which questions apply, the record they make,
loading a record back, the wording for each direction, and messages beside fields.

The rule table is ``app.validation.applies``: the same one decides which rows are
shown, which answers a record keeps and what the rules ask for, so the form never
shows a message about a question that is not on screen.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import fields
from typing import Any

from PySide6.QtCore import QDateTime, Qt, QTimer
from PySide6.QtWidgets import QAbstractButton, QDateTimeEdit, QLabel, QWidget

from app.model import (
    CATEGORIES,
    SPECIAL_CATEGORIES,
    SPECIAL_CONDITION_CHOICES,
    Counterparty,
    Decision,
    DecisionRecord,
    Subject,
)
from app.validation import LATE_AFTER_DAYS, Problem, applies, days_late, problems_with
from ui.form.controls import ChoiceBox
from ui.form.fields import (
    ISO_MINUTES,
    answer_changed,
    clear_answer,
    read_answer,
    set_choice,
    write_answer,
)
from ui.form.sections import FormSections
from ui.form.wording import wording_for

DEFAULTS = DecisionRecord()
# Record attributes with an editor of their own (read, written and cleared alike).
SCALAR_ANSWERS = frozenset(
    f.name for f in fields(DecisionRecord)
    if f.name not in {"direction", "subjects", "counterparty", "categories", "seven_tests",
                      "legacy_special_category", "art9_condition", "sch1_condition"})
SUMMARY_NAMES = 6  # questions named in the summary before "and N more"


class FormAnswers(FormSections):
    """Turns the widgets into a ``DecisionRecord`` and back; shows what applies."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._correcting: str | None = None
        self._loading = False  # set while widgets are filled in code, not by a person
        self._legacy_special: bool | None = None  # from an old record being corrected
        self._shared_at_follows = True  # until someone sets it, it follows the decision
        self._answers: dict[str, QWidget] = {
            name: self._fields[name].editor for name in self._rows if name in SCALAR_ANSWERS}
        self._counterparty_lines = {"name": self.cp_name, "role": self.cp_role,
                                    "organisation": self.cp_org, "contact": self.cp_contact}
        for box in self.test_boxes.values():
            box.all_key = self._all_tests_met

    def now(self) -> dt.datetime:
        """The clock the rules measure against (the form shell uses the service's)."""
        return dt.datetime.now()

    def _connect_answers(self) -> None:
        """Every answer a person changes calls ``_edited``; a typed answer moves on."""
        for editor in (*self._answers.values(), self.special_condition, self.late_confirmed):
            answer_changed(editor).connect(self._edited)
        for test in self.test_boxes.values():
            test.currentIndexChanged.connect(self._edited)
        for box in self.findChildren(ChoiceBox):
            self._advance_on_answer(box)
        self.category_list.changed.connect(self._edited)
        for line in (self.cp_role, self.cp_org, self.cp_contact):
            line.textEdited.connect(self._edited)
        self.correction_reason.textChanged.connect(self._edited)
        self.subjects_widget.changed.connect(self._edited)
        self.subjects_widget.people_changed.connect(self._people_changed)
        self.decided_at.dateTimeChanged.connect(self._decided_at_changed)
        self.shared_at.dateTimeChanged.connect(self._shared_at_changed)

    def _advance_on_answer(self, box: ChoiceBox) -> None:
        if not box.property("advances"):
            box.setProperty("advances", True)
            box.answered.connect(lambda b=box: self._advance(b))

    def _people_changed(self) -> None:
        for editor in self.subject_editors:
            self._advance_on_answer(editor.kind)
        self._fix_tab_order()

    def _edited(self, *_: object) -> None:
        """An answer changed: show what now applies (the form shell also autosaves)."""
        self._update_visibility()

    def _decided_at_changed(self) -> None:
        if self._shared_at_follows:
            self._loading, loading = True, self._loading
            self.shared_at.setDateTime(self.decided_at.dateTime())
            self._loading = loading

    def _shared_at_changed(self) -> None:
        if not self._loading and self.shared_at.hasFocus():
            self._shared_at_follows = False

    # -- moving on --------------------------------------------------------------------
    def _advance(self, answered: QWidget) -> None:
        """After a typed answer: the next question on screen that still wants typing.

        Buttons, date boxes (they hold a time already) and the optional statutory gateway
        are passed over; Tab still visits every one of them.
        """
        order = self._focus_order()
        if answered not in order:
            return
        for widget in order[order.index(answered) + 1:]:
            if (not widget.isVisibleTo(self) or not widget.isEnabled()
                    or isinstance(widget, QAbstractButton | QDateTimeEdit)
                    or widget is self.statutory_gateway):
                continue
            widget.setFocus(Qt.FocusReason.TabFocusReason)
            self.scroll_area.ensureWidgetVisible(widget)
            # The answer may have just shown more questions: once they are laid out, the
            # page is scrolled again so the cursor is never off screen.
            QTimer.singleShot(0, lambda w=widget: self._keep_in_view(w))
            return
        self.save_button.setFocus(Qt.FocusReason.TabFocusReason)

    def _keep_in_view(self, widget: QWidget) -> None:
        if widget.hasFocus():
            self.scroll_area.ensureWidgetVisible(widget)

    def _all_tests_met(self) -> None:
        """"A" in a test: yes to every test not yet answered (a "no" stays)."""
        for box in self.test_boxes.values():
            if box.value() is None:
                box.set_value(True)
        self._advance(list(self.test_boxes.values())[-1])

    # -- collecting and loading ---------------------------------------------------
    def _raw_record(self) -> DecisionRecord:
        """Every answer as the widgets hold it, whether or not it applies."""
        answers = {name: read_answer(editor) for name, editor in self._answers.items()}
        art9, _, sch1 = str(self.special_condition.currentData() or "").partition("|")
        if answers["clear_purpose"] is False:  # without a clear purpose: not to share
            answers["decision"] = Decision.NOT_SHARE.value
        categories = self.category_list.values()
        # An old record's "special category" tick-box is kept only while it says what the
        # categories do not (which kind was never recorded).
        legacy = (True if self._legacy_special
                  and not any(c in SPECIAL_CATEGORIES for c in categories) else None)
        return DecisionRecord(
            direction=self._direction,
            subjects=self.subjects_widget.values(),
            counterparty=Counterparty(**{k: line.text().strip()
                                         for k, line in self._counterparty_lines.items()}),
            categories=categories,
            legacy_special_category=legacy,
            art9_condition=art9,
            sch1_condition=sch1,
            seven_tests={k: v for k, b in self.test_boxes.items()
                         if (v := b.value()) is not None},
            **answers,
        )

    def record(self) -> DecisionRecord:
        """What the form says now, with the answers to questions that do not apply left out."""
        record = self._raw_record()
        for name, asked in applies(record).items():
            if not asked and name != "decision":  # the decision is not-share, kept above
                setattr(record, name, _unanswered(name))
                if name == "art9_condition":
                    record.sch1_condition = ""
        return record

    def _load(self, record: DecisionRecord) -> None:
        self._loading = True
        try:
            self._direction = record.direction
            self._legacy_special = record.legacy_special_category
            self._apply_direction()
            for name, editor in self._answers.items():
                write_answer(editor, getattr(record, name))
            set_choice(self.special_condition,
                       f"{record.art9_condition}|{record.sch1_condition}"
                       if (record.art9_condition, record.sch1_condition)
                       in SPECIAL_CONDITION_CHOICES else "")
            self.category_list.set_values(record.categories)
            for key, box in self.test_boxes.items():
                box.set_value(record.seven_tests.get(key))
            for key, line in self._counterparty_lines.items():
                line.setText(getattr(record.counterparty, key))
            self.subjects_widget.set_subjects(record.subjects or [Subject()])
            self._shared_at_follows = not record.shared_at
        finally:
            self._loading = False
        self._update_visibility()

    def _reset_answers(self) -> None:
        """Every answer back to a new record's: unanswered (the times to now)."""
        self._legacy_special = None
        self._shared_at_follows = True
        for editor in self._answers.values():
            clear_answer(editor)
        for box in (self.special_condition, self.late_confirmed, *self.test_boxes.values()):
            box.setCurrentIndex(0)
        self.category_list.set_values([])
        for line in self._counterparty_lines.values():
            line.clear()
        self.correction_reason.clear()
        now = QDateTime.fromString(self.now().strftime("%Y-%m-%dT%H:%M"), ISO_MINUTES)
        self.decided_at.setDateTime(now)
        self.shared_at.setDateTime(now)
        self.subjects_widget.set_subjects([Subject()])
        for field in self._fields.values():
            field.set_problems([])

    # -- what is shown -------------------------------------------------------------------
    def _late_days(self) -> int:
        """Days since the decision, for a new record (a correction was written long ago)."""
        if self._correcting is not None:
            return 0
        return days_late(read_answer(self.decided_at), self.now())

    def _update_visibility(self) -> None:
        record = self._raw_record()
        shown = applies(record)
        self.correction_box.setVisible(self._correcting is not None)
        self.purpose_note.setVisible(record.clear_purpose is False)
        self.identifies_note.setVisible(record.identifies_person is False and shown[
            "identifies_person"])
        self.confidential_note.setVisible(record.confidential is False and shown["confidential"])
        for name, visible in shown.items():
            if name in self._rows:
                form, widget = self._rows[name]
                form.setRowVisible(widget, visible)
        late = self._late_days()
        is_late = late > LATE_AFTER_DAYS
        self.late_note.setText(self.tr(
            "You decided this {days:,} days ago. You can record it late: the record will say "
            "when it was written as well as when it was decided.").format(days=late))
        self.late_note.setVisible(is_late)
        form, widget = self._rows["late_confirmed"]
        form.setRowVisible(widget, is_late)
        self.tests_note.setVisible(shown["seven_tests"])
        self._show_category_note(record)
        self.confidential_box.setVisible(shown["confidential"])
        self.consent_box.setVisible(shown["consent"])
        self.basis_box.setVisible(any(shown[n] for n in (
            "consent_reason", "without_consent_ground", "lawful_basis", "statutory_gateway",
            "art9_condition", "art10_condition")))
        self.share_box.setVisible(shown["method"])
        words = wording_for(self._direction, self.tr)
        who = (words.who_not_shared if record.decision == Decision.NOT_SHARE.value
               else words.who)
        self.counterparty_box.setTitle(who)
        self.counterparty_box.setAccessibleName(who)
        self.number_sections()

    def _show_category_note(self, record: DecisionRecord) -> None:
        lines = []
        if record.special_categories:
            names = ", ".join(self.tr(CATEGORIES[c]).split(" (")[0].lower()
                              for c in record.special_categories)
            lines.append(self.tr("Special-category data (UK GDPR Article 9): {what}.")
                         .format(what=names))
        elif record.legacy_special_category:
            lines.append(self.tr("An earlier version recorded this as special-category data "
                                 "without saying which kind: tick the kind above."))
        if record.is_criminal_offence_data:
            lines.append(self.tr("Criminal offence data (UK GDPR Article 10)."))
        self.category_note.setText("\n".join(lines))
        self.category_note.setVisible(bool(lines))

    def _apply_direction(self) -> None:
        words = wording_for(self._direction, self.tr)
        title = words.title
        if self._correcting is not None:
            title = self.tr("Correct a record: {kind}").format(kind=title)
        self.title.setText(title)
        self.counterparty_box.setTitle(words.who)
        self.counterparty_box.setAccessibleName(words.who)
        self._set_label("information", words.information)
        if words.requested:
            self._set_label("requested_information", words.requested)
        self._set_label("method", words.method)
        self._set_label("shared_at", words.when)
        self._set_label("person_informed", words.person_informed)
        self._titles[self.share_box] = words.share_section
        for i, label in enumerate(words.decisions, start=1):  # after "(choose)"
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
        problems = problems_with(self.record(), now=self.now())
        if self._correcting is not None and not self.correction_reason.toPlainText().strip():
            problems.insert(0, Problem("reason", self.tr("Give a reason for the correction.")))
        if self._late_days() > LATE_AFTER_DAYS:
            answer = self.late_confirmed.value()
            if answer is None:
                problems.append(Problem("late_confirmed", self.tr(
                    "Confirm that you are recording this decision late, or correct when you "
                    "decided.")))
            elif answer is False:
                problems.append(Problem("late_confirmed", self.tr(
                    "Correct when you decided (above).")))
        return problems

    def _label_of(self, name: str) -> str:
        form, widget = self._rows[name]
        label = form.labelForField(widget)
        return label.text() if isinstance(label, QLabel) else name

    def _show_problems(self, problems: list[Problem]) -> None:
        by_field: dict[str, list[str]] = {}
        for p in problems:
            by_field.setdefault(p.field, []).append(p.message)
        per_subject: dict[int, dict[str, list[str]]] = {}
        unplaced: list[str] = []
        by_editor: dict[int, list[str]] = {}
        named: list[str] = []
        for name, messages in by_field.items():
            parts = name.split(".")
            if parts[0] == "subjects" and len(parts) == 3 and parts[1].isdigit():
                per_subject.setdefault(int(parts[1]), {})[parts[2]] = messages
                if self._label_of("subjects") not in named:
                    named.append(self._label_of("subjects"))
            elif name not in self._fields or not self._row_shown(name):
                unplaced.extend(messages)
            else:
                by_editor.setdefault(id(self._fields[name]), []).extend(messages)
        for field in {id(f): f for f in self._fields.values()}.values():
            field.set_problems(by_editor.get(id(field), []))
        for i, editor in enumerate(self.subject_editors):
            editor.set_problems(per_subject.get(i, {}))
        if self.subject_editors:  # "add a person" belongs to the first person's name
            self.subject_editors[0].name.setAccessibleDescription(
                "\n".join(by_field.get("subjects", [])))
        for widget in self._focus_order():  # the summary names questions in screen order
            for name, field in self._fields.items():
                if field.editor is widget and id(field) in by_editor:
                    label = self._label_of(name)
                    if label not in named:
                        named.append(label)
        if unplaced:
            self._show_banner("\n".join(unplaced))
        elif named:
            shown = "; ".join(named[:SUMMARY_NAMES])
            if len(named) > SUMMARY_NAMES:
                shown += " " + self.tr("and {n} more").format(n=len(named) - SUMMARY_NAMES)
            self._show_banner(self.tr("This record can't be saved yet. To answer or fix: "
                                      "{questions}").format(questions=shown.rstrip(".")))
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
            person: dict[str, QWidget] = {
                "name": editor.name, "date_of_birth": editor.dob, "age_band": editor.age_band,
                "kind": editor.kind, "case_ref": editor.case_ref}
            for key, widget in person.items():
                if f"subjects.{i}.{key}" in names:
                    targets[id(widget)] = widget
        for widget in self._focus_order():
            if id(widget) in targets and widget.isVisibleTo(self):
                widget.setFocus()
                self.scroll_area.ensureWidgetVisible(widget)
                return

    def _show_banner(self, text: str) -> None:
        self.banner.setText(text)
        self.banner.setVisible(bool(text))


def _unanswered(name: str) -> Any:
    """What a record holds for a question that does not apply: the new record's value."""
    value = getattr(DEFAULTS, name)
    return dict(value) if isinstance(value, dict) else value

