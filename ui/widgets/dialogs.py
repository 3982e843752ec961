"""Small dialogs shared by the panels: a required reason, a new date with an optional reason.

The dialog classes can be driven without ``exec()`` (tests, keyboard checks); the
``ask_*`` functions are the blocking conveniences the panels use.
"""

from __future__ import annotations

import datetime as dt

from PySide6.QtCore import QCoreApplication, QDate, QEvent, QObject, Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QAbstractButton,
    QDialog,
    QDialogButtonBox,
    QLabel,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ui.widgets.inputs import DateBox
from ui.widgets.resources import mark

_PRIMARY_ROLES = (QDialogButtonBox.ButtonRole.AcceptRole, QDialogButtonBox.ButtonRole.YesRole)


def primary_button(dialog: QDialog) -> QAbstractButton | None:
    """The button that does what the dialog is for (OK, Save, Mark done, Continue…):
    the first visible one with an accept or yes role. Never Cancel, Back or Close."""
    for box in dialog.findChildren(QDialogButtonBox):
        for button in box.buttons():
            if box.buttonRole(button) in _PRIMARY_ROLES and button.isVisibleTo(dialog):
                return button
    return None


class CtrlEnterAccepts(QObject):
    """Ctrl+Enter presses the main button of whichever dialog has the keyboard, from any
    of its fields (a multi-line reason too, where Enter is a new line).

    One filter on the application covers every dialog, Qt's own message boxes and file
    dialogs included. A disabled main button stays disabled: the key then does nothing.
    """

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt's name
        if event.type() != QEvent.Type.KeyPress or not isinstance(event, QKeyEvent):
            return False
        if event.key() not in (Qt.Key.Key_Return, Qt.Key.Key_Enter) \
                or not event.modifiers() & Qt.KeyboardModifier.ControlModifier:
            return False
        if not isinstance(watched, QWidget):
            return False
        dialog = watched.window()
        if not isinstance(dialog, QDialog):
            return False
        button = primary_button(dialog)
        if button is None:
            return False
        if button.isEnabled():
            button.click()
        return True


def install_dialog_keys(app: QCoreApplication) -> None:
    """Give every dialog of the application Ctrl+Enter (once per application)."""
    if app.property("sharelog_dialog_keys"):
        return
    keys = CtrlEnterAccepts(app)
    app.installEventFilter(keys)
    app.setProperty("sharelog_dialog_keys", True)


def buddy_label(parent: QWidget, text: str, buddy: QWidget) -> QLabel:
    """A form label whose &-letter moves focus to ``buddy``."""
    label = QLabel(text, parent)
    label.setBuddy(buddy)
    return label


def error_label(parent: QWidget, name: str, *, hidden: bool = True) -> QLabel:
    """A word-wrapped message in the error colour, shown beside its field."""
    label = QLabel(parent)
    label.setWordWrap(True)
    label.setAccessibleName(name)
    mark(label, "error")
    if hidden:
        label.hide()
    return label


def show_message(label: QLabel, text: str) -> None:
    """Show ``text`` in ``label``; an empty text hides it."""
    label.setText(text)
    label.setVisible(bool(text))


class ReasonDialog(QDialog):
    """Asks for a multi-line reason; OK stays disabled until something is written."""

    def __init__(self, parent: QWidget | None, title: str, prompt: str, *,
                 required: bool = True, ok_text: str | None = None, about: str = "") -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.setAccessibleName(title)
        self._required = required
        layout = QVBoxLayout(self)
        add_about(layout, about, self)
        self.prompt_label = QLabel(prompt, self)
        self.prompt_label.setWordWrap(True)
        layout.addWidget(self.prompt_label)
        self.text = QPlainTextEdit(self)
        self.text.setTabChangesFocus(True)
        self.text.setAccessibleName(prompt)
        self.prompt_label.setBuddy(self.text)
        layout.addWidget(self.text)
        self.buttons, self.ok_button = _ok_and_back(self, ok_text)
        layout.addWidget(self.buttons)
        self.text.textChanged.connect(self._update_ok)
        self._update_ok()
        self.text.setFocus()
        self.resize(420, 220)

    def _update_ok(self) -> None:
        self.ok_button.setEnabled(not self._required or bool(self.reason()))

    def reason(self) -> str:
        return self.text.toPlainText().strip()

    def accept(self) -> None:  # Ctrl+Return in the text box must not bypass the rule
        if self._required and not self.reason():
            return
        super().accept()


