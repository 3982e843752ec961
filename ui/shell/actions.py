"""The window's commands: one QAction each, with its shortcut, in menus and the toolbar."""

from __future__ import annotations

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QMainWindow, QToolBar, QWidget

from ui.vault.maintenance import MaintenanceActions


class ShellActions(QObject):
    def __init__(self, window: QMainWindow) -> None:
        super().__init__(window)
        self.new_share = self._action(self.tr("New share…"), "Ctrl+N",
                                      self.tr("Record a decision to share or not to share"))
        self.new_request_made = self._action(self.tr("New request made…"), "Ctrl+Shift+N",
                                             self.tr("Record a request to another agency"))
        self.new_request_received = self._action(
            self.tr("New request received…"), "Ctrl+Shift+R",
            self.tr("Record a request from another agency"))
        self.find = self._action(self.tr("Find"), QKeySequence.StandardKey.Find,
                                 self.tr("Search the decisions"))
        self.lock = self._action(self.tr("Lock"), "Ctrl+L",
                                 self.tr("Lock Sharelog now; your passphrase opens it again"))
        self.decisions = self._action(self.tr("Decisions"), "Ctrl+1",
                                      self.tr("Show the list of decisions"), checkable=True)
        self.followups = self._action(self.tr("My follow-ups"), "Ctrl+2",
                                      self.tr("Show your follow-ups"), checkable=True)
        self.quit = self._action(self.tr("Quit"), QKeySequence.StandardKey.Quit,
                                 self.tr("Lock and close Sharelog"))
        self.shortcuts = self._action(self.tr("Keyboard shortcuts"), "F1",
                                      self.tr("List every keyboard shortcut"))
        self.shortcuts.setShortcuts([QKeySequence("F1"), QKeySequence("Ctrl+/")])
        self.about = self._action(self.tr("About Sharelog"), None, "")
        preferences_tip = self.tr("Idle lock, follow-up days and colour scheme")
        self.preferences = self._action(self.tr("Preferences…"),
                                        QKeySequence.StandardKey.Preferences, preferences_tip)
        if self.preferences.shortcut().isEmpty():  # Windows and most Linux desktops have none
            self.preferences.setShortcut(QKeySequence("Ctrl+,"))
            self._set_tip(self.preferences, preferences_tip)
        # The record selected in the list (enabled by the window while one is shown).
        self.correct_record = self._action(self.tr("Correct…"), "Ctrl+E",
                                           self.tr("Correct the selected decision"))
        self.withdraw_record = self._action(self.tr("Withdraw…"), "Ctrl+Shift+W",
                                            self.tr("Withdraw the selected decision"))
        self.export_record = self._action(self.tr("Export PDF…"), "Ctrl+P",
                                          self.tr("Export the selected decision as a PDF"))
        self.record_actions = [self.correct_record, self.withdraw_record, self.export_record]
        self.change_passphrase = self._action(
            self.tr("Change passphrase…"), None,
            self.tr("Choose a new passphrase for this vault"))
        self.pages = QActionGroup(self)
        self.pages.addAction(self.decisions)
        self.pages.addAction(self.followups)
        self.decisions.setChecked(True)
        self.quit.setMenuRole(QAction.MenuRole.QuitRole)
        self.about.setMenuRole(QAction.MenuRole.AboutRole)
        self.preferences.setMenuRole(QAction.MenuRole.PreferencesRole)
        self.change_passphrase.setMenuRole(QAction.MenuRole.NoRole)
        self.vault_actions = [self.new_share, self.new_request_made, self.new_request_received,
                              self.find, self.lock, self.decisions, self.followups,
                              self.preferences, self.change_passphrase]
        self.toolbar: QToolBar | None = None

    def _action(self, text: str, shortcut: str | QKeySequence.StandardKey | None, tip: str,
                *, checkable: bool = False) -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        self._set_tip(action, tip)
        action.setCheckable(checkable)
        return action

    @staticmethod
    def _set_tip(action: QAction, tip: str) -> None:
        if tip:
            keys = action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
            action.setStatusTip(tip)
            action.setToolTip(f"{tip} ({keys})" if keys else tip)

    def all(self) -> list[QAction]:
        upkeep = self.maintenance.actions if hasattr(self, "maintenance") else []
        return [*self.vault_actions, *self.record_actions, *upkeep, self.quit, self.shortcuts,
                self.about]

    def install(self, window: QMainWindow) -> None:
        bar = window.menuBar()
        file_menu = bar.addMenu(self.tr("&File"))
        file_menu.addActions([self.new_share, self.new_request_made, self.new_request_received])
        self.drafts_menu = file_menu.addMenu(self.tr("Resume a draft"))
        file_menu.addSeparator()
        file_menu.addAction(self.change_passphrase)
        self.maintenance = MaintenanceActions(window, file_menu)  # back up, restore, check
        file_menu.addSeparator()
        file_menu.addActions([self.lock, self.quit])
        edit_menu = bar.addMenu(self.tr("&Edit"))
        edit_menu.addAction(self.find)
        edit_menu.addSeparator()
        edit_menu.addAction(self.preferences)
        view_menu = bar.addMenu(self.tr("&View"))
        view_menu.addActions([self.decisions, self.followups])
        self.record_menu = bar.addMenu(self.tr("&Record"))
        self.record_menu.addActions(self.record_actions)
        self.sync_menu = bar.addMenu(self.tr("&Sync"))  # filled by ui.sync.window
        help_menu = bar.addMenu(self.tr("&Help"))
        help_menu.addActions([self.shortcuts, self.about])

        toolbar = QToolBar(self.tr("Main"), window)
        toolbar.setObjectName("mainToolbar")
        toolbar.setMovable(False)
        toolbar.setFloatable(False)
        toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        toolbar.setAccessibleName(self.tr("Main toolbar"))
        toolbar.addActions([self.decisions, self.followups])
        toolbar.addSeparator()
        toolbar.addActions([self.new_share, self.new_request_made, self.new_request_received])
        toolbar.addSeparator()
        toolbar.addActions([self.find, self.lock])
        window.addToolBar(toolbar)
        self.toolbar = toolbar
        _name_toolbar_buttons(toolbar)
        # Actions reached only by shortcut still need to live in the window.
        window.addActions(self.all())

    def set_unlocked(self, unlocked: bool) -> None:
        for action in self.vault_actions:
            action.setEnabled(unlocked)
        if not unlocked:
            self.set_record_state(can_correct=False, can_export=False)
        self.drafts_menu.setEnabled(unlocked)
        self.maintenance.set_unlocked(unlocked)
        if self.toolbar is not None:
            self.toolbar.setVisible(unlocked)


    def set_record_state(self, *, can_correct: bool, can_export: bool) -> None:
        """Correct and Withdraw need a record that can still change; Export any record."""
        self.correct_record.setEnabled(can_correct)
        self.withdraw_record.setEnabled(can_correct)
        self.export_record.setEnabled(can_export)


def _name_toolbar_buttons(toolbar: QToolBar) -> None:
    """Give each toolbar button its action's words as its accessible name, kept current
    (the follow-ups button's text changes with the overdue count)."""
    for action in toolbar.actions():
        button = toolbar.widgetForAction(action)
        if button is None or action.isSeparator():
            continue

        def rename(action: QAction = action, button: QWidget = button) -> None:
            button.setAccessibleName(action.text().replace("&", ""))

        rename()
        action.changed.connect(rename)
