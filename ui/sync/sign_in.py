"""Sign in to your team's store: address (preset when known), user name, password.

The network half (``app.sync.account.enrol_device``) runs on the bridge's task pool, so a
slow store never queues behind a save; the vault half (``account.join``) on the vault
worker. The password lives only in the field and in that one call.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QCoreApplication, Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.sync import account
from ui.widgets.dialogs import error_label


def sign_in_message(error: BaseException) -> str:
    """Sharelog's words for a failed sign-in; nothing else is ever shown."""
    if isinstance(error, account.SignInError):
        return str(error)
    return QCoreApplication.translate(
        "SignInDialog", "Sharelog could not sign you in. Nothing in your vault has changed; "
        "try again, and if it happens again tell your administrator.")


class SignInDialog(QDialog):
    """Emits ``signed_in`` with the store's ``Me`` once the vault keeps the account."""

    signed_in = Signal(object)

    def __init__(self, bridge: Any, preset: str | None = None, *, known: str | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.bridge = bridge
        self.busy = False
        self._closing = False
        title = self.tr("Sign in to your team's store")
        self.setWindowTitle(title)
        self.setAccessibleName(title)
        intro = QLabel(self.tr(
            "Signing in lets Sharelog sync this vault with your team's store whenever there "
            "is a connection. Your records stay on this computer too. You sign in once."),
            self)
        intro.setWordWrap(True)
        self.address = QLineEdit(self)
        self.address.setAccessibleName(self.tr("Store address"))
        self.address.setPlaceholderText("https://store.example.org")
        self.address.setText(known or preset or "")
        self.username = QLineEdit(self)
        self.username.setAccessibleName(self.tr("User name"))
        self.password = QLineEdit(self)
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.password.setAccessibleName(self.tr("Password"))
        form = QFormLayout()
        form.addRow(self.tr("Store address"), self.address)
        form.addRow(self.tr("User name"), self.username)
        form.addRow(self.tr("Password"), self.password)
        self.message = error_label(self, self.tr("Sign-in message"), hidden=False)
        self.button = QPushButton(self.tr("Sign in"), self)
        self.button.setAccessibleName(self.tr("Sign in"))
        self.button.setDefault(True)
        cancel = QPushButton(self.tr("Cancel"), self)
        cancel.setAccessibleName(self.tr("Cancel"))
        buttons = QDialogButtonBox(self)
        buttons.addButton(self.button, QDialogButtonBox.ButtonRole.AcceptRole)
        buttons.addButton(cancel, QDialogButtonBox.ButtonRole.RejectRole)
        self.button.clicked.connect(self.submit)
        cancel.clicked.connect(self.reject)
        for field in (self.address, self.username, self.password):
            field.textChanged.connect(self._update)
        self.password.returnPressed.connect(self.submit)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(form)
        layout.addWidget(self.message)
        layout.addWidget(buttons)
        self.resize(480, self.sizeHint().height())
        self._update()
        (self.username if self.address.text() else self.address).setFocus()

    def _update(self) -> None:
        ready = all(f.text().strip() for f in (self.address, self.username)) \
            and bool(self.password.text())
        self.button.setEnabled(ready and not self.busy)
        for field in (self.address, self.username, self.password):
            field.setReadOnly(self.busy)

    def submit(self) -> None:
        self._update()
        if not self.button.isEnabled():
            return
        service = self.bridge.service
        if service is None:
            return
        # In memory, not the vault file: safe to read here and hand to the network call.
        identity, key = service.identity, service.device_public_key
        url, user, word = self.address.text().strip(), self.username.text(), self.password.text()
        self.busy = True
        self._update()
        self.message.setText(self.tr("Signing in…"))
        self.bridge.task(lambda: account.enrol_device(identity, key, url, user, word),
                         self._enrolled, self._failed)

    def _enrolled(self, joined: account.Joined) -> None:
        self.bridge.write(lambda service: account.join(service, joined), self._joined,
                          self._failed)

    def _joined(self, me: Any) -> None:
        self.busy = False
        self.password.clear()
        self.message.clear()
        self.signed_in.emit(me)
        if self._closing:
            super().reject()
        else:
            self.accept()

    def _failed(self, error: BaseException) -> None:
        self.busy = False
        if self._closing:
            super().reject()
            return
        self.message.setText(sign_in_message(error))
        self._update()
        self.password.selectAll()
        self.password.setFocus()

    def reject(self) -> None:
        if self.busy:  # Cancel, Esc or a lock: the answer is on its way; go when it comes
            self._closing = True
            self.password.clear()
            self.hide()
            return
        super().reject()
