"""Input widgets that behave the way a keyboard and a scrolling mouse expect.

- ``DateBox`` and ``DateTimeField``: Tab leaves them at once. Qt's date boxes use
  Tab to step between day, month and year, and a box showing special text
  ("Any date") never lets go.
  The arrow keys still move between the parts.
- ``guard_wheel``: the mouse wheel over a drop-down or date box that does not have
  the keyboard focus scrolls the page instead of changing the answer unseen.
"""

from __future__ import annotations

import functools

from PySide6.QtCore import QCoreApplication, QEvent, QObject, Qt
from PySide6.QtWidgets import (
    QAbstractScrollArea,
    QAbstractSpinBox,
    QDateEdit,
    QDateTimeEdit,
    QWidget,
)


class DateBox(QDateEdit):
    def focusNextPrevChild(self, next: bool) -> bool:  # noqa: A002, N802 - Qt's names
        return QAbstractSpinBox.focusNextPrevChild(self, next)


class DateTimeField(QDateTimeEdit):
    """The form's date and time box: Tab leaves it, the wheel needs the focus."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setDisplayFormat("yyyy-MM-dd HH:mm")
        self.setCalendarPopup(True)
        guard_wheel(self)

    focusNextPrevChild = DateBox.focusNextPrevChild  # noqa: N815 - Qt's name


class _WheelGuard(QObject):
    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt's name
        if (event.type() == QEvent.Type.Wheel and isinstance(watched, QWidget)
                and not watched.hasFocus()):
            # Given to the scroll area around the box, so the page scrolls.
            area = watched.parentWidget()
            while area is not None and not isinstance(area, QAbstractScrollArea):
                area = area.parentWidget()
            if area is not None:
                QCoreApplication.sendEvent(area.viewport(), event)
            return True
        return False


@functools.cache
def _wheel_guard() -> _WheelGuard:
    return _WheelGuard()  # one for every box, made once a QApplication exists


def guard_wheel(widget: QWidget) -> None:
    """Only a focused ``widget`` answers the wheel; a click or Tab gives it the focus."""
    widget.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
    widget.installEventFilter(_wheel_guard())
