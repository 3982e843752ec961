"""The vault's upkeep in the File menu: Back up vault…, Restore…, Check integrity…, and the
word after unlocking when the vault lacks changes made on this laptop.

``MaintenanceActions`` makes the three commands and puts them in a menu; the window
only creates it (``ui.shell.actions``) and calls ``after_unlock`` (``ui.shell.main_window``). The
entry points others call: ``restore_from_window(window)`` (what "Restore a backup…" on
the unlock screen should do: locks if need be, then ``open_restore``), ``open_restore``
(vault locked; no window needed), ``open_check_integrity``, ``open_backup``.
"""

from __future__ import annotations

import datetime as dt
import threading
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QLabel,
    QMainWindow,
    QMenu,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.cancel import Cancelled
from app.paths import data_dir
from ui.vault.integrity import Message, missing_words, open_check_integrity
from ui.vault.restore import open_restore
from ui.widgets.errors import user_message
from ui.widgets.progress import ProgressRelay

__all__ = ["MaintenanceActions", "after_unlock", "open_backup", "open_check_integrity",
           "open_restore", "restore_from_window"]


def default_backup_name(today: dt.date | None = None) -> str:
    """A name that says nothing about anyone."""
    return f"sharelog-backup-{(today or dt.date.today()).isoformat()}.sharelog"


def ask_backup_target(parent: QWidget) -> Path | None:
    """The file dialog (replaced in tests: it is a system service)."""
    start = Path.home() / default_backup_name()
    name, _ = QFileDialog.getSaveFileName(parent, parent.tr("Back up vault"), str(start),
                                          parent.tr("Sharelog backups (*.sharelog)"))
    return Path(name) if name else None


