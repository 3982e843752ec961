"""File > Change passphrase…: the current passphrase, a new one twice, then a rekey.

Nothing runs until the new passphrase is strong enough and typed the same twice; the
rekey (two key derivations and a re-encryption of every page) runs on the vault
worker through the bridge, and the dialog stays busy until it reports back.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QCoreApplication, QObject, Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.session import WrongPassphrase

# The create page's strength rules and score, so both screens judge a passphrase alike.
from ui.vault.pages import check_passphrase_strength, strength_advice
from ui.widgets.dialogs import buddy_label, error_label, show_message
from ui.widgets.errors import user_message


class _Progress(QObject):
    """Carries the rekey's stage names from the vault worker to the UI thread (queued)."""

    stage = Signal(str)

    def report(self, stage: str) -> None:
        try:
            self.stage.emit(stage)
        except RuntimeError:  # the dialog is gone; a display problem must never abort a rekey
            pass


class ChangePassphraseDialog(QDialog):
    """Window-modal, drivable without ``exec()``; ``changed`` fires after a successful rekey."""

    changed = Signal()

    def __init__(self, bridge: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.bridge = bridge
        self.busy = False
        self.done_ok = False
        title = self.tr("Change passphrase")
        self.setWindowTitle(title)
        self.setAccessibleName(title)
        intro = QLabel(self.tr(
            "Your passphrase is the only way to open your records. Sharelog cannot recover "
            "it, so choose one you will remember."), self)
        intro.setWordWrap(True)

        self.current = self._password(self.tr("Current passphrase"))
        self.new = self._password(self.tr("New passphrase"))
        self.new.setPlaceholderText(self.tr("A few unrelated words work well"))
        self.confirm = self._password(self.tr("New passphrase again"))
        self.current_error = error_label(self, self.tr("Current passphrase problem"))
        self.new_error = error_label(self, self.tr("New passphrase problem"))
        self.confirm_error = error_label(self, self.tr("New passphrase again problem"))
        self.strength = QProgressBar(self)
        self.strength.setRange(0, 4)
        self.strength.setTextVisible(False)
        self.strength.setMaximumHeight(8)
        self.strength.setAccessibleName(self.tr("Passphrase strength"))
        self.strength_label = QLabel(self)
        self.strength_label.setWordWrap(True)
        self.strength_label.setAccessibleName(self.tr("Passphrase advice"))
        self.match_label = QLabel(self)
        self.match_label.setAccessibleName(self.tr("Whether the passphrases match"))

        form = QFormLayout()
        form.addRow(buddy_label(self, self.tr("&Current passphrase"), self.current), self.current)
        form.addRow("", self.current_error)
        form.addRow(buddy_label(self, self.tr("&New passphrase"), self.new), self.new)
        form.addRow("", self.strength)
        form.addRow("", self.strength_label)
        form.addRow("", self.new_error)
        form.addRow(buddy_label(self, self.tr("New passphrase &again"), self.confirm), self.confirm)
        form.addRow("", self.match_label)
        form.addRow("", self.confirm_error)

        self.working = QProgressBar(self)
        self.working.setRange(0, 0)  # busy: the rekey reports stages, not a fraction
        self.working.setTextVisible(False)
        self.working.setAccessibleName(self.tr("Changing the passphrase"))
        self.working.hide()
        self.status = QLabel(self)
        self.status.setWordWrap(True)
        self.status.setAccessibleName(self.tr("Passphrase change status"))
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel, self)
        self.change_button = QPushButton(self.tr("Change passphrase"), self)
        self.change_button.setDefault(True)
        self.buttons.addButton(self.change_button, QDialogButtonBox.ButtonRole.AcceptRole)
        self.cancel_button = self.buttons.button(QDialogButtonBox.StandardButton.Cancel)
        for button in self.buttons.buttons():
            button.setAccessibleName(button.text().replace("&", ""))
        self.buttons.accepted.connect(self.submit)
        self.buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(form)
        layout.addWidget(self.working)
        layout.addWidget(self.status)
        layout.addWidget(self.buttons)
        self._progress = _Progress()  # no parent: the worker's callback keeps it alive
        self._progress.stage.connect(self._on_stage)
        self.current.textEdited.connect(lambda _t: show_message(self.current_error, ""))
        self.new.textChanged.connect(self.update_feedback)
        self.confirm.textChanged.connect(self.update_feedback)
        self.setTabOrder(self.current, self.new)
        self.setTabOrder(self.new, self.confirm)
        self.setTabOrder(self.confirm, self.change_button)
        self.update_feedback()
        self.current.setFocus()
        self.resize(460, self.sizeHint().height())

    # -- building ---------------------------------------------------------------
    def _password(self, name: str) -> QLineEdit:
        field = QLineEdit(self)
        field.setEchoMode(QLineEdit.EchoMode.Password)
        field.setAccessibleName(name)
        return field




    # -- feedback while typing -------------------------------------------------------
    def update_feedback(self) -> None:
        phrase = self.new.text()
        score, advice, word = strength_advice(phrase)
        self.strength.setValue(score)
        self.strength.setAccessibleDescription(word)
        self.strength_label.setText(advice)
        if not check_passphrase_strength(phrase):
            show_message(self.new_error, "")
        matches = bool(phrase) and phrase == self.confirm.text()
        if self.confirm.text() and not matches:
            self.match_label.setText(self.tr("The two passphrases are different."))
        elif matches:
            self.match_label.setText(self.tr("The passphrases match."))
            show_message(self.confirm_error, "")
        else:
            self.match_label.clear()

    # -- running ------------------------------------------------------------------
    def problems(self) -> dict[QLineEdit, str]:
        """What stops the change, by the field it is about (empty = ready to run)."""
        found: dict[QLineEdit, str] = {}
        if not self.current.text():
            found[self.current] = self.tr("Enter the passphrase you use now.")
        new = self.new.text()
        weak = check_passphrase_strength(new)
        if weak:
            found[self.new] = "\n".join(QCoreApplication.translate("vault", p) for p in weak)
        elif new == self.current.text():
            found[self.new] = self.tr("Choose a passphrase different from the current one.")
        if new != self.confirm.text():
            found[self.confirm] = self.tr(
                "The two new passphrases are different. Type the same passphrase twice.")
        return found

    def submit(self) -> None:
        if self.busy:
            return
        if self.done_ok:
            self.accept()
            return
        show_message(self.status, "")
        found = self.problems()
        for field, label in ((self.current, self.current_error), (self.new, self.new_error),
                             (self.confirm, self.confirm_error)):
            show_message(label, found.get(field, ""))
        if found:
            first = next(iter(found))
            first.setFocus()
            first.selectAll()
            return
        old, new = self.current.text(), self.new.text()
        report = self._progress.report
        self._set_busy(True)
        self._on_stage("checking")
        self.bridge.write(lambda service: service.change_passphrase(old, new, report),
                          self._on_changed, self._on_failed, changes=())

    def _set_busy(self, busy: bool) -> None:
        self.busy = busy
        for field in (self.current, self.new, self.confirm):
            field.setReadOnly(busy)
        self.change_button.setEnabled(not busy)
        self.cancel_button.setEnabled(not busy)
        self.working.setVisible(busy)

    def _on_stage(self, stage: str) -> None:
        if not self.busy:
            return
        texts = {
            "checking": self.tr("Checking your current passphrase…"),
            "rekeying": self.tr("Re-encrypting your records with the new passphrase. "
                                "Please keep Sharelog open."),
        }
        show_message(self.status, texts.get(stage, self.tr("Finishing…")))

    def _on_changed(self, _result: object) -> None:
        self._set_busy(False)
        self.done_ok = True
        self._clear_fields()
        for field in (self.current, self.new, self.confirm):
            field.setEnabled(False)
        self.change_button.hide()
        self.cancel_button.setText(self.tr("Close"))
        self.cancel_button.setAccessibleName(self.tr("Close"))
        self.cancel_button.setDefault(True)
        self.cancel_button.setFocus()
        show_message(self.status, self.tr(
            "Your passphrase has been changed. Use the new one the next time you unlock "
            "Sharelog."))
        self.changed.emit()

    def _on_failed(self, exc: BaseException) -> None:
        self._set_busy(False)
        if isinstance(exc, WrongPassphrase):
            # The same words the unlock screen uses; nothing was changed.
            show_message(self.status, "")
            show_message(self.current_error, user_message(exc))
            self.current.setFocus()
            self.current.selectAll()
            return
        show_message(self.status, user_message(exc) + "\n" + self.tr(
            "Your passphrase has not been changed."))

    def _clear_fields(self) -> None:
        for field in (self.current, self.new, self.confirm):
            field.clear()

    # -- closing ------------------------------------------------------------------
    def reject(self) -> None:
        # A rekey cannot be stopped half way; the dialog stays to report how it ended,
        # even when the window locks meanwhile (it shows no record content).
        if self.busy:
            return
        super().reject()

    def done(self, result: int) -> None:
        self._clear_fields()
        super().done(result)


def open_change_passphrase(parent: QWidget, bridge: Any) -> ChangePassphraseDialog:
    for existing in parent.findChildren(ChangePassphraseDialog):
        if existing.isVisible():
            existing.raise_()
            existing.activateWindow()
            return existing
    dialog = ChangePassphraseDialog(bridge, parent)
    dialog.finished.connect(dialog.deleteLater)
    dialog.open()
    return dialog
