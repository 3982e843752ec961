"""The form's answer controls: every answer explicit, quick by keyboard, never flipped by
a stray key.

- ``ChoiceBox``: a drop-down that starts unanswered. Typing the first letters of an
  answer chooses it; when the letters fit one answer only, ``answered`` is emitted (the
  form then moves on to the next question). Delete or Backspace makes it unanswered
  again. Space opens the list, as in any drop-down: it never changes the answer.
- ``YesNoBox``: yes / no / not answered, for the flow's judgements and the seven tests.
  Y and N answer, U (or Delete) takes the answer back. A check box flips on a Space
  typed after a miscounted Tab; this cannot.
- ``CategoryList``: the categories as one list (one Tab stop). The arrow keys or a
  first letter pick a category, Space ticks or unticks the one picked; Space on
  arrival, before anything is picked, does nothing.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QFocusEvent, QKeyEvent, QResizeEvent, QStandardItem, QStandardItemModel
from PySide6.QtWidgets import QComboBox, QListView, QWidget

from ui.widgets.inputs import guard_wheel

TYPED_PAUSE_S = 1.0  # letters typed closer together than this search together


def _plain_key(event: QKeyEvent) -> str:
    """The character a key typed, when it was typed without Ctrl, Alt or Meta."""
    blocked = (Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.AltModifier
               | Qt.KeyboardModifier.MetaModifier)
    if event.modifiers() & blocked:
        return ""
    text = event.text()
    return text if len(text) == 1 and text.isprintable() and not text.isspace() else ""


class ChoiceBox(QComboBox):
    """A drop-down of answers; the first item (data "") means not answered yet."""

    answered = Signal()  # a typed choice that fits one answer only

    def __init__(self, parent: QWidget | None, choices: Mapping[Any, str], *,
                 placeholder: str | None, tr: Callable[[str], str]) -> None:
        super().__init__(parent)
        guard_wheel(self)
        self.has_placeholder = placeholder is not None
        if placeholder is not None:
            self.addItem(placeholder, "")
        for key, label in choices.items():
            self.addItem(tr(label), str(key))
        self._typed = ""
        self._typed_at = 0.0

    def answer_items(self) -> range:
        return range(1 if self.has_placeholder else 0, self.count())

    def choose_typed(self, char: str) -> bool:
        """Letters typed so far choose the first answer they begin; True when it is the only
        one they fit."""
        now = time.monotonic()
        typed = (self._typed if now - self._typed_at < TYPED_PAUSE_S else "") + char.casefold()
        self._typed_at = now
        matches = [i for i in self.answer_items()
                   if self.itemText(i).casefold().startswith(typed)]
        if not matches and len(typed) > 1:  # a new word: start again from this letter
            typed = char.casefold()
            matches = [i for i in self.answer_items()
                       if self.itemText(i).casefold().startswith(typed)]
        self._typed = typed
        if not matches:
            return False
        self.setCurrentIndex(matches[0])
        return len(matches) == 1

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 - Qt's name
        if self.has_placeholder and event.key() in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace):
            self.setCurrentIndex(0)
            return
        char = _plain_key(event)
        if char:
            if self.choose_typed(char):
                self.answered.emit()
            return
        super().keyPressEvent(event)


YES, NO = "yes", "no"


class YesNoBox(ChoiceBox):
    """Yes, no, or not answered: ``value()`` is True, False or None."""

    def __init__(self, parent: QWidget | None, tr: Callable[[str], str], *,
                 yes: str = "Yes", no: str = "No") -> None:
        super().__init__(parent, {YES: yes, NO: no}, placeholder=tr("(not answered)"), tr=tr)
        self.all_key: Callable[[], None] | None = None  # what "A" does (the seven tests)
        self.setAccessibleDescription(tr("Type Y for yes, N for no, U to take the answer "
                                         "back."))

    def value(self) -> bool | None:
        data = self.currentData()
        return True if data == YES else False if data == NO else None

    def set_value(self, value: bool | None) -> None:
        self.setCurrentIndex(0 if value is None else self.findData(YES if value else NO))

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 - Qt's name
        char = _plain_key(event).casefold()
        if char in ("y", "n"):
            self.set_value(char == "y")
            self.answered.emit()
        elif char == "u":
            self.set_value(None)
        elif char == "a" and self.all_key is not None:
            self.all_key()
        elif char:
            return  # other letters answer nothing here
        else:
            super().keyPressEvent(event)


class CategoryList(QListView):
    """Categories to tick, in one list that flows into columns."""

    changed = Signal()

    def __init__(self, parent: QWidget | None, choices: Mapping[str, str],
                 tr: Callable[[str], str]) -> None:
        super().__init__(parent)
        self.items = QStandardItemModel(self)
        for key, label in choices.items():
            item = QStandardItem(tr(label))
            item.setData(key, Qt.ItemDataRole.UserRole)
            item.setCheckable(True)
            item.setEditable(False)
            item.setCheckState(Qt.CheckState.Unchecked)
            self.items.appendRow(item)
        self.setModel(self.items)
        self.setFlow(QListView.Flow.LeftToRight)
        self.setWrapping(True)
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setSelectionMode(QListView.SelectionMode.NoSelection)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self._picked = False  # has the person picked a category since arriving?
        self._ticked: list[str] = []
        self.items.itemChanged.connect(self._item_changed)
        self.setAccessibleDescription(tr(
            "Arrow keys or a first letter pick a category; Space ticks or unticks it."))

    def _item_changed(self) -> None:
        ticked = self.values()  # an item's size changing is not an answer changing
        if ticked != self._ticked:
            self._ticked = ticked
            self.changed.emit()

    # -- values ---------------------------------------------------------------------
    def values(self) -> list[str]:
        return [str(self.items.item(i).data(Qt.ItemDataRole.UserRole))
                for i in range(self.items.rowCount())
                if self.items.item(i).checkState() == Qt.CheckState.Checked]

    def set_values(self, keys: list[str]) -> None:
        for i in range(self.items.rowCount()):
            item = self.items.item(i)
            item.setCheckState(Qt.CheckState.Checked
                               if item.data(Qt.ItemDataRole.UserRole) in keys
                               else Qt.CheckState.Unchecked)

    def item_for(self, key: str) -> QStandardItem:
        for i in range(self.items.rowCount()):
            if self.items.item(i).data(Qt.ItemDataRole.UserRole) == key:
                return self.items.item(i)
        raise KeyError(key)

    # -- keyboard -------------------------------------------------------------------
    def focusInEvent(self, event: QFocusEvent) -> None:  # noqa: N802 - Qt's name
        super().focusInEvent(event)
        self._picked = False
        # Nothing is picked on arrival, so a Space then cannot tick what happens to be first.
        self.selectionModel().clearCurrentIndex()

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 - Qt's name
        key = event.key()
        if key in (Qt.Key.Key_Space, Qt.Key.Key_Select):
            current = self.currentIndex()
            if self._picked and current.isValid():
                item = self.items.itemFromIndex(current)
                item.setCheckState(Qt.CheckState.Unchecked
                                   if item.checkState() == Qt.CheckState.Checked
                                   else Qt.CheckState.Checked)
            return
        super().keyPressEvent(event)
        if self.currentIndex().isValid():
            self._picked = True

    def keyboardSearch(self, search: str) -> None:  # noqa: N802 - Qt's name
        super().keyboardSearch(search)
        if self.currentIndex().isValid():
            self._picked = True

    def mousePressEvent(self, event: Any) -> None:  # noqa: N802 - Qt's name
        super().mousePressEvent(event)
        self._picked = True

    # -- size: every category in view, however wide the form ------------------------------
    def _item_size(self) -> QSize:
        metrics = self.fontMetrics()
        width = max(metrics.horizontalAdvance(self.items.item(i).text())
                    for i in range(self.items.rowCount())) + 4 * metrics.averageCharWidth() + 24
        return QSize(width, metrics.height() + 10)

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt's name
        super().resizeEvent(event)
        size = self._item_size()
        if self.gridSize() != size:
            self.setGridSize(size)
            for i in range(self.items.rowCount()):
                self.items.item(i).setSizeHint(size)
        columns = max(1, self.viewport().width() // size.width())
        rows = -(-self.items.rowCount() // columns)
        height = rows * size.height() + 2 * self.frameWidth() + 4
        if self.height() != height:
            self.setFixedHeight(height)

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt's name
        size = self._item_size()
        return QSize(size.width() * 3, size.height() * (-(-self.items.rowCount() // 3)) + 6)