# -- back up --------------------------------------------------------------------------
class BackupDialog(QDialog):
    """Writes one encrypted backup to ``target`` on the vault worker, with progress and a
    cancel (a cancelled backup leaves no file)."""

    def __init__(self, bridge: Any, target: Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.bridge = bridge
        self.target = target
        self.busy = False
        self.written: Path | None = None
        self._stop = threading.Event()
        title = self.tr("Back up vault")
        self.setWindowTitle(title)
        self.setAccessibleName(title)
        self.outcome = Message(self.tr("Backup status"), self)
        self.outcome.setText(self.tr("Writing an encrypted backup…"))
        self.progress = QProgressBar(self)
        self.progress.setRange(0, 0)
        self.progress.setAccessibleName(self.tr("Backup progress"))
        self.button = QPushButton(self.tr("Cancel"), self)
        self.button.setAccessibleName(self.tr("Cancel"))
        self.button.clicked.connect(self._cancel_or_close)
        buttons = QDialogButtonBox(self)
        buttons.addButton(self.button, QDialogButtonBox.ButtonRole.RejectRole)
        layout = QVBoxLayout(self)
        layout.addWidget(self.outcome)
        layout.addWidget(self.progress)
        layout.addWidget(buttons)
        self._relay = ProgressRelay()
        self._relay.progressed.connect(self._on_progress)
        self.resize(460, self.sizeHint().height())

    def start(self) -> None:
        target, relay, stop = self.target, self._relay, self._stop.is_set

        def progress(done: int, total: int) -> None:
            if stop():
                raise Cancelled()
            relay.report(done, total)

        self.busy = True
        self.bridge.write(lambda service: service.backup_to(target, progress),
                          self._on_done, self._on_failed, changes=())

    def _on_progress(self, done: int, total: int) -> None:
        if total > 0:
            self.progress.setRange(0, total)
            self.progress.setValue(min(done, total))

    def _finish(self, text: str) -> None:
        self.busy = False
        self.outcome.setText(text)
        self.progress.setRange(0, 1)
        self.progress.setValue(1 if self.written else 0)
        self.button.setText(self.tr("Close"))
        self.button.setAccessibleName(self.tr("Close"))
        if self._stop.is_set() and not self.isVisible():
            super().reject()

    def _on_done(self, written: Path) -> None:
        self.written = written
        self._finish(self.tr("Backed up to %1. It is encrypted, and opens with the passphrase "
                             "you use now.").replace("%1", str(written)))

    def _on_failed(self, error: BaseException) -> None:
        if isinstance(error, Cancelled):
            self._finish(self.tr("The backup was stopped; no file was written."))
        else:
            self._finish(user_message(error) + "\n" + self.tr("No backup was written."))

    def _cancel_or_close(self) -> None:
        if self.busy:
            self._stop.set()
            self.outcome.setText(self.tr("Stopping…"))
        else:
            self.reject()

    def reject(self) -> None:
        if self.busy:  # a lock or a close: stop, and go once the worker has answered
            self._stop.set()
            self.hide()
            return
        super().reject()


def open_backup(parent: QWidget, bridge: Any, target: Path | None = None) -> BackupDialog | None:
    """File > Back up vault…: where to, then the backup (None if no place was chosen)."""
    target = target or ask_backup_target(parent)
    if target is None:
        return None
    dialog = BackupDialog(bridge, target, parent)
    dialog.finished.connect(dialog.deleteLater)
    dialog.open()
    dialog.start()
    return dialog


# -- after unlocking --------------------------------------------------------------------
class MissingChangesDialog(QDialog):
    """Says which changes made on this laptop the vault lacks, and asks what to do.

    Restore a backup that has them, or go on without them (noted in the vault). Closing
    it decides nothing: it is asked again at the next unlock.
    """

    restore_requested = Signal()

    def __init__(self, bridge: Any, missing: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.bridge = bridge
        title = self.tr("Changes are missing from the vault")
        self.setWindowTitle(title)
        self.setAccessibleName(title)
        self.setWindowModality(Qt.WindowModality.WindowModal)
        text = QLabel(missing_words(missing) + "\n\n" + self.tr(
            "This happens when the file beside the vault that holds the latest changes "
            "(vault.sharelog-wal) is lost or damaged, or when an older copy of the vault "
            "was put in its place. A backup taken after those changes still has them."),
            self)
        text.setWordWrap(True)
        text.setAccessibleName(self.tr("Which changes are missing"))
        self.text = text
        self.restore_button = QPushButton(self.tr("Restore a backup…"), self)
        self.accept_button = QPushButton(self.tr("Go on without them"), self)
        self.later_button = QPushButton(self.tr("Decide later"), self)
        buttons = QDialogButtonBox(self)
        buttons.addButton(self.restore_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.addButton(self.accept_button, QDialogButtonBox.ButtonRole.AcceptRole)
        buttons.addButton(self.later_button, QDialogButtonBox.ButtonRole.RejectRole)
        for button in (self.restore_button, self.accept_button, self.later_button):
            button.setAccessibleName(button.text())
        self.restore_button.setDefault(True)
        self.restore_button.clicked.connect(self._restore)
        self.accept_button.clicked.connect(self._go_on)
        self.later_button.clicked.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(text)
        layout.addWidget(buttons)
        self.resize(520, self.sizeHint().height())

    def _restore(self) -> None:
        self.restore_requested.emit()
        self.accept()

    def _go_on(self) -> None:
        self.bridge.write(lambda service: service.accept_missing_changes(), None,
                          lambda _exc: None, changes=())
        self.accept()


def after_unlock(window: Any, service: Any) -> MissingChangesDialog | None:
    """After an unlock: if the vault lacks changes its tip knows of, say so and ask."""
    missing = getattr(service, "missing_changes", None)
    if missing is None:
        return None
    dialog = MissingChangesDialog(window.bridge, missing, window)
    dialog.restore_requested.connect(lambda: restore_from_window(window))
    dialog.finished.connect(dialog.deleteLater)
    dialog.open()
    return dialog


def restore_from_window(window: Any) -> None:
    """Restoring replaces the vault, so the window locks first (its views are cleared)."""
    if window.is_unlocked:
        window.lock()
    # The vault chosen on the unlock screen; with none, the data folder itself, from
    # where a restored vault is moved into a folder of its own like an earlier one.
    screen = window.vault_screen
    open_restore(window, window.bridge, screen.folder or screen.base or data_dir(),
                 on_restored=window.vault_screen.show_unlock)


# -- the File menu's commands ------------------------------------------------------------
class MaintenanceActions(QObject):
    """Back up vault…, Restore from a backup…, Check integrity…, in ``menu``."""

    def __init__(self, window: QMainWindow, menu: QMenu) -> None:
        super().__init__(window)
        self.window = window
        self.back_up = self._action(self.tr("Back up vault…"),
                                    self.tr("Write an encrypted copy of the vault where you "
                                            "choose"))
        self.restore = self._action(self.tr("Restore from a backup…"),
                                    self.tr("Put a checked backup in place of the vault"))
        self.check = self._action(self.tr("Check integrity…"),
                                  self.tr("Check every saved change and every record shown"))
        menu.addActions([self.back_up, self.restore, self.check])
        self.back_up.triggered.connect(self._back_up)
        self.restore.triggered.connect(lambda: restore_from_window(self.window))
        self.check.triggered.connect(self._check)
        self.set_unlocked(False)

    def _action(self, text: str, tip: str) -> QAction:
        action = QAction(text, self)
        action.setStatusTip(tip)
        action.setToolTip(tip)
        action.setMenuRole(QAction.MenuRole.NoRole)
        return action

    @property
    def actions(self) -> list[QAction]:
        return [self.back_up, self.restore, self.check]

    def set_unlocked(self, unlocked: bool) -> None:
        # Restoring works locked too (it asks for the backup's passphrase).
        self.back_up.setEnabled(unlocked)
        self.check.setEnabled(unlocked)

    def _back_up(self) -> None:
        w: Any = self.window
        if w.is_unlocked:
            open_backup(w, w.bridge)

    def _check(self) -> None:
        w: Any = self.window
        if w.is_unlocked:
            open_check_integrity(w, w.bridge)
