"""Sync in the main window: the Sync menu, the status bar's word, the first-run offer,
Sync details and signing out. The shell makes one ``SyncInWindow`` and tells it when the
vault unlocks and locks; everything else about sync lives here.

Sign out refuses while the store lacks changes, says how many, and offers to sync now or
to back up the vault first (the shell hands in how a backup target is chosen).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QAction, QKeySequence, QMouseEvent
from PySide6.QtWidgets import (
    QLabel,
    QMainWindow,
    QMenu,
    QMessageBox,
    QPushButton,
    QToolBar,
    QWidget,
)

from app.sync import account
from ui.bridge import Bridge
from ui.sync.controller import SyncController
from ui.sync.details import SyncDetailsDialog, gather
from ui.sync.offer import StoreOffer
from ui.sync.sign_in import SignInDialog
from ui.sync.status import NOT_SIGNED_IN, SIGNED_OUT, status_text, status_tip, tray_words
from ui.widgets.errors import user_message
from ui.widgets.plural import counted


class SyncStatusLabel(QLabel):
    """The status bar's word; a click opens what it asks for (details, or sign-in)."""

    clicked = Signal()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt's name
        if event.button() == Qt.MouseButton.LeftButton:
            self.clicked.emit()
        super().mouseReleaseEvent(event)


