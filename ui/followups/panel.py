"""'My follow-ups': what is overdue, due today, this week, later; mark done, cancel, reschedule."""

from __future__ import annotations

import datetime as dt
from typing import Any

from PySide6.QtCore import QItemSelection, QModelIndex, Qt, Signal
from PySide6.QtGui import QFont, QFontMetrics, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTreeView,
    QVBoxLayout,
    QWidget,
)

from app.model import FollowUp
from ui.bridge import DECISIONS, FOLLOWUPS, Bridge
from ui.followups.model import FollowUpsModel
from ui.widgets import dialogs
from ui.widgets.dates import format_when

REFRESH_ON = {FOLLOWUPS, DECISIONS}
NAME_COLUMN_CHARS = 36  # "Yasmin Morgan (C482913)", "Dr R. Mensah, GP, Riverside…"


class FollowUpsPanel(QWidget):
    open_record = Signal(str)
    overdue_count_changed = Signal(int)
    # A follow-up changed in two places at once: (record id, follow-up id) for the shell
    # to open the record's side-by-side view (ui.decisions.conflict_dialog).
    resolve_requested = Signal(str, str)

    def __init__(self, bridge: Bridge, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.bridge = bridge
        self.setAccessibleName(self.tr("My follow-ups"))
        self.model = FollowUpsModel(self)
        self._overdue: int | None = None
        self._generation = 0
        self._today = dt.date.today()

        layout = QVBoxLayout(self)
        heading = QLabel(self.tr("My follow-ups"), self)
        heading.setStyleSheet("font-size: 15px; font-weight: bold;")
        layout.addWidget(heading)
        self.view = QTreeView(self)
        self.view.setAccessibleName(self.tr("My follow-ups, grouped by when they are due"))
        self.view.setModel(self.model)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.view.setUniformRowHeights(True)
        self.view.setAlternatingRowColors(True)
        self.view.setExpandsOnDoubleClick(False)
        self._size_columns()
        for group_row in range(self.model.rowCount()):
            self.view.setFirstColumnSpanned(group_row, QModelIndex(), True)
        self.view.expandAll()
        self.model.rowsInserted.connect(self._expand_groups)
        self.view.doubleClicked.connect(self._open_index)
        self.view.activated.connect(self._open_index)
        layout.addWidget(self.view, 1)
        heading.setBuddy(self.view)

        self.message = QLabel(self)
        self.message.setWordWrap(True)
        self.message.setVisible(False)
        self.message.setAccessibleName(self.tr("Follow-up messages"))
        layout.addWidget(self.message)

        buttons = QHBoxLayout()
        self.open_button = self._button(self.tr("&Open record"), self._open_selected, buttons)
        self.done_button = self._button(self.tr("Mark &done…"), self.mark_done, buttons)
        self.reschedule_button = self._button(self.tr("&Reschedule…"), self.reschedule, buttons)
        self.cancel_button = self._button(self.tr("&Cancel follow-up…"), self.cancel, buttons)
        self.resolve_button = self._button(self.tr("Choose what &stands…"), self.resolve,
                                           buttons)
        buttons.addStretch(1)
        layout.addLayout(buttons)
        QShortcut(QKeySequence("Ctrl+D"), self, self.mark_done,
                  context=Qt.ShortcutContext.WidgetWithChildrenShortcut)
        selection = self.view.selectionModel()
        if selection is not None:
            selection.selectionChanged.connect(self._selection_changed)
        self._selection_changed(QItemSelection(), QItemSelection())
        bridge.changed.connect(self._on_changed)

    def _size_columns(self) -> None:
        """Whole dates and overdue counts; names readable; what to do takes the rest.

        Due and Days overdue fit their text; Person and case, and With, start wide
        enough for a name and its case or organisation (the whole text is in the
        tooltip, and the columns can be dragged wider); What to do stretches.
        """
        header = self.view.header()
        header.setStretchLastSection(False)
        # Fixed widths measured from sample text, not ResizeToContents: that asks the model
        # for up to 1,000 rows' text on every change, which held the UI thread for
        # hundreds of ms with a long backlog.
        metrics = self.view.fontMetrics()
        char = metrics.averageCharWidth()
        bold = QFont(self.view.font())
        bold.setBold(True)
        padding = 2 * char + 8
        due = max(self.view.indentation() + max(metrics.horizontalAdvance(
                      format_when(f"2026-{m:02d}-28")) for m in range(1, 13)),
                  QFontMetrics(bold).horizontalAdvance(self.tr("Due today") + " (9999)"),
                  header.fontMetrics().horizontalAdvance(self.tr("Due")))
        overdue = max(metrics.horizontalAdvance("9999"),
                      header.fontMetrics().horizontalAdvance(self.tr("Days overdue")))
        for column, width in ((FollowUpsModel.DUE, due), (FollowUpsModel.DAYS_OVERDUE, overdue)):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.Interactive)
            self.view.setColumnWidth(column, width + padding)
        for column, chars in ((FollowUpsModel.SUBJECTS, NAME_COLUMN_CHARS),
                              (FollowUpsModel.COUNTERPARTY, NAME_COLUMN_CHARS)):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.Interactive)
            self.view.setColumnWidth(column, chars * char)
        header.setSectionResizeMode(FollowUpsModel.ACTION, QHeaderView.ResizeMode.Stretch)
        self.view.setTextElideMode(Qt.TextElideMode.ElideRight)

    def _button(self, text: str, slot: Any, layout: QHBoxLayout) -> QPushButton:
        button = QPushButton(text, self)
        button.setAccessibleName(text.replace("&", "").rstrip("…"))
        button.clicked.connect(slot)
        layout.addWidget(button)
        return button

    # -- public API ---------------------------------------------------------------------
    def refresh(self) -> None:
        if self.bridge.service is None:
            return
        generation = self._generation

        def fetch(service: Any) -> tuple[dt.date, dict[str, list[FollowUp]],
                                         dict[str, tuple[str, str]]]:
            given = {fid: (g.by_name, g.at)
                     for fid, g in service.followups_given_to_me().items()}
            return service.today(), service.followups_by_bucket(), given

        def got(result: tuple[dt.date, dict[str, list[FollowUp]],
                              dict[str, tuple[str, str]]]) -> None:
            if generation != self._generation:
                return
            today, groups, given = result
            self._today = today
            self.model.set_followups(groups, today, given)
            self._selection_changed(QItemSelection(), QItemSelection())
            overdue = self.model.count("overdue")
            if overdue != self._overdue:
                self._overdue = overdue
                self.overdue_count_changed.emit(overdue)

        self.bridge.read(fetch, got, self._failed)

    def clear(self) -> None:
        """Forget everything shown (called on lock)."""
        self._generation += 1
        self.model.clear()
        self._show_message("")
        if self._overdue:
            self._overdue = 0
            self.overdue_count_changed.emit(0)
        self._overdue = None

    def selected_followup(self) -> FollowUp | None:
        selection = self.view.selectionModel()
        if selection is None:
            return None
        for index in selection.selectedRows():
            return self.model.followup(index)
        return self.model.followup(self.view.currentIndex().siblingAtColumn(0))

    def select(self, followup_id: str) -> None:
        index = self.model.index_of(followup_id)
        if index.isValid():
            self.view.setCurrentIndex(index)

    # -- actions -------------------------------------------------------------------------
    def mark_done(self) -> None:
        fu = self.selected_followup()
        if fu is None:
            return
        outcome = dialogs.ask_reason(
            self, self.tr("Mark the follow-up done"),
            self.tr("What happened? Say whether the recipient received, understood and "
                    "acted on the information (the outcome is required)."),
            ok_text=self.tr("Mark done"), about=self.model.describe(fu))
        if outcome is None:
            return
        fid = fu.followup_id
        seen = fu.heads
        self._write(lambda s: s.complete_followup(fid, outcome, parents=seen),
                    self.tr("Marked done."))

    def cancel(self) -> None:
        fu = self.selected_followup()
        if fu is None:
            return
        reason = dialogs.ask_reason(
            self, self.tr("Cancel the follow-up"),
            self.tr("Why is this follow-up no longer needed? (a reason is required)"),
            ok_text=self.tr("Cancel follow-up"), about=self.model.describe(fu))
        if reason is None:
            return
        fid = fu.followup_id
        seen = fu.heads
        self._write(lambda s: s.cancel_followup(fid, reason, parents=seen),
                    self.tr("Follow-up cancelled."))

    def reschedule(self) -> None:
        fu = self.selected_followup()
        if fu is None:
            return
        answer = dialogs.ask_date_and_reason(
            self, self.tr("Reschedule the follow-up"), self.tr("New due date"),
            current=max(fu.due_date, self._today), earliest=self._today,
            reason_prompt=self.tr("Why the new date? (optional)"),
            ok_text=self.tr("Reschedule"), about=self.model.describe(fu))
        if answer is None:
            return
        due, reason = answer
        self._seen(fu)
        fid = fu.followup_id
        seen = fu.heads
        self._write(lambda s: s.reschedule_followup(fid, due, reason, parents=seen),
                    self.tr("Rescheduled to {date}.").format(
                        date=format_when(due.isoformat())))

    def resolve(self) -> None:
        fu = self.selected_followup()
        if fu is not None and fu.in_conflict:
            self._seen(fu)
            self.resolve_requested.emit(fu.record_id, fu.followup_id)

    def _write(self, fn: Any, done_message: str) -> None:
        self.bridge.write(fn, lambda _r: self._show_message(done_message), self._failed)

    def _seen(self, fu: FollowUp) -> None:
        """Opened or acted on: a follow-up given to this person is no longer new."""
        if self.model.is_new(fu.followup_id):
            fid = fu.followup_id
            self.bridge.write(lambda s: s.mark_followups_seen([fid]), None, self._failed)

    # -- internals -------------------------------------------------------------------------
    def _on_changed(self, kinds: frozenset[str]) -> None:
        if kinds & REFRESH_ON:
            self.refresh()

    def _failed(self, error: BaseException) -> None:
        self._show_message(dialogs.error_text(error))

    def _show_message(self, text: str) -> None:
        self.message.setText(text)
        self.message.setVisible(bool(text))

    def _expand_groups(self, parent: QModelIndex, _first: int, _last: int) -> None:
        if parent.isValid():
            self.view.expand(parent)

    def _open_index(self, index: QModelIndex) -> None:
        fu = self.model.followup(index.siblingAtColumn(0))
        if fu is not None:
            self._seen(fu)
            self.open_record.emit(fu.record_id)

    def _open_selected(self) -> None:
        fu = self.selected_followup()
        if fu is not None:
            self._seen(fu)
            self.open_record.emit(fu.record_id)

    def _selection_changed(self, _selected: QItemSelection, _deselected: QItemSelection) -> None:
        fu = self.selected_followup()
        for button in (self.open_button, self.done_button, self.reschedule_button,
                       self.cancel_button):
            button.setEnabled(fu is not None)
        self.resolve_button.setEnabled(fu is not None and fu.in_conflict)
