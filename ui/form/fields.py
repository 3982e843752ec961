"""Building blocks of the decision form: a field with its message, labelled rows,
choice boxes, yes/no grids, and one way to read, write and clear any answer widget.

Every answer widget is bound to the ``DecisionRecord`` attribute of the same name,
so the form reads, loads, resets and watches its answers in one loop each instead
of one hand-written list per job.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from typing import Any

from PySide6.QtCore import QDateTime, QEvent, SignalInstance
from PySide6.QtWidgets import (
    QComboBox,
    QDateTimeEdit,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from ui.form.controls import ChoiceBox, YesNoBox
from ui.widgets.resources import mark

ISO_MINUTES = "yyyy-MM-ddTHH:mm"
LABEL_CHARS = 28  # the label column, in average characters: the same in every section


class Field(QWidget):
    """One input with the small red message that explains what is wrong with it."""

    def __init__(self, editor: QWidget, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.editor = editor
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(editor)
        self.error = message_label(self.tr("Problem"), self)
        layout.addWidget(self.error)
        self._hint = editor.accessibleDescription()  # how to answer it (a yes/no box's keys)

    def set_problems(self, messages: list[str]) -> None:
        text = "\n".join(messages)
        self.error.setText(text)
        self.error.setVisible(bool(messages))
        self.editor.setAccessibleDescription("\n".join(t for t in (text, self._hint) if t))


def message_label(name: str, parent: QWidget) -> QLabel:
    """A hidden red message that wraps; shown when there is something to say."""
    label = QLabel(parent)
    mark(label, "error")
    label.setWordWrap(True)
    label.setVisible(False)
    label.setAccessibleName(name)
    return label


def form_label(text: str, parent: QWidget) -> QLabel:
    """A row label as wide as the label column, so a wrapped label gets the height it needs.

    QFormLayout sizes a row for the label laid out at the column width but places the
    label at its own preferred width; a word-wrapped label prefers to be narrower and
    then wraps onto more lines than its row has room for. A fixed width ends that.
    """
    label = QLabel(text, parent)
    label.setWordWrap(True)
    label.setFixedWidth(label.fontMetrics().averageCharWidth() * LABEL_CHARS)
    label.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Preferred)
    return label


def section(title: str, parent: QWidget) -> tuple[QGroupBox, QFormLayout]:
    box = QGroupBox(title, parent)
    box.setAccessibleName(title)
    form = QFormLayout(box)
    form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
    form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
    return box, form


def note(form: QFormLayout, text: str, parent: QWidget) -> QLabel:
    label = QLabel(text, parent)
    label.setWordWrap(True)
    mark(label, "note")
    form.addRow(label)
    return label


def choice_box(parent: QWidget, choices: Mapping[Any, str], *, placeholder: str | None,
               tr: Callable[[str], str]) -> ChoiceBox:
    """A drop-down whose first letters answer it (``ui.form.controls.ChoiceBox``)."""
    return ChoiceBox(parent, choices, placeholder=placeholder, tr=tr)


def set_choice(combo: QComboBox, value: str) -> None:
    index = combo.findData(value)
    combo.setCurrentIndex(index if index >= 0 else 0)


class GrowingTextBox(QPlainTextEdit):
    """A text answer as tall as what is written in it, from ``lines`` lines up to three
    times that, then it scrolls: short answers leave room for the next questions (at
    1366x768 a page of boxes at their tallest showed one section and a half)."""

    def __init__(self, parent: QWidget, lines: int) -> None:
        super().__init__(parent)
        self._lines = lines
        self.setTabChangesFocus(True)  # Tab moves on: the form is used by keyboard alone
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        layout = self.document().documentLayout()
        layout.documentSizeChanged.connect(lambda _size: self._fit())
        self._fit()

    def _fit(self) -> None:
        # A plain-text layout measures its document in lines (wrapped lines counted).
        shown = int(self.document().documentLayout().documentSize().height())
        lines = min(max(shown, self._lines), self._lines * 3)
        margins = self.contentsMargins()
        height = (lines * self.fontMetrics().lineSpacing()
                  + 2 * int(self.document().documentMargin())
                  + margins.top() + margins.bottom() + 2)
        if height != self.height():
            self.setFixedHeight(height)

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt's name
        super().changeEvent(event)
        if event.type() == QEvent.Type.FontChange:
            self._fit()


def text_box(parent: QWidget, lines: int = 3) -> QPlainTextEdit:
    return GrowingTextBox(parent, lines)


def yes_no_grid(parent: QWidget, choices: Mapping[str, str], columns: int, name: str,
                tr: Callable[[str], str]) -> tuple[QWidget, dict[str, YesNoBox]]:
    """A yes / no / not answered box for each choice, labelled, in a grid; each says its
    group in its accessible name."""
    holder = QWidget(parent)
    grid = QGridLayout(holder)
    grid.setContentsMargins(0, 0, 0, 0)
    grid.setHorizontalSpacing(12)
    boxes: dict[str, YesNoBox] = {}
    for i, (key, label) in enumerate(choices.items()):
        box = YesNoBox(holder, tr)
        box.setAccessibleName(f"{name}: {tr(label)}")
        caption = QLabel(tr(label), holder)
        caption.setBuddy(box)
        row, column = divmod(i, columns)
        grid.addWidget(caption, row, 2 * column)
        grid.addWidget(box, row, 2 * column + 1)
        boxes[key] = box
    for column in range(columns):
        grid.setColumnStretch(2 * column + 1, 1)
    return holder, boxes


# -- one answer widget, whatever its kind --------------------------------------------
def read_answer(editor: QWidget) -> Any:
    if isinstance(editor, YesNoBox):
        return editor.value()
    if isinstance(editor, QPlainTextEdit):
        return editor.toPlainText().strip()
    if isinstance(editor, QLineEdit):
        return editor.text().strip()
    if isinstance(editor, QComboBox):
        return str(editor.currentData())
    if isinstance(editor, QDateTimeEdit):
        return editor.dateTime().toString(ISO_MINUTES)
    raise TypeError(type(editor).__name__)


def write_answer(editor: QWidget, value: Any) -> None:
    if isinstance(editor, YesNoBox):
        editor.set_value(value if value is None else bool(value))
    elif isinstance(editor, QPlainTextEdit):
        editor.setPlainText(str(value))
    elif isinstance(editor, QLineEdit):
        editor.setText(str(value))
    elif isinstance(editor, QComboBox):
        set_choice(editor, str(value))
    elif isinstance(editor, QDateTimeEdit):
        if value:  # an empty time leaves the box as it is
            _set_iso(editor, str(value))
    else:
        raise TypeError(type(editor).__name__)


def clear_answer(editor: QWidget) -> None:
    """Back to unanswered (a date and time box: to now)."""
    if isinstance(editor, QPlainTextEdit | QLineEdit):
        editor.clear()
    elif isinstance(editor, QComboBox):
        editor.setCurrentIndex(0)
    elif isinstance(editor, QDateTimeEdit):
        editor.setDateTime(QDateTime.currentDateTime())
    else:
        raise TypeError(type(editor).__name__)


def answer_changed(editor: QWidget) -> SignalInstance:
    """The signal a person's edit emits (a line edit's ``textEdited``: not our own loads)."""
    if isinstance(editor, QPlainTextEdit):
        return editor.textChanged
    if isinstance(editor, QLineEdit):
        return editor.textEdited
    if isinstance(editor, QComboBox):
        return editor.currentIndexChanged
    if isinstance(editor, QDateTimeEdit):
        return editor.dateTimeChanged
    raise TypeError(type(editor).__name__)


def _set_iso(edit: QDateTimeEdit, value: str) -> None:
    try:
        when = dt.datetime.fromisoformat(value)
    except ValueError:
        edit.setDateTime(QDateTime.currentDateTime())
        return
    edit.setDateTime(QDateTime.fromString(when.strftime("%Y-%m-%dT%H:%M"), ISO_MINUTES))
