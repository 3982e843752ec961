"""The decisions list with search-as-you-type and filters."""

from __future__ import annotations

import datetime as dt
from typing import Any

from PySide6.QtCore import (
    QDate,
    QEvent,
    QItemSelectionModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QFocusEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QButtonGroup,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QStyle,
    QStyleOptionHeader,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from app.model import SearchFilters
from app.rights import TeamView
from ui.decisions.model import RECORD_ID_ROLE, DecisionsModel, DecisionsProxy
from ui.decisions.record_words import direction_words, longest_column_words
from ui.widgets.errors import user_message
from ui.widgets.inputs import DateBox

SEARCH_DELAY_MS = 150
MIN_SEARCH_CHARS = 2
MIN_NAME_CHARS = 16  # About and With never get narrower than this; the list scrolls instead
NO_DATE = QDate(2000, 1, 1)  # the minimum of the date boxes, shown as "Any"


class NewestFirstHeader(QHeaderView):
    """A header whose arrow points the way the list runs: down for newest (largest) first.

    Qt's styles draw an upward arrow for a descending sort; people read an arrow
    pointing down as "from the top, going down": 14 Nov above 13 Nov.
    """

    _FLIPPED = {
        QStyleOptionHeader.SortIndicator.SortUp: QStyleOptionHeader.SortIndicator.SortDown,
        QStyleOptionHeader.SortIndicator.SortDown: QStyleOptionHeader.SortIndicator.SortUp,
    }

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(Qt.Orientation.Horizontal, parent)
        self.setSectionsClickable(True)

    def initStyleOptionForIndex(self, option: QStyleOptionHeader,  # noqa: N802 - Qt's name
                                logicalIndex: int) -> None:  # noqa: N803
        super().initStyleOptionForIndex(option, logicalIndex)
        option.sortIndicator = self._FLIPPED.get(option.sortIndicator, option.sortIndicator)

    def arrow_points_down(self, logical_index: int) -> bool:
        """What the header draws for this section (for tests and accessibility checks)."""
        option = QStyleOptionHeader()
        self.initStyleOptionForIndex(option, logical_index)
        return option.sortIndicator == QStyleOptionHeader.SortIndicator.SortDown


class DecisionsTable(QTableView):
    """The list of decisions. A selected row that leaves the list (a refresh after a
    change made elsewhere) takes the selection with it: Qt would select the next row,
    and the pane would then show a different person's record unasked."""

    def rowsAboutToBeRemoved(self, parent: QModelIndex | QPersistentModelIndex,  # noqa: N802
                             start: int, end: int) -> None:
        selection = self.selectionModel()
        current = selection.currentIndex() if selection is not None else QModelIndex()
        if selection is not None and current.isValid() and start <= current.row() <= end:
            selection.clear()
        super().rowsAboutToBeRemoved(parent, start, end)

    def focusInEvent(self, event: QFocusEvent) -> None:  # noqa: N802 - Qt's name
        # Focus gives the view a current row without selecting it; Tab into the list
        # selects it, so the pane shows it (the pane shows only a selected record).
        super().focusInEvent(event)
        selection = self.selectionModel()
        if selection is not None and not selection.hasSelection() \
                and selection.currentIndex().isValid():
            selection.select(selection.currentIndex(),
                             QItemSelectionModel.SelectionFlag.ClearAndSelect
                             | QItemSelectionModel.SelectionFlag.Rows)


class DecisionsPanel(QWidget):
    record_selected = Signal(str)  # "" when nothing is selected
    columns_changed = Signal()  # a column shown or hidden: the list may want more room

    def __init__(self, bridge: Any, parent: QWidget | None = None, *,
                 page_size: int = 200) -> None:
        super().__init__(parent)
        self.bridge = bridge
        self.model = DecisionsModel(bridge, self, page_size=page_size)
        self.proxy = DecisionsProxy(self)
        self.proxy.setSourceModel(self.model)
        self._pending_select: str | None = None
        # Opening a record from elsewhere (My follow-ups, a save) may clear the search and
        # filters once if they hide it.
        self._pending_may_widen = False
        self._last_selected = ""
        self.team: TeamView | None = None
        # The record at the top of the list while rows come and go above it (a pulled
        # record, newest first), so the list does not move under the person's eyes.
        self._anchor: tuple[str, int] | None = None

        self.search = QLineEdit(self)
        self.search.setPlaceholderText(self.tr("Search names, case references, organisations…"))
        self.search.setClearButtonEnabled(True)
        self.search.setAccessibleName(self.tr("Search decisions"))
        self.search.setAccessibleDescription(
            self.tr("Results update as you type. Every word must match."))

        self.date_from = self._date_box(self.tr("Decided from"), self.tr("From any date"))
        self.date_to = self._date_box(self.tr("Decided up to"), self.tr("Up to any date"))
        self.direction = self._combo(self.tr("Type"), [
            (self.tr("Any type"), None)] + [(direction_words(d), d) for d in (
                "disclosure", "request_received", "request_made")])
        self.decision = self._combo(self.tr("Decision"), [
            (self.tr("Any decision"), None), (self.tr("Shared or asked"), "share"),
            (self.tr("Part shared or asked"), "share_partial"),
            (self.tr("Not shared or not asked"), "not_share")])
        self.consent = self._combo(self.tr("Consent"), [
            (self.tr("Any consent"), None), (self.tr("Consent given"), "given"),
            (self.tr("Consent refused"), "refused"),
            (self.tr("Consent not sought"), "not_sought")])
        self.followup = self._combo(self.tr("Follow-ups"), [
            (self.tr("Any follow-up"), None), (self.tr("Follow-up open"), "open"),
            (self.tr("Follow-up overdue"), "overdue"), (self.tr("Follow-up done"), "done"),
            (self.tr("Follow-up cancelled"), "cancelled"), (self.tr("No follow-up"), "none")])
        # A manager's: their own records, or the team's (and one practitioner's).
        self.mine_button = QPushButton(self.tr("Mine"), self)
        self.team_button = QPushButton(self.tr("Team"), self)
        self.scope = QButtonGroup(self)
        for button, name in ((self.mine_button, self.tr("Only my records")),
                             (self.team_button, self.tr("The team's records"))):
            button.setCheckable(True)
            button.setAccessibleName(name)
            button.setToolTip(name)
            self.scope.addButton(button)
        self.team_button.setChecked(True)
        self.practitioner = self._combo(self.tr("Practitioner"),
                                        [(self.tr("Every practitioner"), None)])
        self.practitioner.setMinimumContentsLength(18)  # a whole name
        for hidden in (self.mine_button, self.team_button, self.practitioner):
            hidden.hide()
        self.clear_filters = QPushButton(self.tr("Clear filters"), self)
        self.clear_filters.setAccessibleName(self.tr("Clear search and filters"))
        self.clear_filters.clicked.connect(self.reset_filters)

        self.table = DecisionsTable(self)
        self.table.setModel(self.proxy)
        self.table.setAccessibleName(self.tr("Decisions"))
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        self.table.setShowGrid(False)
        self.table.setTabKeyNavigation(False)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(
            self.table.fontMetrics().height() + 10)
        self.table.setHorizontalHeader(NewestFirstHeader(self.table))
        self.table.setSortingEnabled(True)
        self.table.horizontalHeader().setSortIndicator(DecisionsModel.DATE,
                                                       Qt.SortOrder.DescendingOrder)
        self._size_columns()

        self.count_label = QLabel(self)
        self.count_label.setAccessibleName(self.tr("Number of decisions shown"))
        self.hint_label = QLabel(self)
        self.hint_label.setAccessibleName(self.tr("Search status"))

        filters = QHBoxLayout()
        filters.setSpacing(6)
        for widget in (self.date_from, self.date_to):
            filters.addWidget(widget)
        for combo in (self.direction, self.decision, self.consent, self.followup):
            filters.addWidget(combo, 1)  # they share the room; narrow, they shorten their text
        filters.addWidget(self.clear_filters)
        top = QHBoxLayout()
        top.addWidget(self.mine_button)
        top.addWidget(self.team_button)
        top.addWidget(self.practitioner)
        top.addWidget(self.search, 1)
        status = QHBoxLayout()
        status.addWidget(self.count_label)
        status.addStretch(1)
        status.addWidget(self.hint_label)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addLayout(filters)
        layout.addWidget(self.table, 1)
        layout.addLayout(status)

        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(SEARCH_DELAY_MS)
        self._debounce.timeout.connect(self.run_query)
        self.search.textChanged.connect(self._debounce.start)
        self.search.returnPressed.connect(self._search_now)
        # Esc clears what was typed; Down goes to the results (both only from the box).
        QShortcut(QKeySequence(Qt.Key.Key_Escape), self.search, self._clear_search,
                  context=Qt.ShortcutContext.WidgetShortcut)
        QShortcut(QKeySequence(Qt.Key.Key_Down), self.search, self._to_results,
                  context=Qt.ShortcutContext.WidgetShortcut)
        for box in (self.date_from, self.date_to):
            box.dateChanged.connect(self.run_query)
        for combo in (self.direction, self.decision, self.consent, self.followup,
                      self.practitioner):
            combo.currentIndexChanged.connect(self.run_query)
        self.scope.buttonClicked.connect(self._scope_changed)
        self.proxy.rowsAboutToBeInserted.connect(self._remember_top)
        self.proxy.rowsAboutToBeRemoved.connect(self._remember_top)
        self.proxy.modelAboutToBeReset.connect(self._remember_top)
        self.proxy.rowsInserted.connect(self._keep_top)
        self.proxy.rowsRemoved.connect(self._keep_top)
        self.proxy.modelReset.connect(self._keep_top)
        self.model.loaded.connect(self._show_owner_column)
        self.model.results_shown.connect(self._to_start)
        # The detail pane shows the record selected in this list, or nothing: the
        # selection is checked again whenever rows go, come back or move.
        self.table.selectionModel().selectionChanged.connect(self._sync_selected)
        self.proxy.rowsRemoved.connect(self._sync_selected)
        self.proxy.layoutChanged.connect(self._sync_selected)
        self.model.total_changed.connect(self._show_count)
        self.model.loaded.connect(self._apply_pending_selection)
        self.model.loaded.connect(self._explain_empty)
        self.model.modelReset.connect(self._on_reset)
        self.model.load_failed.connect(
            lambda exc: self.hint_label.setText(user_message(exc)))

        self.setTabOrder(self.mine_button, self.team_button)
        self.setTabOrder(self.team_button, self.practitioner)
        self.setTabOrder(self.practitioner, self.search)
        self.setTabOrder(self.search, self.date_from)
        self.setTabOrder(self.date_from, self.date_to)
        self.setTabOrder(self.date_to, self.direction)
        self.setTabOrder(self.direction, self.decision)
        self.setTabOrder(self.decision, self.consent)
        self.setTabOrder(self.consent, self.followup)
        self.setTabOrder(self.followup, self.clear_filters)
        self.setTabOrder(self.clear_filters, self.table)
        self._show_count(0, True)

    # -- building --------------------------------------------------------------
    def _size_columns(self) -> None:
        """Short columns as wide as their longest usual text; names share what is left.

        About and With share the rest of the pane, so the list fits without a
        horizontal scroll bar; their full text is in the tooltip. Below a readable
        width for names they stop shrinking, and the list scrolls instead.
        """
        header = self.table.horizontalHeader()
        header.setHighlightSections(False)
        header.setStretchLastSection(False)
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        metrics = self.table.fontMetrics()
        padding = 2 * metrics.averageCharWidth() + 8
        samples = {
            DecisionsModel.DATE: ["30 Nov 2026 23:59"],
            DecisionsModel.CASE_REFS: ["C000000"],
            DecisionsModel.DIRECTION: longest_column_words()["direction"],
            DecisionsModel.DECISION: longest_column_words()["decision"],
            DecisionsModel.CONSENT: [self.tr("Not sought"), self.tr("Consent")],
            DecisionsModel.FOLLOWUPS: [self.tr("2 overdue"), self.tr("Follow-ups")],
            DecisionsModel.STATUS: [self.tr("In conflict"), self.tr("Withdrawn")],
            DecisionsModel.OWNER: [self.tr("Recorded by"), "Paula Practitioner"],
        }
        for column, texts in samples.items():
            width = max(metrics.horizontalAdvance(t) for t in texts) + padding
            self.table.setColumnWidth(column, width)
        self._fixed_columns = tuple(samples)
        self.table.setColumnHidden(DecisionsModel.OWNER, True)  # until others' records show
        self._min_name_width = metrics.averageCharWidth() * MIN_NAME_CHARS
        self.table.viewport().installEventFilter(self)
        self._share_name_columns()

    def wanted_width(self) -> int:
        """The panel's width that shows every column whole, names at their minimum."""
        table = self.table
        scrollbar = table.style().pixelMetric(QStyle.PixelMetric.PM_ScrollBarExtent)
        columns = (sum(table.columnWidth(c) for c in self._fixed_columns
                       if not table.isColumnHidden(c)) + 2 * self._min_name_width)
        return columns + scrollbar + 2 * table.frameWidth() + 4

    def _share_name_columns(self) -> None:
        fixed = sum(self.table.columnWidth(c) for c in self._fixed_columns
                    if not self.table.isColumnHidden(c))
        free = self.table.viewport().width() - fixed
        width = max(self._min_name_width, free // 2)
        for column in (DecisionsModel.SUBJECTS, DecisionsModel.COUNTERPARTY):
            self.table.setColumnWidth(column, width)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt's name
        if watched is self.table.viewport() and event.type() == QEvent.Type.Resize:
            self._share_name_columns()
        return super().eventFilter(watched, event)

    def _date_box(self, name: str, unset: str) -> DateBox:
        box = DateBox(self)
        box.setCalendarPopup(True)
        box.setMinimumDate(NO_DATE)
        box.setSpecialValueText(unset)  # each box says which end of the range it is
        # Qt sizes a date box by its date format; make room for the words too.
        box.setMinimumWidth(max(box.sizeHint().width(),
                                box.fontMetrics().horizontalAdvance(unset + "  ") + 36))
        box.setDate(NO_DATE)
        box.setDisplayFormat("d MMM yyyy")
        box.setAccessibleName(name)
        box.setToolTip(name)
        return box

    def _combo(self, name: str, choices: list[tuple[str, str | None]]) -> QComboBox:
        combo = QComboBox(self)
        # On a narrow window a filter shows the start of its choice, not the whole row.
        combo.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        combo.setMinimumContentsLength(6)
        for text, value in choices:
            combo.addItem(text, value)
        combo.setAccessibleName(name)
        combo.setToolTip(name)
        return combo

    # -- whose records ----------------------------------------------------------
    def set_team(self, team: TeamView | None) -> None:
        """Who is who: a manager gets Mine / Team and the practitioner filter."""
        self.team = team
        self.model.set_team(team)
        manager = team is not None and team.is_manager
        self.practitioner.blockSignals(True)
        while self.practitioner.count() > 1:
            self.practitioner.removeItem(1)
        if team is not None:
            for member in team.members:
                if not team.is_me(member.user_id):
                    self.practitioner.addItem(member.name, member.user_id)
        self.practitioner.blockSignals(False)
        for scope_widget in (self.mine_button, self.team_button, self.practitioner):
            scope_widget.setVisible(manager)
        self._show_owner_column()

    def showing_team(self) -> bool:
        return self.team is not None and self.team.is_manager and self.team_button.isChecked()

    def _scope_changed(self, *_args: object) -> None:
        self.practitioner.setEnabled(self.team_button.isChecked())
        self.run_query()

    def _owners(self) -> tuple[str, ...] | None:
        team = self.team
        if team is None or not team.is_manager:
            return None  # a practitioner's vault holds their own records
        if self.mine_button.isChecked():
            return team.my_ids
        chosen = self.practitioner.currentData()
        return team.ids_of(chosen) if chosen else None

    def _show_owner_column(self) -> None:
        shown = self.showing_team() or self.model.holds_others()
        if self.table.isColumnHidden(DecisionsModel.OWNER) == shown:
            self.table.setColumnHidden(DecisionsModel.OWNER, not shown)
            self._share_name_columns()
            self.columns_changed.emit()

    # -- keeping the list still ---------------------------------------------------
    def _remember_top(self, *_args: object) -> None:
        # Only while a refresh applies a difference: a new search or filter starts at the top.
        if self._anchor is not None or self.model.is_loading:
            return
        row = self.table.rowAt(0)
        if row <= 0:  # at the top, new rows show above: nothing to hold
            return
        index = self.proxy.index(row, 0)
        self._anchor = (str(index.data(RECORD_ID_ROLE) or ""),
                        self.table.visualRect(index).top())

    def _keep_top(self, *_args: object) -> None:
        anchor, self._anchor = self._anchor, None
        if anchor is None:
            return
        row = self.model.row_of(anchor[0])
        if row < 0:
            return
        index = self.proxy.mapFromSource(self.model.index(row, 0))
        self.table.scrollTo(index, QAbstractItemView.ScrollHint.PositionAtTop)

    def _to_start(self, _generation: int) -> None:
        """A new search, filter or sort shows its list from the top (or the record still
        selected); only a refresh keeps the place (``_keep_top``)."""
        rows = self.table.selectionModel().selectedRows()
        if rows:
            self.table.scrollTo(rows[0])
        else:
            self.table.scrollToTop()

    # -- queries ---------------------------------------------------------------
    def current_filters(self) -> SearchFilters:
        text = self.search.text().strip()
        if len(text) < MIN_SEARCH_CHARS:
            text = ""
        return SearchFilters(
            owners=self._owners(),
            text=text,
            date_from=_date_or_none(self.date_from.date()),
            date_to=_date_or_none(self.date_to.date()),
            direction=self.direction.currentData(),
            decision=self.decision.currentData(),
            consent=self.consent.currentData(),
            followup_state=self.followup.currentData(),
        )

    def run_query(self) -> int:
        """Start the query for what is typed and chosen; returns its generation."""
        self._debounce.stop()
        if self.bridge.service is None:
            return self.model.generation
        short = 0 < len(self.search.text().strip()) < MIN_SEARCH_CHARS
        self.hint_label.setText(self.tr("Type one more character to search.") if short else "")
        return self.model.set_filters(self.current_filters())

    def _search_now(self) -> None:
        self.run_query()

    def _clear_search(self) -> None:
        if self.search.text():
            self.search.clear()
            self.run_query()
        else:
            self._to_results()

    def _to_results(self) -> None:
        self.table.setFocus(Qt.FocusReason.ShortcutFocusReason)
        selection = self.table.selectionModel()
        if not selection.hasSelection() and self.proxy.rowCount():
            # Focus gives the view a current row without selecting it; the pane shows
            # only a selected one.
            current = selection.currentIndex()
            selection.setCurrentIndex(
                current if current.isValid() else self.proxy.index(0, 0),
                QItemSelectionModel.SelectionFlag.ClearAndSelect
                | QItemSelectionModel.SelectionFlag.Rows)

    def _explain_empty(self) -> None:
        """An empty list says why."""
        no_match = self.tr("No decisions match. Press Esc to clear the search, or Clear filters.")
        none_yet = self.tr("No decisions yet. Record one with New share or New request above.")
        if self.model.rowCount():
            if self.hint_label.text() in (no_match, none_yet):  # a refresh brought rows
                self.hint_label.clear()
            return
        if not self.model.is_complete or self.bridge.service is None:
            return
        self.hint_label.setText(no_match if self.current_filters() != SearchFilters()
                                else none_yet)

    def reload(self) -> None:
        """First load after unlocking: who is who, then the list."""
        if self.bridge.service is None:
            return

        def got(team: TeamView) -> None:
            self.set_team(team)
            self.run_query()

        self.bridge.read(lambda s: s.team_view(), got,
                         lambda exc: self.hint_label.setText(user_message(exc)))

    def refresh(self) -> None:
        self.model.refresh()

    def refresh_team(self) -> None:
        """After a sign-in or a sync: the store may have said who is who (a manager signing
        in gets Mine / Team without locking first). The list is queried again only if the
        view changed."""
        if self.bridge.service is None:
            return

        def got(team: TeamView) -> None:
            if team != self.team:
                self.set_team(team)
                self.run_query()

        self.bridge.read(lambda s: s.team_view(), got, lambda _exc: None)

    def reset_filters(self) -> None:
        widgets = (self.search, self.date_from, self.date_to, self.direction, self.decision,
                   self.consent, self.followup, self.practitioner)
        for w in widgets:
            w.blockSignals(True)
        self.team_button.setChecked(True)  # a manager's widest view: every record held
        self.practitioner.setEnabled(True)
        self.practitioner.setCurrentIndex(0)
        self.search.clear()
        self.date_from.setDate(NO_DATE)
        self.date_to.setDate(NO_DATE)
        for combo in (self.direction, self.decision, self.consent, self.followup):
            combo.setCurrentIndex(0)
        for w in widgets:
            w.blockSignals(False)
        self.run_query()

    def clear(self) -> None:
        """On lock: empty the list and the search box."""
        self._pending_select = None
        self._pending_may_widen = False
        self.search.clear()  # with its signals, so its clear button hides too
        self._debounce.stop()
        self.hint_label.clear()
        self.model.clear()
        self._last_selected = ""
        self._anchor = None
        self.set_team(None)

    def focus_search(self) -> None:
        self.search.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.search.selectAll()

    # -- selection ---------------------------------------------------------------
    def selected_record_id(self) -> str:
        """The record selected in the list ("" when none is): the one the pane shows."""
        rows = self.table.selectionModel().selectedRows()
        return str(rows[0].data(RECORD_ID_ROLE) or "") if rows else ""

    def select_record(self, record_id: str) -> bool:
        """Select a record if it is in the list; otherwise once it arrives."""
        row = self.model.reveal(record_id)
        if row < 0:
            self._pending_select = record_id
            return False
        self._pending_select = None
        self._pending_may_widen = False
        index = self.proxy.mapFromSource(self.model.index(row, 0))
        self.table.selectionModel().setCurrentIndex(
            index, QItemSelectionModel.SelectionFlag.ClearAndSelect
            | QItemSelectionModel.SelectionFlag.Rows)
        self.table.scrollTo(index)
        return True

    def reveal_record(self, record_id: str) -> None:
        """Select a record opened from elsewhere (My follow-ups, a saved form).

        If the search or a filter hides it, they are cleared so that the pane shows a
        record that is in the list; an older record is paged in until it is found.
        """
        if not self.select_record(record_id):
            self._pending_may_widen = True
            self.model.refresh()  # its rows decide: select, clear the filters, or page on

    def _apply_pending_selection(self) -> None:
        record_id = self._pending_select
        if not record_id or self.select_record(record_id):
            return
        if self._pending_may_widen and self.current_filters() != SearchFilters():
            self._pending_may_widen = False
            self.reset_filters()
        elif not self.model.is_complete:
            self.model.load_more()
        elif not self.model.is_loading:
            self._pending_select = None  # not in the vault's list (any more)
            self._pending_may_widen = False

    def _sync_selected(self, *_args: object) -> None:
        rid = self.selected_record_id()
        if rid != self._last_selected:
            self._last_selected = rid
            self.record_selected.emit(rid)

    def _on_reset(self) -> None:
        # A reset drops the selection without a signal: the record stays selected if the
        # new rows hold it, and the pane is emptied if not.
        if self._last_selected and self.model.reveal(self._last_selected) >= 0:
            self.select_record(self._last_selected)
        self._sync_selected()

    def _show_count(self, count: int, complete: bool) -> None:
        if complete:
            text = (self.tr("1 decision") if count == 1
                    else self.tr("%1 decisions").replace("%1", f"{count:,}"))
        else:
            text = self.tr("%1 or more decisions").replace("%1", f"{count:,}")
        self.count_label.setText(text)


def _date_or_none(value: QDate) -> dt.date | None:
    if not value.isValid() or value == NO_DATE:
        return None
    return dt.date(value.year(), value.month(), value.day())