class DateAndReasonDialog(QDialog):
    """A new date (required, not in the past) and an optional reason."""

    def __init__(self, parent: QWidget | None, title: str, prompt: str, *,
                 current: dt.date | None = None, earliest: dt.date | None = None,
                 reason_prompt: str | None = None, ok_text: str | None = None,
                 about: str = "") -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.setAccessibleName(title)
        layout = QVBoxLayout(self)
        add_about(layout, about, self)
        label = QLabel(prompt, self)
        label.setWordWrap(True)
        layout.addWidget(label)
        self.date_edit = DateBox(self)
        self.date_edit.setCalendarPopup(True)
        self.date_edit.setDisplayFormat("yyyy-MM-dd")
        self.date_edit.setAccessibleName(prompt)
        if earliest is not None:
            self.date_edit.setMinimumDate(QDate(earliest.year, earliest.month, earliest.day))
        start = current or earliest or dt.date.today()
        self.date_edit.setDate(QDate(start.year, start.month, start.day))
        label.setBuddy(self.date_edit)
        layout.addWidget(self.date_edit)
        reason_label = QLabel(reason_prompt or self.tr("Reason (optional)"), self)
        reason_label.setWordWrap(True)
        layout.addWidget(reason_label)
        self.text = QPlainTextEdit(self)
        self.text.setTabChangesFocus(True)
        self.text.setAccessibleName(reason_label.text())
        reason_label.setBuddy(self.text)
        layout.addWidget(self.text)
        self.buttons, self.ok_button = _ok_and_back(self, ok_text)
        layout.addWidget(self.buttons)
        self.date_edit.setFocus()

    def date(self) -> dt.date:
        d = self.date_edit.date()
        return dt.date(d.year(), d.month(), d.day())

    def reason(self) -> str:
        return self.text.toPlainText().strip()


def add_about(layout: QVBoxLayout, about: str, parent: QWidget) -> None:
    """What the dialog acts on, in bold above its question (never in the title)."""
    if about:
        label = QLabel(about, parent)
        label.setTextFormat(Qt.TextFormat.PlainText)
        label.setWordWrap(True)
        font = label.font()
        font.setBold(True)
        label.setFont(font)
        layout.addWidget(label)


def _ok_and_back(dialog: QDialog, ok_text: str | None) -> tuple[QDialogButtonBox, QPushButton]:
    """The reason dialogs' row: the action (``ok_text``, else OK) and Back."""
    buttons = QDialogButtonBox(
        QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, dialog)
    ok = buttons.button(QDialogButtonBox.StandardButton.Ok)
    if ok_text:
        ok.setText(ok_text)
    ok.setAccessibleName(ok.text())
    _back_button(buttons)
    buttons.accepted.connect(dialog.accept)
    buttons.rejected.connect(dialog.reject)
    return buttons, ok


def _back_button(buttons: QDialogButtonBox) -> None:
    """'Back' rather than 'Cancel', which reads as the action beside 'Cancel follow-up'."""
    back = buttons.button(QDialogButtonBox.StandardButton.Cancel)
    back.setText(QCoreApplication.translate("dialogs", "Back"))
    back.setAccessibleName(back.text())


def ask_reason(parent: QWidget | None, title: str, prompt: str, *,
               ok_text: str | None = None, about: str = "") -> str | None:
    """A required multi-line reason, or None when the person cancels."""
    dialog = ReasonDialog(parent, title, prompt, ok_text=ok_text, about=about)
    try:
        if dialog.exec() == QDialog.DialogCode.Accepted and dialog.reason():
            return dialog.reason()
        return None
    finally:
        dialog.deleteLater()


def ask_date_and_reason(parent: QWidget | None, title: str, prompt: str, *,
                        current: dt.date | None = None, earliest: dt.date | None = None,
                        reason_prompt: str | None = None, ok_text: str | None = None,
                        about: str = "") -> tuple[dt.date, str] | None:
    """A new date and an optional reason, or None when the person cancels."""
    dialog = DateAndReasonDialog(parent, title, prompt, current=current, earliest=earliest,
                                 reason_prompt=reason_prompt, ok_text=ok_text, about=about)
    try:
        if dialog.exec() == QDialog.DialogCode.Accepted:
            return dialog.date(), dialog.reason()
        return None
    finally:
        dialog.deleteLater()


def confirm(parent: QWidget | None, title: str, text: str, *, ok_text: str) -> bool:
    """A plain yes/no question whose default is the safe answer (No)."""
    box = QMessageBox(QMessageBox.Icon.Warning, title, text,
                      QMessageBox.StandardButton.Cancel, parent)
    ok = box.addButton(ok_text, QMessageBox.ButtonRole.AcceptRole)
    ok.setAccessibleName(ok_text)
    box.setDefaultButton(QMessageBox.StandardButton.Cancel)
    box.setTextFormat(Qt.TextFormat.PlainText)
    try:
        box.exec()
        return box.clickedButton() is ok
    finally:
        box.deleteLater()


def show_error(parent: QWidget | None, title: str, text: str) -> None:
    box = QMessageBox(QMessageBox.Icon.Warning, title, text, QMessageBox.StandardButton.Ok,
                      parent)
    box.setTextFormat(Qt.TextFormat.PlainText)
    try:
        box.exec()
    finally:
        box.deleteLater()


def error_text(error: BaseException) -> str:
    """Words for a failed background call that never echo record content."""
    from PySide6.QtCore import QCoreApplication

    from app.shown_errors import is_safe_error
    from app.validation import ValidationError

    if isinstance(error, ValidationError):
        return "\n".join(p.message for p in error.problems)
    if is_safe_error(error):
        return str(error)
    return QCoreApplication.translate(
        "dialogs", "Something went wrong and the change was not made. Please try again.")
