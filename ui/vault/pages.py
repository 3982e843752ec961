"""The vault screen's two pages: unlock (the list of vaults, the passphrase) and create.

They only show and ask; ``ui.vault.screens.VaultScreen`` does the work off the UI thread.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QModelIndex, Qt, Signal
from PySide6.QtWidgets import (
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.session import RESTORE, SET_ASIDE, check_passphrase_strength, judge_passphrase
from app.vaults import VaultEntry
from ui.vault.vault_list import VaultListModel, VaultListView
from ui.widgets.dialogs import error_label
from ui.widgets.resources import app_icon


def strength_words() -> list[str]:
    tr = QCoreApplication.translate
    return [tr("CreatePage", "Too weak"), tr("CreatePage", "Weak"), tr("CreatePage", "Fair"),
            tr("CreatePage", "Good"), tr("CreatePage", "Strong")]


def strength_advice(phrase: str, user_inputs: Sequence[str] = ()) -> tuple[int, str, str]:
    """(score 0-4, advice shown under the field, one word for the meter), as on the create page.

    The advice is zxcvbn's (what makes it guessable, how to do better), never the
    passphrase itself.
    """
    strength = judge_passphrase(phrase, user_inputs)
    word = strength_words()[strength.score]
    tr = QCoreApplication.translate
    if not phrase:
        advice = tr("CreatePage", "At least 10 characters; a few unrelated words work well.")
    elif strength.problems:
        advice = "\n".join(tr("vault", p) for p in (*strength.problems, *strength.suggestions))
    else:
        advice = tr("CreatePage", "Strength: %1").replace("%1", word)
    return strength.score, advice, word


class _Card(QFrame):
    """A centred column with the app's mark, a heading and a short explanation."""

    def __init__(self, heading: str, explanation: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("vaultCard")
        self.setMaximumWidth(460)
        self.body = QVBoxLayout(self)
        self.body.setContentsMargins(32, 28, 32, 28)
        self.body.setSpacing(12)
        mark = QLabel(self)
        mark.setPixmap(app_icon().pixmap(64, 64))
        mark.setAlignment(Qt.AlignmentFlag.AlignHCenter)
        mark.setAccessibleName(self.tr("Sharelog"))
        title = QLabel(heading, self)
        title.setObjectName("cardHeading")
        title.setAlignment(Qt.AlignmentFlag.AlignHCenter)
        font = title.font()
        font.setPointSizeF(font.pointSizeF() * 1.5)
        font.setBold(True)
        title.setFont(font)
        text = QLabel(explanation, self)
        text.setWordWrap(True)
        text.setAlignment(Qt.AlignmentFlag.AlignHCenter)
        self.body.addWidget(mark)
        self.body.addWidget(title)
        self.body.addWidget(text)


def _centred(card: QWidget, parent: QWidget) -> QWidget:
    page = QWidget(parent)
    outer = QVBoxLayout(page)
    outer.addStretch(1)
    row = QHBoxLayout()
    row.addStretch(1)
    row.addWidget(card, 3)
    row.addStretch(1)
    outer.addLayout(row)
    outer.addStretch(2)
    return page


class UnlockPage(QWidget):
    submitted = Signal(str)
    chosen = Signal(object)  # the folder of the vault chosen in the list
    someone_else = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        card = _Card(self.tr("Unlock Sharelog"),
                     self.tr("Your records are kept encrypted on this computer. "
                             "Choose your name and enter your passphrase to open them."), self)
        self.vaults = VaultListModel(self)
        self.vault_list = VaultListView(self.vaults, card)
        self.someone_else_button = QPushButton(card)
        self.someone_else_button.setFlat(True)
        self.set_sign_in_available(False)
        self.passphrase = QLineEdit(card)
        self.passphrase.setEchoMode(QLineEdit.EchoMode.Password)
        self.passphrase.setAccessibleName(self.tr("Passphrase"))
        self.passphrase.setPlaceholderText(self.tr("Passphrase"))
        self.button = QPushButton(self.tr("Unlock"), card)
        self.button.setAccessibleName(self.tr("Unlock"))
        self.button.setDefault(True)
        self.message = error_label(card, self.tr("Unlock message"), hidden=False)
        self.wait_label = QLabel(card)
        self.wait_label.setAccessibleName(self.tr("Time before you can try again"))
        self.restore_button = QPushButton(self.tr("Restore a backup…"), card)
        self.restore_button.setAccessibleName(self.tr("Restore a backup"))
        self.set_aside_button = QPushButton(self.tr("Set this file aside…"), card)
        self.set_aside_button.setAccessibleName(self.tr("Set the vault file aside"))
        actions = QHBoxLayout()
        actions.addWidget(self.restore_button)
        actions.addWidget(self.set_aside_button)
        card.body.addWidget(self.vault_list)
        card.body.addWidget(self.passphrase)
        card.body.addWidget(self.button)
        card.body.addWidget(self.message)
        card.body.addLayout(actions)
        card.body.addWidget(self.wait_label)
        card.body.addWidget(self.someone_else_button, 0, Qt.AlignmentFlag.AlignHCenter)
        self.show_remedies(frozenset())
        layout = QVBoxLayout(self)
        layout.addWidget(_centred(card, self))
        self.passphrase.returnPressed.connect(self._submit)
        self.button.clicked.connect(self._submit)
        self.someone_else_button.clicked.connect(self.someone_else.emit)
        self.vault_list.selectionModel().currentRowChanged.connect(self._row_changed)
        self.setTabOrder(self.vault_list, self.passphrase)
        self.setTabOrder(self.passphrase, self.button)
        self.busy = False
        self.waiting = False
        self.blocked = False  # a fault no passphrase can fix: nothing to type

    def _submit(self) -> None:
        if self.button.isEnabled() and self.passphrase.text():
            self.submitted.emit(self.passphrase.text())

    def set_sign_in_available(self, available: bool) -> None:
        """Whether a team's store can be reached: the way for someone else then signs in."""
        text = (self.tr("Someone else: sign in") if available
                else self.tr("Someone else: create a vault"))
        self.someone_else_button.setText(text)
        self.someone_else_button.setAccessibleName(text)

    def show_vaults(self, entries: list[VaultEntry], chosen: Path | None) -> None:
        """List the vaults, ``chosen`` selected, without announcing a choice."""
        blocked = self.vault_list.selectionModel().blockSignals(True)
        try:
            self.vaults.set_entries(entries)
            self.vault_list.select_row(max(0, self.vaults.row_of(chosen)))
        finally:
            self.vault_list.selectionModel().blockSignals(blocked)

    def chosen_folder(self) -> Path | None:
        return self.vaults.folder(self.vault_list.currentIndex().row())

    def _row_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        folder = self.vaults.folder(current.row())
        if folder is not None:
            self.chosen.emit(folder)

    def update_enabled(self) -> None:
        self.button.setEnabled(not self.busy and not self.waiting and not self.blocked)
        self.passphrase.setReadOnly(self.busy)
        self.passphrase.setEnabled(not self.blocked)
        self.vault_list.setEnabled(not self.busy)
        self.someone_else_button.setEnabled(not self.busy)

    def show_remedies(self, remedies: frozenset[str]) -> None:
        self.restore_button.setVisible(RESTORE in remedies)
        self.set_aside_button.setVisible(SET_ASIDE in remedies)

    def reset(self) -> None:
        self.passphrase.clear()
        self.message.clear()
        self.blocked = False
        self.show_remedies(frozenset())
        self.update_enabled()


class CreatePage(QWidget):
    submitted = Signal(str, str)
    back = Signal()  # to the list of vaults (only when there is one)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        card = _Card(self.tr("Set up Sharelog"),
                     self.tr("Sharelog keeps your information-sharing decisions in an encrypted "
                             "vault on this computer. Choose a passphrase only you know: without "
                             "it nobody can open the vault, and it cannot be recovered."), self)
        self.heading = card.findChild(QLabel, "cardHeading")
        self.back_button = QPushButton(self.tr("Back to the list of vaults"), card)
        self.back_button.setAccessibleName(self.tr("Back to the list of vaults"))
        self.back_button.setFlat(True)
        self.back_button.hide()
        self.name = QLineEdit(card)
        self.name.setAccessibleName(self.tr("Your name"))
        self.name.setPlaceholderText(self.tr("As colleagues know you"))
        self.passphrase = QLineEdit(card)
        self.passphrase.setEchoMode(QLineEdit.EchoMode.Password)
        self.passphrase.setAccessibleName(self.tr("Passphrase"))
        self.passphrase.setPlaceholderText(self.tr("A few unrelated words work well"))
        self.confirm = QLineEdit(card)
        self.confirm.setEchoMode(QLineEdit.EchoMode.Password)
        self.confirm.setAccessibleName(self.tr("Passphrase again"))
        self.strength = QProgressBar(card)
        self.strength.setRange(0, 4)
        self.strength.setTextVisible(False)
        self.strength.setMaximumHeight(8)
        self.strength.setAccessibleName(self.tr("Passphrase strength"))
        self.strength_label = QLabel(card)
        self.strength_label.setWordWrap(True)
        self.strength_label.setAccessibleName(self.tr("Passphrase advice"))
        self.match_label = QLabel(card)
        self.match_label.setAccessibleName(self.tr("Whether the passphrases match"))
        self.button = QPushButton(self.tr("Create vault"), card)
        self.button.setAccessibleName(self.tr("Create vault"))
        self.button.setDefault(True)
        self.message = error_label(card, self.tr("Set-up message"), hidden=False)
        form = QFormLayout()
        form.addRow(self.tr("Your name"), self.name)
        form.addRow(self.tr("Passphrase"), self.passphrase)
        form.addRow("", self.strength)
        form.addRow("", self.strength_label)
        form.addRow(self.tr("Passphrase again"), self.confirm)
        form.addRow("", self.match_label)
        card.body.addLayout(form)
        card.body.addWidget(self.button)
        card.body.addWidget(self.message)
        card.body.addWidget(self.back_button, 0, Qt.AlignmentFlag.AlignHCenter)
        layout = QVBoxLayout(self)
        layout.addWidget(_centred(card, self))
        for field in (self.name, self.passphrase, self.confirm):
            field.textChanged.connect(self.update_feedback)
        self.confirm.returnPressed.connect(self._submit)
        self.button.clicked.connect(self._submit)
        self.back_button.clicked.connect(self.back.emit)
        self.setTabOrder(self.name, self.passphrase)
        self.setTabOrder(self.passphrase, self.confirm)
        self.setTabOrder(self.confirm, self.button)
        self.busy = False
        self.update_feedback()

    def update_feedback(self) -> None:
        phrase = self.passphrase.text()
        name = [self.name.text()]
        problems = check_passphrase_strength(phrase, name)
        score, advice, word = strength_advice(phrase, name)
        self.strength.setValue(score)
        self.strength_label.setText(advice)
        self.strength.setAccessibleDescription(word)
        matches = bool(phrase) and phrase == self.confirm.text()
        if self.confirm.text() and not matches:
            self.match_label.setText(self.tr("The two passphrases are different."))
        elif matches:
            self.match_label.setText(self.tr("The passphrases match."))
        else:
            self.match_label.clear()
        ready = bool(self.name.text().strip()) and not problems and matches
        self.button.setEnabled(ready and not self.busy)

    def _submit(self) -> None:
        self.update_feedback()
        if self.button.isEnabled():
            self.submitted.emit(self.name.text().strip(), self.passphrase.text())

    def for_someone_else(self, others: bool) -> None:
        """The first vault here, or one more beside others' (with a way back to them)."""
        if self.heading is not None:
            self.heading.setText(self.tr("A vault for someone else") if others
                                 else self.tr("Set up Sharelog"))
        self.back_button.setVisible(others)

    def reset(self) -> None:
        for field in (self.passphrase, self.confirm):
            field.clear()
        self.message.clear()
