"""The main window: composes the vault screens and the panels; owns lock and navigation."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QEvent, Qt, QTimer, Signal
from PySide6.QtGui import QCloseEvent, QResizeEvent
from PySide6.QtWidgets import (
    QApplication,
    QDialog,
    QMainWindow,
    QMenu,
    QMessageBox,
    QSplitter,
    QStackedWidget,
    QWidget,
)

from app import __version__
from app.settings import Settings
from app.sync import account
from ui.bridge import Bridge
from ui.decisions.detail_pane import DetailPane
from ui.decisions.panel import DecisionsPanel
from ui.followups.panel import FollowUpsPanel
from ui.form.decision_form import DecisionForm
from ui.shell.actions import ShellActions
from ui.shell.app import keep_qt_settings_in
from ui.shell.forget import ForgetOnLock
from ui.shell.idle import IdleWatcher
from ui.shell.preferences import apply_theme, idle_timeout_ms, open_preferences
from ui.shell.shortcuts import ShortcutsDialog
from ui.shell.tray import Tray
from ui.sync.window import SyncInWindow
from ui.vault.maintenance import after_unlock, ask_backup_target, restore_from_window
from ui.vault.passphrase import open_change_passphrase
from ui.vault.screens import Opened, VaultScreen
from ui.widgets.dates import format_when
from ui.widgets.dialogs import install_dialog_keys
from ui.widgets.resources import app_icon

OVERDUE_CHECK_MS = 15 * 60 * 1000


DETAIL_MIN_WIDTH = 360  # px the detail pane keeps when the list takes more than 2/3


class _ListSplitter(QSplitter):
    """The list beside the detail pane; tells the window when its width changes."""

    def __init__(self, on_resize: Callable[[], None], parent: QWidget) -> None:
        super().__init__(Qt.Orientation.Horizontal, parent)
        self._on_resize = on_resize

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt's name
        super().resizeEvent(event)
        self._on_resize()

class MainWindow(QMainWindow):
    locked = Signal()
    unlocked = Signal()

    def __init__(self, bridge: Bridge | None = None, *, base: Path | None = None,
                 idle_ms: int | None = None, use_tray: bool = True,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.bridge = bridge or Bridge(parent=self)
        self._fixed_idle_ms = idle_ms
        self._reopen_draft: str | None = None
        self.is_unlocked = False
        self.overdue = 0
        self._open_folder: Path | None = None  # the unlocked vault's folder
        self.setWindowTitle(self.tr("Sharelog"))  # never anything about a person
        self.setWindowIcon(app_icon())
        self.resize(1280, 800)

        keep_qt_settings_in(base)
        self.forget = ForgetOnLock(self)  # the clipboard and typing histories, at a lock
        self.commands = ShellActions(self)
        self.commands.install(self)
        self.vault_screen = VaultScreen(self.bridge, base, self)
        self.decisions = DecisionsPanel(self.bridge, self)
        self.detail = DetailPane(self.bridge, self)
        self._splitter_by_user = False
        self.splitter = _ListSplitter(self._fit_splitter, self)
        self.splitter.addWidget(self.decisions)
        self.splitter.addWidget(self.detail)
        self.splitter.setStretchFactor(0, 2)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([960, 480])
        self.splitter.setChildrenCollapsible(False)
        # Until the person drags the divider, the list gets room for all its columns
        # when the window allows it (see _fit_splitter).
        self.splitter.splitterMoved.connect(self._divider_dragged)
        self.followups = FollowUpsPanel(self.bridge, self)
        self.form = DecisionForm(self.bridge, self)
        self.splitter.setContentsMargins(8, 6, 8, 0)
        self.pages = QStackedWidget(self)
        for page in (self.splitter, self.followups, self.form):
            self.pages.addWidget(page)
        self.screens = QStackedWidget(self)
        self.screens.addWidget(self.vault_screen)
        self.screens.addWidget(self.pages)
        self.setCentralWidget(self.screens)
        self.sync = SyncInWindow(self, self.bridge, self.commands.sync_menu,
                                 ask_backup_target=ask_backup_target)
        self.sync_label = self.sync.label
        self.statusBar().addPermanentWidget(self.sync_label)

        self.idle = IdleWatcher(idle_ms or 5 * 60 * 1000, self)
        app = QApplication.instance()
        if app is not None:
            app.installEventFilter(self.idle)
            install_dialog_keys(app)
        self.tray = Tray(self) if use_tray else None
        self._overdue_timer = QTimer(self)
        self._overdue_timer.setInterval(OVERDUE_CHECK_MS)
        self._overdue_timer.timeout.connect(self.refresh_counts)
        self._connect()
        self.commands.set_unlocked(False)

    def _connect(self) -> None:
        a = self.commands
        a.new_share.triggered.connect(lambda: self.new_decision("disclosure"))
        a.new_request_made.triggered.connect(lambda: self.new_decision("request_made"))
        a.new_request_received.triggered.connect(lambda: self.new_decision("request_received"))
        a.find.triggered.connect(self.focus_find)
        a.lock.triggered.connect(self.lock)
        a.decisions.triggered.connect(self.show_decisions)
        a.followups.triggered.connect(self.show_followups)
        a.quit.triggered.connect(self.close)
        a.shortcuts.triggered.connect(self.show_shortcuts)
        a.about.triggered.connect(self.show_about)
        a.preferences.triggered.connect(self.show_preferences)
        a.change_passphrase.triggered.connect(self.show_change_passphrase)
        a.drafts_menu.aboutToShow.connect(self._fill_drafts_menu)
        self.vault_screen.opened.connect(self.on_opened)
        self.decisions.columns_changed.connect(self._fit_splitter)  # "Recorded by" shown
        # "Someone else: sign in" when an administrator preset the team's store: the new
        # vault goes straight on to the sign-in dialog (cancelled, the offer bar stays).
        # (Read once while the window is built, before it shows: a small file at most.)
        self._store_preset = account.preset_store_url() is not None
        self.vault_screen.set_sign_in_available(self._store_preset)
        self.vault_screen.vault_created.connect(self._after_vault_created)
        self.vault_screen.restore_requested.connect(lambda: restore_from_window(self))
        self.decisions.record_selected.connect(self.detail.show_record)
        self.detail.correct_requested.connect(self.correct)
        a.correct_record.triggered.connect(self.detail.correct)
        a.withdraw_record.triggered.connect(self.detail.withdraw)
        a.export_record.triggered.connect(self.detail.export)
        self.detail.actions_changed.connect(self._update_record_actions)
        self.pages.currentChanged.connect(self._update_record_actions)
        self.bridge.changed.connect(self.on_changed)
        self.bridge.changeset.connect(self.on_changeset)
        self.followups.resolve_requested.connect(self.resolve_conflict)
        self.idle.idle.connect(self.lock)
        self.followups.open_record.connect(self.open_record)
        self.followups.overdue_count_changed.connect(self.set_overdue)
        self.form.saved.connect(self.on_form_saved)
        self.form.draft_saved.connect(self._draft_saved)
        self.form.closed.connect(self.show_decisions)
        self.sync.message.connect(lambda text: self.statusBar().showMessage(text, 10_000))
        if self.tray is not None:
            self.sync.tray_note.connect(self.tray.set_sync_note)
            self.tray.show_requested.connect(self._raise)
            self.tray.lock_requested.connect(self.lock)
            self.tray.quit_requested.connect(self.close)

    # -- lifecycle -----------------------------------------------------------
    def start(self) -> None:
        self.screens.setCurrentWidget(self.vault_screen)
        self.vault_screen.start()

    def _after_vault_created(self, _opened: Opened) -> None:
        if self._store_preset:
            self.sync.open_sign_in()

    def on_opened(self, opened: Opened) -> None:
        self.bridge.set_service(opened.service)
        self.is_unlocked = True
        # Another person's vault: their draft is not reopened, Qt remembers their folders.
        if opened.folder != self._open_folder:
            self._reopen_draft = None
        self._open_folder = opened.folder
        keep_qt_settings_in(opened.folder)
        self.idle.set_timeout(self._fixed_idle_ms or idle_timeout_ms(opened.settings))
        self.idle.start()
        apply_theme(opened.settings.theme)  # another front end may have changed it
        self.commands.set_unlocked(True)
        self.screens.setCurrentWidget(self.pages)
        self.show_decisions()
        self.decisions.reload()
        reopen, self._reopen_draft = self._reopen_draft, None
        if reopen:
            self.resume_draft(reopen)
        self.followups.refresh()
        self.refresh_counts(notify=True)
        self._overdue_timer.start()
        self.bridge.read(lambda s: len(s.drafts()), self._remind_of_drafts, lambda _exc: None)
        self.sync.start(opened.service)
        after_unlock(self, opened.service)  # changes made here that the vault lacks
        self.unlocked.emit()

    def _draft_saved(self, _draft_id: str) -> None:
        # The open form says "Draft saved" itself; the status bar says it only once the
        # form has closed (Esc, Keep draft), so it is never said in two places at once.
        if self.is_unlocked and self.pages.currentWidget() is not self.form:
            self.statusBar().showMessage(
                self.tr("Draft saved: File > Resume a draft opens it again."), 5000)

    def _remind_of_drafts(self, count: int) -> None:
        """Work left half-done (at a lock, a crash or Esc) is offered back, without content."""
        if not count or not self.is_unlocked:
            return
        if self.pages.currentWidget() is self.form and getattr(self.form, "draft_id", None):
            count -= 1  # the one open again in the form
            if not count:
                self.statusBar().showMessage(
                    self.tr("Your unfinished work is back in the form."), 10_000)
                return
        text = (self.tr("You have an unfinished draft: File > Resume a draft.") if count == 1
                else self.tr("You have %1 unfinished drafts: File > Resume a draft.").replace(
                    "%1", str(count)))
        self.statusBar().showMessage(text, 30_000)

    def lock(self) -> None:
        """Clear every widget that showed record content, lock the vault, ask again."""
        if not self.is_unlocked:
            return
        self.is_unlocked = False
        self.idle.stop()
        self._overdue_timer.stop()
        for widget in QApplication.topLevelWidgets():
            if isinstance(widget, QDialog) and widget.isVisible():
                widget.reject()
        self.decisions.clear()
        self.detail.clear()
        form_open = self.pages.currentWidget() is self.form
        kept = self.form.clear()
        # Work open in the form comes back there after unlock, not only in File > Resume.
        self._reopen_draft = kept if form_open else None
        self.followups.clear()
        self.bridge.lock()
        self.forget.now()
        keep_qt_settings_in(self.vault_screen.base)  # the unlock screen's, nobody's
        self.set_overdue(0)
        self.sync.stop()
        self.statusBar().clearMessage()
        self.commands.set_unlocked(False)
        self.pages.setCurrentWidget(self.splitter)
        self.screens.setCurrentWidget(self.vault_screen)
        self.vault_screen.show_unlock()
        if self.tray is not None:
            self.tray.set_overdue(0, locked=True)
        self.locked.emit()

    def _divider_dragged(self, *_: object) -> None:
        self._splitter_by_user = True

    def _fit_splitter(self) -> None:
        """Two thirds for the list, more if its columns need it, while the detail pane
        keeps DETAIL_MIN_WIDTH; on a narrower window the list scrolls sideways."""
        if self._splitter_by_user:
            return
        total = sum(self.splitter.sizes())
        if total <= 0:
            return
        wanted = max(total * 2 // 3, self.decisions.wanted_width())
        wanted = max(min(wanted, total - DETAIL_MIN_WIDTH), total // 2)
        self.splitter.setSizes([wanted, total - wanted])

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt's name
        # A new colour scheme (Preferences, or the system's when following it): the
        # detail pane's text carries colours, so it is made again.
        if event.type() in (QEvent.Type.PaletteChange, QEvent.Type.ApplicationPaletteChange) \
                and self.is_unlocked:
            self.detail.reload()
        super().changeEvent(event)

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802
        self.shutdown()
        super().closeEvent(event)

    def shutdown(self) -> None:
        if self.is_unlocked:
            self.lock()
        app = QApplication.instance()
        if app is not None:
            app.removeEventFilter(self.idle)
        if self.tray is not None:
            self.tray.hide()
        self.vault_screen.stop_waiting()
        self.sync.shutdown()
        self.bridge.shutdown()

    # -- navigation ------------------------------------------------------------
    def show_decisions(self) -> None:
        self.commands.decisions.setChecked(True)
        self.pages.setCurrentWidget(self.splitter)

    def show_followups(self) -> None:
        self.commands.followups.setChecked(True)
        self.pages.setCurrentWidget(self.followups)
        self.followups.refresh()

    def _show_form(self) -> bool:
        self.commands.decisions.setChecked(False)
        self.commands.followups.setChecked(False)
        self.pages.setCurrentWidget(self.form)
        return True

    def new_decision(self, direction: str) -> None:
        if self.is_unlocked and self._show_form():
            self.form.start_new(direction)

    def correct(self, record_id: str) -> None:
        if self.is_unlocked and self._show_form():
            self.form.start_correction(record_id)

    def resume_draft(self, draft_id: str) -> None:
        if self.is_unlocked and self._show_form():
            self.form.resume_draft(draft_id)

    def focus_find(self) -> None:
        self.show_decisions()
        self.decisions.focus_search()

    def open_record(self, record_id: str) -> None:
        """Show a record in the list, selected; the detail pane follows the selection."""
        self.show_decisions()
        self.decisions.reveal_record(record_id)

    def _update_record_actions(self, *_args: object) -> None:
        """The Record menu acts on the record shown beside the list, and only there."""
        here = self.is_unlocked and self.pages.currentWidget() is self.splitter
        self.commands.set_record_state(can_correct=here and self.detail.can_correct(),
                                       can_export=here and self.detail.can_export())

    def on_form_saved(self, record_id: str) -> None:
        self.statusBar().showMessage(self.tr("Decision saved."), 5000)
        self.open_record(record_id)

    def _raise(self) -> None:
        self.showNormal()
        self.raise_()
        self.activateWindow()

    # -- data changes ------------------------------------------------------------
    def on_changed(self, kinds: frozenset[str]) -> None:
        if not self.is_unlocked:
            return
        self.refresh_counts()

    def on_changeset(self, changes: Any) -> None:
        """Which records changed (a save, a pulled page): the list applies the difference,
        keeping its selection and the row at its top; the pane reloads only if it shows
        one of them, keeping its tab and scroll."""
        if not self.is_unlocked:
            return
        if changes.records or changes.followups or changes.conflicts:
            self.decisions.refresh()
        if changes.sync or changes.records:  # a sign-in, or a sync that learnt names
            self.decisions.refresh_team()
        self.detail.refresh_for(changes)

    def resolve_conflict(self, record_id: str, followup_id: str = "") -> None:
        """The side-by-side view of a record's conflicts (from My follow-ups)."""
        if self.is_unlocked:
            from ui.decisions.conflict_dialog import open_conflict

            open_conflict(self, self.bridge, record_id, followup_id=followup_id)

    def refresh_counts(self, notify: bool = False) -> None:
        if not self.is_unlocked:
            return

        def show(overdue: int) -> None:
            if self.is_unlocked:  # (the sync status is ui.sync's: self.sync)
                self.set_overdue(overdue, notify=notify)

        self.bridge.read(lambda service: service.overdue_count(), show, lambda _exc: None)

    def set_overdue(self, count: int, notify: bool = False) -> None:
        self.overdue = count if self.is_unlocked else 0
        action = self.commands.followups
        if self.overdue:
            action.setText(self.tr("My follow-ups (%1 overdue)").replace("%1", str(self.overdue)))
        else:
            action.setText(self.tr("My follow-ups"))
        if self.tray is not None and self.is_unlocked:
            self.tray.set_overdue(self.overdue, notify=notify and not self.isActiveWindow())

    def _fill_drafts_menu(self) -> None:
        menu: QMenu = self.commands.drafts_menu
        menu.clear()
        loading = menu.addAction(self.tr("Loading…"))
        loading.setEnabled(False)

        def fill(drafts: list[Any]) -> None:
            menu.clear()
            kinds = {"decision": self.tr("new decision"), "correction": self.tr("correction")}
            for d in drafts:
                text = self.tr("Draft saved %1 (%2)").replace(
                    "%1", format_when(d.updated_at[:16])).replace(
                    "%2", kinds.get(d.kind, self.tr("decision")))
                action = menu.addAction(text)
                action.triggered.connect(lambda _c=False, did=d.draft_id: self.resume_draft(did))
            if not drafts:
                menu.addAction(self.tr("No drafts")).setEnabled(False)

        self.bridge.read(lambda s: s.drafts(), fill, lambda _exc: menu.clear())

    # -- preferences and passphrase ------------------------------------------------
    def show_preferences(self) -> None:
        if self.is_unlocked:
            open_preferences(self, self.bridge, self.vault_screen.folder, self.apply_preferences)

    def apply_preferences(self, settings: Settings) -> None:
        """Saved preferences take effect now: idle lock, colour scheme, new follow-ups."""
        if self._fixed_idle_ms is None:  # tests fix the idle time; keep theirs
            self.idle.set_timeout(idle_timeout_ms(settings))
        apply_theme(settings.theme)
        if self.is_unlocked:
            days = settings.followup_working_days
            # On the vault worker, so it never changes under a save in progress.
            self.bridge.write(lambda s: s.set_followup_working_days(days),
                              None, lambda _exc: None, changes=())

    def show_change_passphrase(self) -> None:
        if self.is_unlocked:
            open_change_passphrase(self, self.bridge)

    # -- help ---------------------------------------------------------------------
    def show_shortcuts(self) -> None:
        ShortcutsDialog([*self.commands.all(), *self.sync.actions], self).exec()

    def show_about(self) -> None:
        QMessageBox.about(self, self.tr("About Sharelog"), self.tr(
            "Sharelog %1\n\nAn encrypted record of information-sharing decisions "
            "and their follow-ups.").replace("%1", __version__))
