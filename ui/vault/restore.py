"""File > Restore…, and "restore the latest backup" from the unlock screen.

Works with the vault locked: the backup is opened with the passphrase that opened it
(it may be an older one), copied aside and checked before anything is replaced; the
practitioner is told what it holds and which changes made on this laptop it lacks, and
only then asked to restore. The vault it replaces is moved into ``replaced/``, never
deleted. Disk work runs on the bridge's task pool; the UI thread never waits on it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app import backups
from app.cancel import Cancelled
from app.session import WrongPassphrase
from app.tip import format_time
from ui.bridge import Bridge
from ui.vault.integrity import Message, _plural, missing_words
from ui.widgets.dialogs import buddy_label, error_label, show_message
from ui.widgets.errors import user_message
from ui.widgets.progress import ProgressRelay


def ask_backup_file(parent: QWidget, start: Path) -> Path | None:
    """The file dialog (replaced in tests: it is a system service)."""
    name, _ = QFileDialog.getOpenFileName(
        parent, parent.tr("Choose a Sharelog backup"), str(start),
        parent.tr("Sharelog backups (*.sharelog *.sharelog-backup *.backup);;All files (*)"))
    return Path(name) if name else None


class RestoreDialog(QDialog):
    """Choose a backup, check it with its passphrase, then restore. ``restored`` carries
    the words to show on the unlock screen."""

    restored = Signal(str)

    def __init__(self, bridge: Any, base: Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.bridge = bridge
        self.base = base
        self.busy = False
        self.check: backups.RestoreCheck | None = None
        self._stop = threading.Event()
        self._chosen: list[Path] = []
        title = self.tr("Restore from a backup")
        self.setWindowTitle(title)
        self.setAccessibleName(title)
        intro = QLabel(self.tr(
            "Restoring puts a backup in place of your vault. Sharelog first opens the backup "
            "and checks it; nothing is replaced until you say so, and the vault it replaces "
            "is kept in the folder \u201creplaced\u201d beside it."), self)
        intro.setWordWrap(True)
        self.choice = QComboBox(self)
        self.choice.setAccessibleName(self.tr("Backup to restore"))
        self.other = QPushButton(self.tr("Other file…"), self)
        self.other.setAccessibleName(self.tr("Choose another backup file"))
        row = QHBoxLayout()
        row.addWidget(self.choice, 1)
        row.addWidget(self.other)
        self.passphrase = QLineEdit(self)
        self.passphrase.setEchoMode(QLineEdit.EchoMode.Password)
        self.passphrase.setAccessibleName(self.tr("Passphrase that opened this backup"))
        self.passphrase_error = error_label(self, self.tr("Passphrase problem"))
        form = QFormLayout()
        form.addRow(buddy_label(self, self.tr("&Backup"), self.choice), row)
        form.addRow(buddy_label(self, self.tr("&Passphrase that opened it"), self.passphrase),
                    self.passphrase)
        form.addRow("", self.passphrase_error)
        self.progress = QProgressBar(self)
        self.progress.setAccessibleName(self.tr("Checking the backup"))
        self.progress.hide()
        self.outcome = Message(self.tr("What the backup holds"), self)
        self.buttons = QDialogButtonBox(self)
        self.check_button = QPushButton(self.tr("Check backup"), self)
        self.check_button.setDefault(True)
        self.restore_button = QPushButton(self.tr("Restore this backup"), self)
        self.restore_button.setEnabled(False)
        self.close_button = QPushButton(self.tr("Close"), self)
        self.buttons.addButton(self.check_button, QDialogButtonBox.ButtonRole.ActionRole)
        self.buttons.addButton(self.restore_button, QDialogButtonBox.ButtonRole.AcceptRole)
        self.buttons.addButton(self.close_button, QDialogButtonBox.ButtonRole.RejectRole)
        for button in (self.check_button, self.restore_button, self.close_button):
            button.setAccessibleName(button.text())
        self.check_button.clicked.connect(self.start_check)
        self.restore_button.clicked.connect(self.restore)
        self.close_button.clicked.connect(self._cancel_or_close)
        self.other.clicked.connect(self.choose_file)
        self.choice.currentIndexChanged.connect(lambda _i: self._forget_check())
        self.passphrase.textEdited.connect(lambda _t: self._forget_check())
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(form)
        layout.addWidget(self.progress)
        layout.addWidget(self.outcome)
        layout.addWidget(self.buttons)
        self._relay = ProgressRelay()
        self._relay.progressed.connect(self._on_progress)
        self.resize(560, self.sizeHint().height())
        self.choice.addItem(self.tr("Looking for backups…"))
        self.choice.setEnabled(False)
        self.bridge.task(lambda: backups.list_backups(base), self._on_listed,
                         lambda _exc: self._on_listed([]))

    # -- choosing ---------------------------------------------------------------------
    def _on_listed(self, found: list[backups.BackupFile]) -> None:
        self.choice.clear()
        self.choice.setEnabled(True)
        kinds = {"daily": self.tr("backup of the day"),
                 "before upgrade": self.tr("taken before an upgrade")}
        for b in found:
            when = format_time(int(b.taken_at.timestamp() * 1000))
            self.choice.addItem(f"{when} · {kinds.get(b.kind, b.kind)}", str(b.path))
        if not found:
            self.choice.addItem(self.tr("No backups kept by Sharelog: choose a file"), None)
        self.passphrase.setFocus()

    def choose_file(self) -> None:
        path = ask_backup_file(self, self.base)
        if path is None:
            return
        self.choice.insertItem(0, path.name, str(path))
        self.choice.setCurrentIndex(0)

    def selected(self) -> Path | None:
        data = self.choice.currentData()
        return Path(data) if data else None

    # -- checking ---------------------------------------------------------------------
    def start_check(self) -> None:
        if self.busy:
            return
        source = self.selected()
        show_message(self.passphrase_error, "")
        if source is None:
            self.outcome.setText(self.tr("Choose a backup first."))
            return
        if not self.passphrase.text():
            show_message(self.passphrase_error, self.tr(
                "Enter the passphrase that opened the vault when this backup was taken."))
            self.passphrase.setFocus()
            return
        self._forget_check()
        passphrase, base = self.passphrase.text(), self.base
        report, stop = self._relay.report, self._stop.is_set
        self._set_busy(True, self.tr("Opening the backup and checking it…"))
        self.bridge.task(lambda: backups.check_backup(source, passphrase, base,
                                                      progress=report, cancelled=stop),
                         self._on_checked, self._on_failed)

    def _on_checked(self, check: backups.RestoreCheck) -> None:
        if self._closing:
            self.bridge.task(lambda: backups.discard(check))
            QDialog.reject(self)
            return
        self._set_busy(False)
        self.check = check
        newest = (format_time(check.newest_change_ms) if check.newest_change_ms
                  else self.tr("none"))
        lines = [_plural(check.decisions,
                         "This backup opens and passes the integrity check. It holds %n "
                         "decision; its newest change was made %1.",
                         "This backup opens and passes the integrity check. It holds %n "
                         "decisions; its newest change was made %1.").replace("%1", newest)]
        if check.lacks is not None:
            lines.append(self.tr("It lacks what was saved after it: %1").replace(
                "%1", missing_words(check.lacks)))
        if check.other_vault:
            lines.append(self.tr("This backup is of another vault than the one on this "
                                 "laptop (made on another device)."))
        lines.append(self.tr("Restoring it replaces your vault; the vault it replaces is kept "
                             "in \u201creplaced\u201d."))
        self.outcome.setText("\n".join(lines))
        self.restore_button.setEnabled(True)
        self.restore_button.setFocus()

    def _on_failed(self, error: BaseException) -> None:
        if self._closing:
            QDialog.reject(self)
            return
        self._set_busy(False)
        if isinstance(error, WrongPassphrase):
            show_message(self.passphrase_error, self.tr(
                "That passphrase doesn't open this backup. Use the passphrase you had when "
                "it was taken."))
            self.passphrase.setFocus()
            self.passphrase.selectAll()
            self.outcome.clear()
        elif isinstance(error, Cancelled):
            self.outcome.setText(self.tr("Stopped; nothing was changed."))
        else:
            self.outcome.setText(user_message(error))

    def _forget_check(self) -> None:
        if self.check is not None:
            check, self.check = self.check, None
            self.bridge.task(lambda: backups.discard(check))
        self.restore_button.setEnabled(False)

    # -- restoring --------------------------------------------------------------------
    def restore(self) -> None:
        check = self.check
        if self.busy or check is None:
            return
        self.check = None
        base = self.base
        self._set_busy(True, self.tr("Restoring…"))
        self.progress.setRange(0, 0)

        def replace(_result: object = None) -> None:
            self.bridge.task(lambda: backups.restore(check, base), self._on_restored,
                             self._on_restore_failed)

        # The vault worker finishes whatever it holds (the lock that closed the vault)
        # before anything is moved.
        if isinstance(self.bridge, Bridge) and not self.bridge.closed:
            self.bridge.lock(replace)
        else:
            replace()

    def _on_restored(self, aside: Path | None) -> None:
        self._set_busy(False)
        self._closing = False
        where = (self.tr(" The vault it replaced is in %1.").replace("%1", str(aside))
                 if aside is not None else "")
        message = self.tr("The backup has been restored.") + where + " " + self.tr(
            "Unlock with the passphrase that opened it.")
        self.restored.emit(message)
        self.accept()

    def _on_restore_failed(self, error: BaseException) -> None:
        self._set_busy(False)
        if self._closing:
            QDialog.reject(self)
            return
        self.outcome.setText(user_message(error) + "\n" + self.tr(
            "Nothing has been replaced; check the backup again to retry."))

    # -- state ------------------------------------------------------------------------
    _closing = False

    def _set_busy(self, busy: bool, text: str = "") -> None:
        self.busy = busy
        for widget in (self.choice, self.other, self.passphrase, self.check_button):
            widget.setEnabled(not busy)
        self.restore_button.setEnabled(False if busy else self.check is not None)
        self.close_button.setText(self.tr("Cancel") if busy else self.tr("Close"))
        self.close_button.setAccessibleName(self.close_button.text())
        self.progress.setVisible(busy)
        self.progress.setRange(0, 0)
        if text:
            self.outcome.setText(text)

    def _on_progress(self, done: int, total: int) -> None:
        if self.busy and total > 0:
            self.progress.setRange(0, total)
            self.progress.setValue(min(done, total))

    def _cancel_or_close(self) -> None:
        if self.busy:
            self._stop.set()
            self.outcome.setText(self.tr("Stopping…"))
        else:
            self.reject()

    def reject(self) -> None:
        # A running check stops at its next step; the dialog goes once it has answered,
        # so the copy it made is always removed and no answer lands on a closed dialog.
        self._stop.set()
        self._closing = True
        if self.busy:
            self.hide()
            return
        self._forget_check()
        super().reject()

    def done(self, result: int) -> None:
        self.passphrase.clear()
        super().done(result)


def open_restore(parent: QWidget, bridge: Any | None, base: Path, *,
                 on_restored: Callable[[str], None] | None = None) -> RestoreDialog:
    """The restore dialog, over the unlock screen or the locked window.

    ``bridge`` may be None (a private one is made for the dialog's disk work). The vault
    must be locked; ``on_restored`` gets the words to show where the passphrase is asked.
    """
    own = bridge is None
    dialog = RestoreDialog(bridge if bridge is not None else Bridge(parent=parent), base,
                           parent)
    if on_restored is not None:
        dialog.restored.connect(on_restored)

    def finished(_result: int) -> None:
        if own:
            dialog.bridge.shutdown()
        dialog.deleteLater()

    dialog.finished.connect(finished)
    dialog.open()
    return dialog
