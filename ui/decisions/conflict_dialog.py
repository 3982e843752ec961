"""A record changed in two places at once, side by side: for each field in conflict, every
value, who wrote it, when and why; the person chooses one (or writes a new one), says why,
and saves a version after every one of them (``Sharelog.resolve_record`` /
``resolve_followup``). The values not chosen stay in the record's history.

Nothing is chosen for the person: Save stays off until every field has an answer.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import QDate, Qt, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QDialog,
    QDialogButtonBox,
    QFrame,
    QGridLayout,
    QLabel,
    QPlainTextEdit,
    QRadioButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from app import model as m
from app.rights import TeamView
from app.service import Conflict, ConflictValue, DecisionDetail
from ui.decisions.record_words import FIELD_WORDS, value_words
from ui.widgets import dialogs
from ui.widgets.dates import format_when
from ui.widgets.inputs import DateBox
from ui.widgets.resources import mark

# Shown whole (the history shortens them): what the person is choosing between.
WHOLE_TEXT = frozenset({"information", "requested_information", "purpose", "reasons",
                        "person_informed_reason", "advice_notes", "third_party_protection"})
NEW_VALUE = "__new__"


@dataclass
class FieldChoice:
    """One field in conflict and the buttons that answer it."""

    conflict: Conflict
    group: QButtonGroup
    values: list[Any] = field(default_factory=list)  # by button id
    notes: list[str] = field(default_factory=list)
    new_text: QPlainTextEdit | None = None
    new_date: DateBox | None = None
    note_text: QPlainTextEdit | None = None  # a follow-up's outcome or reason, editable

    def answer(self) -> tuple[Any, str] | None:
        """(value, note) chosen, or None while unanswered."""
        chosen = self.group.checkedId()
        if chosen < 0:
            return None
        if chosen == len(self.values):  # "a new value"
            if self.new_date is not None:
                d = self.new_date.date()
                return dt.date(d.year(), d.month(), d.day()).isoformat(), ""
            text = self.new_text.toPlainText().strip() if self.new_text is not None else ""
            return (text, "") if text else None
        note = self.notes[chosen]
        if self.note_text is not None:
            note = self.note_text.toPlainText().strip()
            if not note:
                return None
        return self.values[chosen], note


class ConflictDialog(QDialog):
    """Settle every conflict of one record (its fields and its follow-ups')."""

    resolved = Signal(str)  # the record id

    def __init__(self, bridge: Any, record_id: str, parent: QWidget | None = None, *,
                 followup_id: str = "") -> None:
        super().__init__(parent)
        self.bridge = bridge
        self.record_id = record_id
        self.focus_followup = followup_id
        self.detail: DecisionDetail | None = None
        self.team: TeamView | None = None
        self.choices: list[FieldChoice] = []
        self._saving = False
        self.setWindowTitle(self.tr("Changed in two places: choose what stands"))
        self.setAccessibleName(self.windowTitle())

        layout = QVBoxLayout(self)
        self.intro = QLabel(self)
        self.intro.setWordWrap(True)
        layout.addWidget(self.intro)
        self.scroll_area = QScrollArea(self)
        self.scroll_area.setWidgetResizable(True)
        self.scroll_area.setFrameShape(QFrame.Shape.NoFrame)
        self.body = QWidget(self.scroll_area)
        self.body_layout = QVBoxLayout(self.body)
        self.scroll_area.setWidget(self.body)
        layout.addWidget(self.scroll_area, 1)
        self.reason_label = QLabel(self.tr("Why is this the right choice? (required; it is "
                                           "kept with the new version)"), self)
        self.reason_label.setWordWrap(True)
        self.reason = QPlainTextEdit(self)
        self.reason.setTabChangesFocus(True)
        self.reason.setAccessibleName(self.tr("Reason for the choice"))
        self.reason.setMaximumHeight(self.fontMetrics().height() * 4)
        self.reason_label.setBuddy(self.reason)
        layout.addWidget(self.reason_label)
        layout.addWidget(self.reason)
        self.read_only = QLabel(self)
        self.read_only.setWordWrap(True)
        mark(self.read_only, "note")
        self.read_only.hide()
        layout.addWidget(self.read_only)
        self.error = dialogs.error_label(self, self.tr("Why it was not saved"))
        layout.addWidget(self.error)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel, self)
        self.save_button = self.buttons.button(QDialogButtonBox.StandardButton.Save)
        self.save_button.setText(self.tr("Save this choice"))
        self.save_button.setAccessibleName(self.save_button.text())
        back = self.buttons.button(QDialogButtonBox.StandardButton.Cancel)
        back.setText(self.tr("Back"))
        back.setAccessibleName(back.text())
        self.buttons.accepted.connect(self.save)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)
        self.reason.textChanged.connect(self._update_save)
        self.resize(980, 560)
        self._update_save()
        self.load()

    # -- loading ---------------------------------------------------------------------------
    def load(self) -> None:
        rid = self.record_id

        def read(service: Any) -> tuple[DecisionDetail, list[Conflict], TeamView]:
            return service.get_decision(rid), service.conflicts(rid), service.team_view()

        self.intro.setText(self.tr("Loading…"))
        self.bridge.read(read, self._show, self._failed)

    def _failed(self, exc: BaseException) -> None:
        self._saving = False
        dialogs.show_message(self.error, dialogs.error_text(exc))
        self._update_save()

    def _show(self, result: tuple[DecisionDetail, list[Conflict], TeamView]) -> None:
        self.detail, conflicts, self.team = result
        while self.body_layout.count():
            item = self.body_layout.takeAt(0)
            widget = item.widget() if item is not None else None
            if widget is not None:
                widget.deleteLater()
        self.choices = []
        record_conflicts = [c for c in conflicts if c.entity == "decision"]
        followup_conflicts = [c for c in conflicts if c.entity == "followup"]
        if not conflicts:
            self.intro.setText(self.tr("This record is not in conflict any more: someone "
                                       "settled it. Nothing to choose."))
        else:
            self.intro.setText(self.tr(
                "These were changed differently, at the same time, in two places (neither "
                "had seen the other's change). Until you choose, the record shows what they "
                "both started from. Whatever you do not choose stays in the history."))
        status = next((c for c in record_conflicts if c.field == "status"), None)
        if status is not None:
            self._add_withdrawal(status)
        else:
            for c in record_conflicts:
                self._add_field(c, self._field_name(c.field), self._record_value)
        followups = {fu.followup_id: fu for fu in self.detail.followups}
        for c in sorted(followup_conflicts, key=lambda c: c.entity_id != self.focus_followup):
            fu = followups.get(c.entity_id)
            title = self.tr("Follow-up: %1").replace("%1", self.tr(fu.title) if fu else "")
            self._add_field(c, title + " · " + self._followup_field_name(c.field),
                            self._followup_value)
        self.body_layout.addStretch(1)
        needs_reason = bool(record_conflicts) or any(
            c.field in ("due_date", "owner_id") for c in followup_conflicts)
        self.reason_label.setVisible(needs_reason)
        self.reason.setVisible(needs_reason)
        if self.detail.read_only and record_conflicts:
            owner = self.team.name(self.detail.owner_id)
            self.read_only.setText(self.tr(
                "This is %1's record: only they can settle what it says.").replace("%1", owner))
            self.read_only.show()
        self._update_save()

    # -- building ----------------------------------------------------------------------------
    def _field_name(self, name: str) -> str:
        return self.tr(FIELD_WORDS.get(name, name))

    def _followup_field_name(self, name: str) -> str:
        return {"state": self.tr("done or cancelled"), "due_date": self.tr("due date"),
                "outcome": self.tr("outcome"), "cancel_reason": self.tr("reason cancelled"),
                "owner_id": self.tr("who holds it")}.get(name, name)

    def _record_value(self, c: Conflict, value: Any) -> str:
        assert self.detail is not None
        if c.field in WHOLE_TEXT and isinstance(value, str):
            return value or self.tr("(none)")
        data = self.detail.record.to_dict()
        data[c.field] = value
        return value_words(m.DecisionRecord.from_dict(data), c.field)

    def _followup_value(self, c: Conflict, value: Any) -> str:
        if c.field == "state":
            return {"done": self.tr("Done"), "cancelled": self.tr("Cancelled"),
                    "open": self.tr("Open")}.get(str(value), str(value))
        if c.field == "due_date":
            return format_when(str(value))
        if c.field == "owner_id":
            return self.team.name(str(value)) if self.team else str(value)
        return str(value or "") or self.tr("(none)")

    def _who(self, v: ConflictValue) -> str:
        name = self.team.name(v.author_id) if self.team else v.author_name
        return self.tr("%1 · %2 · device %3").replace("%1", name).replace(
            "%2", format_when(v.at[:16])).replace("%3", v.device_id[:8])

    def _add_field(self, c: Conflict, title: str, words: Any) -> None:
        box = QFrame(self.body)
        box.setFrameShape(QFrame.Shape.StyledPanel)
        box.setAccessibleName(title)
        grid = QGridLayout(box)
        heading = QLabel(title, box)
        font = heading.font()
        font.setBold(True)
        heading.setFont(font)
        grid.addWidget(heading, 0, 0, 1, len(c.values) + 1)
        group = QButtonGroup(box)
        choice = FieldChoice(c, group)
        editable = self._may_settle(c)
        for i, v in enumerate(c.values):
            radio = QRadioButton(self.tr("Keep this"), box)
            radio.setAccessibleName(self.tr("Keep the value by %1").replace("%1", self._who(v)))
            radio.setEnabled(editable)
            group.addButton(radio, i)
            choice.values.append(v.value)
            choice.notes.append(v.note)
            grid.addWidget(radio, 1, i)
            value = QLabel(words(c, v.value), box)
            value.setWordWrap(True)
            value.setTextFormat(Qt.TextFormat.PlainText)
            value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            grid.addWidget(value, 2, i)
            who = QLabel(self._who(v), box)
            who.setWordWrap(True)
            mark(who, "note")
            grid.addWidget(who, 3, i)
            if v.note:
                note_label = (self.tr("Outcome: %1") if c.field in ("state", "outcome")
                              and v.value != "cancelled" else self.tr("Reason: %1"))
                why = QLabel(note_label.replace("%1", v.note), box)
                why.setWordWrap(True)
                why.setTextFormat(Qt.TextFormat.PlainText)
                grid.addWidget(why, 4, i)
            grid.setColumnStretch(i, 1)
        new_column = len(c.values)
        if c.field in WHOLE_TEXT or c.field in ("outcome", "cancel_reason"):
            radio = QRadioButton(self.tr("Write a new value"), box)
            radio.setEnabled(editable)
            group.addButton(radio, new_column)
            choice.new_text = QPlainTextEdit(box)
            choice.new_text.setTabChangesFocus(True)
            choice.new_text.setAccessibleName(self.tr("New value for %1").replace("%1", title))
            choice.new_text.setEnabled(editable)
            choice.new_text.textChanged.connect(lambda r=radio: self._typed_new(r))
            choice.new_text.setMaximumHeight(self.fontMetrics().height() * 6)
            grid.addWidget(radio, 1, new_column)
            grid.addWidget(choice.new_text, 2, new_column, 3, 1,
                           Qt.AlignmentFlag.AlignTop)
            grid.setColumnStretch(new_column, 1)
        elif c.field == "due_date":
            radio = QRadioButton(self.tr("Another date"), box)
            radio.setEnabled(editable)
            group.addButton(radio, new_column)
            choice.new_date = DateBox(box)
            choice.new_date.setCalendarPopup(True)
            choice.new_date.setDisplayFormat("d MMM yyyy")
            choice.new_date.setAccessibleName(self.tr("Another due date"))
            today = dt.date.today()
            choice.new_date.setDate(QDate(today.year, today.month, today.day))
            choice.new_date.setEnabled(editable)
            grid.addWidget(radio, 1, new_column)
            grid.addWidget(choice.new_date, 2, new_column)
        if c.field == "state":
            label = QLabel(self.tr("The outcome or reason to keep with it (you may change "
                                   "it):"), box)
            label.setWordWrap(True)
            choice.note_text = QPlainTextEdit(box)
            choice.note_text.setTabChangesFocus(True)
            choice.note_text.setAccessibleName(label.text())
            choice.note_text.setMaximumHeight(self.fontMetrics().height() * 4)
            choice.note_text.setEnabled(editable)
            label.setBuddy(choice.note_text)
            choice.note_text.textChanged.connect(self._update_save)
            grid.addWidget(label, 5, 0, 1, len(c.values))
            grid.addWidget(choice.note_text, 6, 0, 1, len(c.values))
            group.idClicked.connect(lambda i, ch=choice: self._prefill_note(ch, i))
        for row in range(1, 5):  # each value's words sit close under it
            grid.setRowStretch(row, 0)
        grid.setRowStretch(7, 1)
        group.idClicked.connect(lambda _i: self._update_save())
        self.choices.append(choice)
        self.body_layout.addWidget(box)

    def _add_withdrawal(self, c: Conflict) -> None:
        box = QFrame(self.body)
        box.setFrameShape(QFrame.Shape.StyledPanel)
        inner = QVBoxLayout(box)
        text = QLabel(self.tr(
            "This record was withdrawn in one place while it was changed in another. A "
            "withdrawn record stays withdrawn: confirm the withdrawal, with a reason, and "
            "the change made meanwhile stays in its history."), box)
        text.setWordWrap(True)
        inner.addWidget(text)
        for v in c.values:
            what = (self.tr("Withdrawn") if v.value == "withdrawn"
                    else self.tr("Changed without seeing the withdrawal"))
            line = QLabel(f"{what} · {self._who(v)}" + (
                " · " + self.tr("Reason: %1").replace("%1", v.note) if v.note else ""), box)
            line.setWordWrap(True)
            line.setTextFormat(Qt.TextFormat.PlainText)
            inner.addWidget(line)
        self.body_layout.addWidget(box)
        self.save_button.setText(self.tr("Confirm the withdrawal"))
        self.save_button.setAccessibleName(self.save_button.text())

    def _may_settle(self, c: Conflict) -> bool:
        detail, team = self.detail, self.team
        if detail is None or team is None:
            return False
        if c.entity == "decision":
            return not detail.read_only
        if c.field == "owner_id":
            return team.is_manager
        holder = next((fu.owner_id for fu in detail.followups
                       if fu.followup_id == c.entity_id), "")
        return team.is_me(holder) or team.is_manager

    def _typed_new(self, radio: QRadioButton) -> None:
        if not radio.isChecked():
            radio.setChecked(True)
        self._update_save()

    def _prefill_note(self, choice: FieldChoice, chosen: int) -> None:
        if choice.note_text is not None and 0 <= chosen < len(choice.notes):
            choice.note_text.setPlainText(choice.notes[chosen])

    def _update_save(self) -> None:
        settle = [c for c in self.choices if self._may_settle(c.conflict)]
        if self._withdrawal_shown():
            ready = self.detail is not None and not self.detail.read_only
        else:
            ready = bool(settle) and all(c.answer() is not None for c in settle)
        if not self.reason.isHidden() and not self.reason.toPlainText().strip():
            ready = False
        self.save_button.setEnabled(ready and not self._saving)

    def _withdrawal_shown(self) -> bool:
        return self.detail is not None and "status" in self.detail.conflicts

    # -- saving ------------------------------------------------------------------------------
    def answers(self) -> tuple[dict[str, Any], list[tuple[str, str, Any, str]]]:
        """(the record's chosen values, [(follow-up id, field, value, note)])."""
        record: dict[str, Any] = {}
        followups: list[tuple[str, str, Any, str]] = []
        reason = self.reason.toPlainText().strip()
        for choice in self.choices:
            c = choice.conflict
            answer = choice.answer() if self._may_settle(c) else None
            if answer is None:
                continue
            value, note = answer
            if c.entity == "decision":
                record[c.field] = value
            else:
                followups.append((c.entity_id, c.field, value,
                                  reason if c.field in ("due_date", "owner_id") else note))
        if self._withdrawal_shown():
            record["status"] = "withdrawn"
        return record, followups

    def save(self) -> None:
        if self.detail is None or not self.save_button.isEnabled():
            return
        record, followups = self.answers()
        reason = self.reason.toPlainText().strip()
        rid, heads = self.record_id, self.detail.heads
        shown = {fu.followup_id: fu.heads for fu in self.detail.followups}

        def write(service: Any) -> None:
            seen = dict(shown)
            for fid, name, value, note in followups:
                seen[fid] = (service.resolve_followup(fid, name, value, note,
                                                      parents=seen[fid]),)
            if record:
                service.resolve_record(rid, record, reason, parents=heads)

        self._saving = True
        self._update_save()
        self.error.hide()
        self.bridge.write(write, self._saved, self._save_failed)

    def _saved(self, _result: object) -> None:
        self._saving = False
        self.resolved.emit(self.record_id)
        self.accept()

    def _save_failed(self, exc: BaseException) -> None:
        self._saving = False
        dialogs.show_message(self.error, dialogs.error_text(exc))
        self.load()  # a part may have been saved, or the record changed meanwhile


def open_conflict(parent: QWidget, bridge: Any, record_id: str, *,
                  followup_id: str = "") -> ConflictDialog:
    """Show the side-by-side view of a record's conflicts (modeless: the list stays live)."""
    dialog = ConflictDialog(bridge, record_id, parent, followup_id=followup_id)
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dialog.setWindowModality(Qt.WindowModality.WindowModal)
    dialog.show()
    return dialog
