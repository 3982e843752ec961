"""The tray icon: the overdue count only. No names, case references or record text."""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QMenu, QSystemTrayIcon

from ui.widgets.resources import app_icon


class Tray(QObject):
    show_requested = Signal()
    lock_requested = Signal()
    quit_requested = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.overdue = 0
        self.locked = True
        self.sync_note = ""  # a change waiting more than a day (ui.sync.status.tray_words)
        self.icon: QSystemTrayIcon | None = None
        if not QSystemTrayIcon.isSystemTrayAvailable():
            return
        self.icon = QSystemTrayIcon(app_icon(), self)
        menu = QMenu()
        menu.addAction(self.tr("Show Sharelog"), self.show_requested.emit)
        self.lock_action = menu.addAction(self.tr("Lock"), self.lock_requested.emit)
        menu.addSeparator()
        menu.addAction(self.tr("Quit"), self.quit_requested.emit)
        self._menu = menu
        self.icon.setContextMenu(menu)
        self.icon.activated.connect(lambda _reason: self.show_requested.emit())
        self.icon.show()
        self.set_overdue(0, locked=True)

    def tooltip(self, locked: bool) -> str:
        if locked:
            return self.tr("Sharelog (locked)")
        if self.overdue == 1:
            text = self.tr("Sharelog: 1 follow-up overdue")
        elif self.overdue:
            text = self.tr("Sharelog: %1 follow-ups overdue").replace("%1", str(self.overdue))
        else:
            text = self.tr("Sharelog: no follow-ups overdue")
        return f"{text}\n{self.sync_note}" if self.sync_note else text

    def set_sync_note(self, note: str) -> None:
        """A change not synced for more than a day (counts and a date only)."""
        self.sync_note = note
        if self.icon is not None:
            self.icon.setToolTip(self.tooltip(self.locked))

    def set_overdue(self, count: int, *, locked: bool = False, notify: bool = False) -> None:
        grew = count > self.overdue
        self.overdue = count
        self.locked = locked
        if self.icon is None:
            return
        self.icon.setToolTip(self.tooltip(locked))
        if notify and grew and count:
            self.icon.showMessage(self.tr("Sharelog"), self.tooltip(False),
                                  QSystemTrayIcon.MessageIcon.Information, 8000)

    def hide(self) -> None:
        if self.icon is not None:
            self.icon.hide()