class SyncInWindow(QObject):
    tray_note = Signal(str)  # a change waiting more than a day, for the tray's tooltip
    message = Signal(str)  # a short word for the status bar

    def __init__(self, window: QMainWindow, bridge: Bridge, menu: QMenu, *,
                 ask_backup_target: Callable[[QWidget], Path | None],
                 controller: SyncController | None = None) -> None:
        super().__init__(window)
        self.window = window
        self.bridge = bridge
        self.ask_backup_target = ask_backup_target
        self.controller = controller or SyncController(bridge, self)
        self.label = SyncStatusLabel(window)
        self.label.setAccessibleName(self.tr("Sync status"))
        self.label.setCursor(Qt.CursorShape.PointingHandCursor)
        self.offer = StoreOffer(window)
        # Under the main toolbar, the width of the window, until answered.
        self.offer_bar = QToolBar(self.tr("Team's store"), window)
        self.offer_bar.setObjectName("storeOfferBar")
        self.offer_bar.setMovable(False)
        self.offer_bar.setFloatable(False)
        self.offer_bar.addWidget(self.offer)
        window.addToolBarBreak()
        window.addToolBar(self.offer_bar)
        self.offer_bar.hide()
        self.sign_in_dialog: SignInDialog | None = None
        self.details: SyncDetailsDialog | None = None
        self.sign_out_box: QMessageBox | None = None
        self.sync_first: QPushButton | None = None  # the sign-out box's buttons
        self.backup_first: QPushButton | None = None
        self.confirm_out: QPushButton | None = None
        self.unlocked = False

        self.sign_in = self._action(self.tr("Sign in…"), None,
                                    self.tr("Sign in to your team's store to sync this vault"))
        self.sync_now = self._action(self.tr("Sync now"), "F5",
                                     self.tr("Sync with the team's store now"))
        self.show_details = self._action(self.tr("Sync details…"), None,
                                         self.tr("The last syncs, what is waiting, and "
                                                 "changes held aside"))
        self.sign_out = self._action(self.tr("Sign out…"), None,
                                     self.tr("Stop syncing this vault (it keeps every record)"))
        menu.addActions([self.sign_in, self.sync_now, self.show_details])
        menu.addSeparator()
        menu.addAction(self.sign_out)
        window.addActions(self.actions)

        self.sign_in.triggered.connect(self.open_sign_in)
        self.sync_now.triggered.connect(self.controller.sync_now)
        self.show_details.triggered.connect(self.open_details)
        self.sign_out.triggered.connect(self.ask_sign_out)
        self.label.clicked.connect(self._label_clicked)
        self.offer.sign_in_requested.connect(self.open_sign_in)
        self.offer.declined.connect(self._decline_offer)
        self.controller.status_changed.connect(self._show_status)
        self.controller.synced.connect(lambda _report: self._refresh_details())
        self.set_unlocked(False)

    def _action(self, text: str, shortcut: str | None, tip: str) -> QAction:
        action = QAction(text, self)
        if shortcut:
            action.setShortcut(QKeySequence(shortcut))
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
            keys = action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
            action.setToolTip(f"{tip} ({keys})")
        else:
            action.setToolTip(tip)
        action.setStatusTip(tip)
        action.setMenuRole(QAction.MenuRole.NoRole)
        return action

    @property
    def actions(self) -> list[QAction]:
        return [self.sign_in, self.sync_now, self.show_details, self.sign_out]

    # -- the window's lifecycle ------------------------------------------------------------
    def set_unlocked(self, unlocked: bool) -> None:
        self.unlocked = unlocked
        for action in self.actions:
            action.setEnabled(unlocked)

    def start(self, service: Any) -> None:
        """After unlock."""
        self.set_unlocked(True)
        self.controller.start(service)
        self.bridge.read(account.offer_store, self._offer, lambda _exc: None)

    def stop(self) -> None:
        """At lock: nothing about this vault stays on screen."""
        self.controller.stop()
        self.set_unlocked(False)
        self.label.clear()
        self.label.setToolTip("")
        self.offer_bar.hide()
        self.tray_note.emit("")
        for dialog in (self.sign_in_dialog, self.details):
            if dialog is not None:
                dialog.reject()

    def shutdown(self) -> None:
        self.controller.shutdown()

    # -- status ----------------------------------------------------------------------------
    def _show_status(self, status: Any) -> None:
        if not self.unlocked:
            return
        self.label.setText(status_text(status))
        self.label.setToolTip(status_tip(status))
        state = str(status.state)
        signed_in = state not in (NOT_SIGNED_IN, SIGNED_OUT)
        self.sign_in.setEnabled(not signed_in or status.error in ("sign_in_again",
                                                                  "device_revoked"))
        self.sign_out.setEnabled(signed_in)
        self.sync_now.setEnabled(signed_in)
        self.tray_note.emit(tray_words(status))

    def _label_clicked(self) -> None:
        status = self.controller.status
        if status is None or not self.unlocked:
            return
        if str(status.state) in (NOT_SIGNED_IN, SIGNED_OUT) or \
                status.error == "sign_in_again":
            self.open_sign_in()
        else:
            self.open_details()

    # -- sign in ---------------------------------------------------------------------------
    def _offer(self, offered: bool) -> None:
        self.offer_bar.setVisible(bool(offered) and self.unlocked)

    def _decline_offer(self) -> None:
        self.offer_bar.hide()
        self.bridge.write(account.use_without_store, None, lambda _exc: None)
        self.message.emit(self.tr("Sharelog works without a store. Sync > Sign in… connects "
                                  "this vault to your team's store later."))

    def open_sign_in(self) -> SignInDialog | None:
        service = self.bridge.service
        if not self.unlocked or service is None:
            return None
        if self.sign_in_dialog is not None and self.sign_in_dialog.isVisible():
            self.sign_in_dialog.raise_()
            return self.sign_in_dialog

        def show(addresses: tuple[str | None, str | None]) -> None:
            known, preset = addresses
            if not self.unlocked:
                return
            dialog = SignInDialog(self.bridge, preset, known=known, parent=self.window)
            dialog.signed_in.connect(self._signed_in)
            dialog.finished.connect(lambda _r: self._sign_in_closed(dialog))
            self.sign_in_dialog = dialog
            dialog.open()

        # The preset reads files: off the UI thread, with the address the vault knows.
        self.bridge.read(lambda s: (account.store_address(s), account.preset_store_url()),
                         show, lambda _exc: show((None, None)))
        return None

    def _sign_in_closed(self, dialog: SignInDialog) -> None:
        if self.sign_in_dialog is dialog:
            self.sign_in_dialog = None
        dialog.deleteLater()

    def _signed_in(self, me: Any) -> None:
        self.offer_bar.hide()
        self.message.emit(self.tr("Signed in as %1. Sharelog syncs by itself from now on.")
                          .replace("%1", me.display_name))
        self.controller.signed_in_again()

    # -- details ---------------------------------------------------------------------------
    def open_details(self) -> SyncDetailsDialog | None:
        if not self.unlocked:
            return None
        if self.details is None:
            self.details = SyncDetailsDialog(self.window)
            self.details.sync_button.clicked.connect(self.controller.sync_now)
            self.details.finished.connect(self._details_closed)
        self.details.show()
        self.details.raise_()
        self._refresh_details()
        return self.details

    def _details_closed(self, _result: int) -> None:
        if self.details is not None:
            self.details.deleteLater()
        self.details = None

    def _refresh_details(self) -> None:
        dialog = self.details
        if dialog is None or not dialog.isVisible():
            return
        self.controller.ask(gather, lambda d: dialog.show_details(d) if self.details is dialog
                            else None)

    # -- sign out --------------------------------------------------------------------------
    def ask_sign_out(self) -> None:
        if not self.unlocked:
            return
        self.bridge.read(account.unsynced, self._answer_sign_out, self._failed)

    def _answer_sign_out(self, waiting: int) -> None:
        if not self.unlocked:
            return
        box = QMessageBox(self.window)
        box.setIcon(QMessageBox.Icon.Question if not waiting else QMessageBox.Icon.Warning)
        box.setWindowTitle(self.tr("Sign out"))
        if waiting:
            box.setText(counted(
                waiting,
                self.tr("1 change has not reached the team's store yet, so Sharelog does "
                        "not sign out."),
                self.tr("%1 changes have not reached the team's store yet, so Sharelog "
                        "does not sign out.")))
            box.setInformativeText(self.tr(
                "Sync them first, or write an encrypted backup of the vault and then sign "
                "out. Either way the vault keeps every record."))
            self.sync_first = box.addButton(self.tr("Sync now"),
                                            QMessageBox.ButtonRole.AcceptRole)
            self.backup_first = box.addButton(self.tr("Back up, then sign out…"),
                                              QMessageBox.ButtonRole.ActionRole)
            self.confirm_out = None
        else:
            box.setText(self.tr("Sign out of the team's store?"))
            box.setInformativeText(self.tr(
                "The vault keeps every record on this computer and stops syncing until you "
                "sign in again with the same account."))
            self.confirm_out = box.addButton(self.tr("Sign out"),
                                             QMessageBox.ButtonRole.AcceptRole)
            self.sync_first = self.backup_first = None
        cancel = box.addButton(self.tr("Cancel"), QMessageBox.ButtonRole.RejectRole)
        for button in box.buttons():
            button.setAccessibleName(button.text())
        box.setDefaultButton(cancel)
        box.setEscapeButton(cancel)
        box.buttonClicked.connect(self._sign_out_answered)
        box.finished.connect(box.deleteLater)
        self.sign_out_box = box
        box.open()

    def _sign_out_answered(self, button: Any) -> None:
        self.sign_out_box = None
        if button is self.sync_first:
            self.controller.sync_now()
        elif button is self.backup_first:
            target = self.ask_backup_target(self.window)
            if target is not None:
                self._sign_out(target)
        elif button is self.confirm_out:
            self._sign_out(None)

    def _sign_out(self, backup_to: Path | None) -> None:
        def done(_changes: Any) -> None:
            text = self.tr("Signed out. This vault keeps every record; Sync > Sign in… "
                           "syncs it again.")
            if backup_to is not None:
                text = self.tr("Backed up to %1, then signed out.").replace(
                    "%1", str(backup_to))
            self.message.emit(text)
            self.controller.signed_in_again()  # says "Signed out", stops the timers' work

        self.bridge.write(lambda s: account.sign_out(s, backup_to=backup_to), done,
                          self._failed)

    def _failed(self, error: BaseException) -> None:
        if isinstance(error, account.SignInError):
            self.message.emit(str(error))
        else:
            self.message.emit(user_message(error))
