"""The decisions list as a table model, loaded through the bridge.

A query runs in two steps so a large vault shows its first rows at once: the
first page (``page_size`` rows), then the full result in the background. The
view sees rows in batches through ``canFetchMore``/``fetchMore``. Every query
carries a generation number; results of an older query are dropped.

After a write, ``refresh()`` reloads the same query and applies the difference
as row inserts, removals and ``dataChanged``, falling back to a reset only
when the change is large.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QCoreApplication,
    QModelIndex,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
    Signal,
)
from PySide6.QtGui import QBrush, QPalette
from PySide6.QtWidgets import QApplication

from app.model import (
    LIST_PAGE_ROWS,
    Decision,
    DecisionSummary,
    Direction,
    RecordStatus,
    SearchFilters,
)
from app.rights import TeamView
from app.service import QueryCancelled
from ui.decisions.record_words import decision_words, direction_words
from ui.widgets.dates import format_when
from ui.widgets.resources import error_colour

Index = QModelIndex | QPersistentModelIndex

SORT_ROLE = int(Qt.ItemDataRole.UserRole) + 1
RECORD_ID_ROLE = int(Qt.ItemDataRole.UserRole) + 2
SUMMARY_ROLE = int(Qt.ItemDataRole.UserRole) + 3

_DISPLAY = int(Qt.ItemDataRole.DisplayRole)
_TOOLTIP = int(Qt.ItemDataRole.ToolTipRole)
_FOREGROUND = int(Qt.ItemDataRole.ForegroundRole)
_HANDLED_ROLES = frozenset({_DISPLAY, _TOOLTIP, _FOREGROUND, SORT_ROLE, RECORD_ID_ROLE,
                            SUMMARY_ROLE})

# Beyond this many added or removed rows a refresh resets instead of diffing.
MAX_DIFF = 200


def _t(text: str) -> str:
    return QCoreApplication.translate("DecisionsModel", text)


class DecisionsModel(QAbstractTableModel):
    DATE = 0
    SUBJECTS = 1
    CASE_REFS = 2
    DIRECTION = 3
    DECISION = 4
    CONSENT = 5
    COUNTERPARTY = 6
    FOLLOWUPS = 7
    STATUS = 8
    OWNER = 9  # whose record: shown when the list holds others' (a manager's Team)
    COLUMN_COUNT = 10

    loading_changed = Signal(bool)
    # Rows known so far, and whether that is the whole result.
    total_changed = Signal(int, bool)
    # A query's first rows are in the model (generation number).
    results_shown = Signal(int)
    # A load finished (first page, full result or refresh).
    loaded = Signal()
    load_failed = Signal(object)

    def __init__(self, bridge: Any, parent: Any = None, *, page_size: int = LIST_PAGE_ROWS,
                 fetch_batch: int = 250) -> None:
        super().__init__(parent)
        self.bridge = bridge
        self.page_size = page_size
        self.fetch_batch = fetch_batch
        self._rows: list[DecisionSummary] = []
        self._shown = 0
        self._complete = True
        self._filters = SearchFilters()
        self._generation = 0
        self._sort: tuple[int, Qt.SortOrder] | None = None
        self._loading = False
        self._paging = False
        self._want_more = False
        self.next_page_size = 1000
        self._cells: dict[str, tuple[DecisionSummary, tuple[str, ...]]] = {}
        self._brush_cache: tuple[int, tuple[QBrush, QBrush]] | None = None
        self.team: TeamView | None = None
        self._headers = {
            self.DATE: _t("Decided"),
            self.SUBJECTS: _t("About"),
            self.CASE_REFS: _t("Case ref"),
            self.DIRECTION: _t("Type"),
            self.DECISION: _t("Decision"),
            self.CONSENT: _t("Consent"),
            self.COUNTERPARTY: _t("With"),
            self.FOLLOWUPS: _t("Follow-ups"),
            self.STATUS: _t("Status"),
            self.OWNER: _t("Recorded by"),
        }
        # What happened, in the words of ui.decisions.record_words ("Not shared", "Asked").
        self._direction_words = {d.value: direction_words(d.value) for d in Direction}
        self._decision_words = {(d.value, c.value): decision_words(d.value, c.value)
                                for d in Direction for c in Decision}
        self._consent_words = {
            "given": _t("Given"), "refused": _t("Refused"), "not_sought": _t("Not sought"),
        }

    def set_team(self, team: TeamView | None) -> None:
        """Who is who, for the Recorded by column (names as the store gave them)."""
        self.team = team
        self._cells.clear()
        if self._shown:
            self.dataChanged.emit(self.index(0, self.OWNER),
                                  self.index(self._shown - 1, self.OWNER))

    def holds_others(self) -> bool:
        """Whether any loaded record is someone else's."""
        team = self.team
        return team is not None and any(not team.is_me(r.owner_id) for r in self._rows)

    # -- queries -----------------------------------------------------------
    @property
    def filters(self) -> SearchFilters:
        return self._filters

    @property
    def generation(self) -> int:
        return self._generation

    @property
    def is_complete(self) -> bool:
        return self._complete

    @property
    def is_loading(self) -> bool:
        return self._loading

    @property
    def total_known(self) -> int:
        return len(self._rows)

    def set_filters(self, filters: SearchFilters) -> int:
        """Run a new query; returns its generation number."""
        self._filters = dataclasses.replace(filters, limit=None)
        gen = self._next_generation()
        self._set_loading(True)
        if self._sort is None:
            first = dataclasses.replace(self._filters, limit=self.page_size)
            self.bridge.read(lambda s: self._query_if_current(s, gen, first),
                             lambda rows: self._on_first_page(gen, rows),
                             lambda exc: self._on_error(gen, exc))
        else:
            self._load_all_sorted(gen, first=True)
        return gen

    def refresh(self) -> None:
        """Reload what is loaded after a change and apply only the difference."""
        if self.bridge.service is None:
            return
        gen = self._next_generation()
        if self._sort is not None:
            self._load_all_sorted(gen, first=False)
            return
        limit = max(self.page_size, len(self._rows))
        filters = dataclasses.replace(self._filters, limit=limit)
        self.bridge.read(lambda s: self._query_if_current(s, gen, filters),
                         lambda rows: self._on_refreshed(gen, rows, limit),
                         lambda exc: self._on_error(gen, exc))

    def clear(self) -> None:
        """Forget every row (on lock). Results still in flight are dropped."""
        self._next_generation()
        self.beginResetModel()
        self._rows = []
        self._cells.clear()
        self._shown = 0
        self._complete = True
        self.endResetModel()
        self._filters = SearchFilters()
        self._set_loading(False)
        self.total_changed.emit(0, True)

    def _next_generation(self) -> int:
        self._generation += 1
        self._paging = False
        self._want_more = False
        return self._generation

    def _query_if_current(self, service: Any, gen: int,
                          filters: SearchFilters) -> list[DecisionSummary] | None:
        # Runs on the vault worker: a query overtaken by a newer one is skipped.
        if gen != self._generation:
            return None
        try:
            rows: list[DecisionSummary] = service.list_decisions(
                filters, cancelled=lambda: gen != self._generation)
        except QueryCancelled:
            return None
        return rows

    def _on_first_page(self, gen: int, rows: list[DecisionSummary] | None) -> None:
        if gen != self._generation or rows is None:
            return
        self.beginResetModel()
        self._rows = list(rows)
        self._shown = len(rows)
        self._complete = len(rows) < self.page_size
        self.endResetModel()
        self._set_loading(False)
        self.results_shown.emit(gen)
        self.total_changed.emit(len(self._rows), self._complete)
        self.loaded.emit()
        if not self._filters.text:
            # Read ahead so scrolling finds rows waiting. Not for searches: a text
            # query costs more, and the next keystroke's query must not queue behind it.
            self._request_next_page()

    def _request_next_page(self) -> None:
        """Keyset paging: the rows after the last loaded one, newest first."""
        if self._complete or self._paging or not self._rows or self._sort is not None:
            return
        last = self._rows[-1]
        limit = self.next_page_size
        filters = dataclasses.replace(self._filters, before=(last.decided_at, last.record_id),
                                      limit=limit)
        gen = self._generation
        self._paging = True
        self.bridge.read(lambda s: self._query_if_current(s, gen, filters),
                         lambda rows: self._on_next_page(gen, rows, limit),
                         lambda exc: self._on_error(gen, exc))

    def _on_next_page(self, gen: int, rows: list[DecisionSummary] | None, limit: int) -> None:
        if gen != self._generation or rows is None:
            return
        self._paging = False
        self._rows.extend(rows)
        self._complete = len(rows) < limit
        self.total_changed.emit(len(self._rows), self._complete)
        if self._want_more:
            self._want_more = False
            self.fetchMore(QModelIndex())
        self.loaded.emit()

    def _load_all_sorted(self, gen: int, *, first: bool) -> None:
        """A sort other than newest first needs the whole result; it is sorted off the UI thread."""
        filters = dataclasses.replace(self._filters, limit=None)
        sort = self._sort

        def load(service: Any) -> list[DecisionSummary] | None:
            rows = self._query_if_current(service, gen, filters)
            return None if rows is None else self._sorted(rows, sort)

        self._set_loading(True)
        self.bridge.read(load, lambda rows: self._on_all_sorted(gen, rows, first),
                         lambda exc: self._on_error(gen, exc))

    def _on_all_sorted(self, gen: int, rows: list[DecisionSummary] | None,
                       first: bool) -> None:
        if gen != self._generation or rows is None:
            return
        if first:
            self._reset_to(rows, shown=min(len(rows), self.page_size))
            self.results_shown.emit(gen)
        else:
            self._merge(rows)
        self._complete = True
        self._set_loading(False)
        self.total_changed.emit(len(self._rows), True)
        self.loaded.emit()

    def _on_refreshed(self, gen: int, rows: list[DecisionSummary] | None, limit: int) -> None:
        if gen != self._generation or rows is None:
            return
        self._merge(list(rows))
        self._complete = len(rows) < limit
        self._set_loading(False)
        self.total_changed.emit(len(self._rows), self._complete)
        self.loaded.emit()

    def _on_error(self, gen: int, exc: BaseException) -> None:
        if gen != self._generation:
            return
        self._paging = False
        self._set_loading(False)
        self.load_failed.emit(exc)

    def _set_loading(self, loading: bool) -> None:
        if loading != self._loading:
            self._loading = loading
            self.loading_changed.emit(loading)

    # -- applying differences ------------------------------------------------
    def _merge(self, new_rows: list[DecisionSummary]) -> None:
        old_ids = [r.record_id for r in self._rows]
        new_ids = [r.record_id for r in new_rows]
        if old_ids == new_ids:
            self._replace_changed(new_rows)
            return
        old_set, new_set = set(old_ids), set(new_ids)
        added, removed = new_set - old_set, old_set - new_set
        kept_old = [i for i in old_ids if i not in removed]
        kept_new = [i for i in new_ids if i not in added]
        if len(added) + len(removed) > MAX_DIFF or kept_old != kept_new:
            self._reset_to(new_rows)
            return
        for row in range(len(self._rows) - 1, -1, -1):
            if self._rows[row].record_id in removed:
                if row < self._shown:
                    self.beginRemoveRows(QModelIndex(), row, row)
                    del self._rows[row]
                    self._shown -= 1
                    self.endRemoveRows()
                else:
                    del self._rows[row]
        for row, summary in enumerate(new_rows):
            if summary.record_id in added:
                if row <= self._shown:
                    self.beginInsertRows(QModelIndex(), row, row)
                    self._rows.insert(row, summary)
                    self._shown += 1
                    self.endInsertRows()
                else:
                    self._rows.insert(row, summary)
        self._replace_changed(new_rows)
        if self._shown < min(self.page_size, len(self._rows)):
            self.fetchMore(QModelIndex())

    def _replace_changed(self, new_rows: list[DecisionSummary]) -> None:
        old = self._rows
        self._rows = new_rows
        last = self.COLUMN_COUNT - 1
        start = None
        for row in range(self._shown + 1):
            differs = row < self._shown and old[row] != new_rows[row]
            if differs and start is None:
                start = row
            elif not differs and start is not None:
                self.dataChanged.emit(self.index(start, 0), self.index(row - 1, last))
                start = None

    def _reset_to(self, rows: list[DecisionSummary], shown: int | None = None) -> None:
        if shown is None:
            shown = min(len(rows), max(self.page_size, self._shown))
        self.beginResetModel()
        self._rows = rows
        self._shown = shown
        self.endResetModel()

    # -- sorting (the whole result, not only the rows fetched so far) ------------
    def _sorted(self, rows: list[DecisionSummary],
                sort: tuple[int, Qt.SortOrder] | None) -> list[DecisionSummary]:
        if sort is None:
            return rows
        column, order = sort
        return sorted(rows, key=lambda r: self._sort_key(r, column),
                      reverse=order == Qt.SortOrder.DescendingOrder)

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        if not 0 <= column < self.COLUMN_COUNT:
            return
        native = column == self.DATE and order == Qt.SortOrder.DescendingOrder
        wanted = None if native else (column, order)
        if wanted == self._sort:
            return
        self._sort = wanted
        if not self._complete or (wanted is None and len(self._rows) > self.page_size):
            # Reload: newest-first pages, or the whole result sorted on the worker.
            if self.bridge.service is not None:
                self.set_filters(self._filters)
            return
        self.layoutAboutToBeChanged.emit()
        persistent = self.persistentIndexList()
        ids = [self._rows[p.row()].record_id if p.isValid() else None for p in persistent]
        self._rows = self._sorted(self._rows, wanted or (self.DATE, order))
        where = {r.record_id: i for i, r in enumerate(self._rows)}
        moved = []
        for p, rid in zip(persistent, ids, strict=True):
            row = where.get(rid, -1) if rid else -1
            moved.append(self.index(row, p.column()) if 0 <= row < self._shown
                         else QModelIndex())
        self.changePersistentIndexList(persistent, moved)
        self.layoutChanged.emit()

    def _sort_key(self, r: DecisionSummary, column: int) -> Any:
        keys: dict[int, Callable[[], Any]] = {
            self.DATE: lambda: r.decided_at + r.record_id,
            self.SUBJECTS: r.subjects.casefold,
            self.CASE_REFS: lambda: r.case_refs,
            self.DIRECTION: lambda: self._direction_words.get(r.direction, r.direction),
            self.DECISION: lambda: self._decision_words.get((r.direction, r.decision),
                                                            r.decision),
            self.CONSENT: lambda: self._consent_words.get(r.consent, r.consent),
            self.COUNTERPARTY: r.counterparty.casefold,
            self.FOLLOWUPS: lambda: r.overdue_followups * 100_000 + r.open_followups,
            self.STATUS: lambda: self._display(r, self.STATUS),
            self.OWNER: lambda: self._display(r, self.OWNER).casefold(),
        }
        return keys[column]()

    # -- Qt model interface -------------------------------------------------------
    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else self._shown

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else self.COLUMN_COUNT

    def index(self, row: int, column: int,
              parent: Index = QModelIndex()) -> QModelIndex:  # noqa: B008
        # Qt's own index() asks rowCount() and columnCount() (two calls into Python) for
        # every cell a paint touches, through the proxy too; one call does it here.
        if 0 <= row < self._shown and 0 <= column < self.COLUMN_COUNT and not parent.isValid():
            return self.createIndex(row, column)
        return QModelIndex()

    # flags() is Qt's default (enabled, selectable, no children): not overridden, so the
    # paint does not call into Python for it.

    def canFetchMore(self, parent: Index) -> bool:
        if parent.isValid():
            return False
        return self._shown < len(self._rows) or not self._complete

    def fetchMore(self, parent: Index) -> None:
        if parent.isValid():
            return
        n = min(self.fetch_batch, len(self._rows) - self._shown)
        if n > 0:
            self.beginInsertRows(QModelIndex(), self._shown, self._shown + n - 1)
            self._shown += n
            self.endInsertRows()
        else:
            self._want_more = True
        if len(self._rows) - self._shown < self.fetch_batch:
            self._request_next_page()

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self._headers.get(section)
        return None

    def record_id(self, row: int) -> str | None:
        return self._rows[row].record_id if 0 <= row < self._shown else None

    def reveal(self, record_id: str) -> int:
        """The row of a loaded record, shown first if the view has not fetched it yet;
        -1 when it is not among the rows loaded so far."""
        row = next((i for i, r in enumerate(self._rows) if r.record_id == record_id), -1)
        if row >= self._shown:
            self.beginInsertRows(QModelIndex(), self._shown, row)
            self._shown = row + 1
            self.endInsertRows()
        return row

    def load_more(self) -> None:
        """Ask for the next page of a newest-first result (nothing when it is whole)."""
        self._request_next_page()

    def row_of(self, record_id: str) -> int:
        for row in range(self._shown):
            if self._rows[row].record_id == record_id:
                return row
        return -1

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        # Called for every cell and role on each paint: unhandled roles leave first,
        # and a row's display texts are made once and kept.
        if role not in _HANDLED_ROLES:
            return None
        row = index.row()
        if not 0 <= row < self._shown:
            return None
        r = self._rows[row]
        column = index.column()
        if role == _DISPLAY:
            return self._cells_for(r)[column]
        if role == SORT_ROLE:
            return self._sort_key(r, column)
        if role == RECORD_ID_ROLE:
            return r.record_id
        if role == SUMMARY_ROLE:
            return r
        if role == _TOOLTIP:
            if column in (self.SUBJECTS, self.COUNTERPARTY):
                return self._cells_for(r)[column] or None
            if column == self.STATUS and r.has_conflict:
                return _t("Changed in two places at once: open it to choose what stands.")
            return None
        return self._foreground(r, column)

    def _cells_for(self, r: DecisionSummary) -> tuple[str, ...]:
        cached = self._cells.get(r.record_id)
        if cached is None or cached[0] is not r:
            if len(self._cells) > 20_000:
                self._cells.clear()
            cached = (r, tuple(self._display(r, c) for c in range(self.COLUMN_COUNT)))
            self._cells[r.record_id] = cached
        return cached[1]

    def _display(self, r: DecisionSummary, column: int) -> str:
        if column == self.DATE:
            return format_when(r.decided_at)
        if column == self.SUBJECTS:
            return r.subjects
        if column == self.CASE_REFS:
            return r.case_refs
        if column == self.DIRECTION:
            return self._direction_words.get(r.direction, r.direction)
        if column == self.DECISION:
            return self._decision_words.get((r.direction, r.decision), r.decision)
        if column == self.CONSENT:
            return self._consent_words.get(r.consent, r.consent)
        if column == self.COUNTERPARTY:
            return r.counterparty
        if column == self.FOLLOWUPS:
            if r.overdue_followups:
                return _t("%1 overdue").replace("%1", str(r.overdue_followups))
            if r.open_followups:
                return _t("%1 open").replace("%1", str(r.open_followups))
            return ""
        if column == self.STATUS:
            if r.has_conflict:  # a withdrawal met a change made elsewhere: says so first
                return _t("In conflict")
            if r.status == RecordStatus.WITHDRAWN:
                return _t("Withdrawn")
            if r.version_count > 1:
                return _t("Corrected")
            return _t("Active")
        if column == self.OWNER:
            team = self.team
            if team is None:
                return ""
            return _t("You") if team.is_me(r.owner_id) else team.name(r.owner_id)
        return ""

    def _foreground(self, r: DecisionSummary, column: int) -> QBrush | None:
        if column == self.STATUS and r.has_conflict:
            return self._brushes()[1]
        if r.status == RecordStatus.WITHDRAWN:
            return self._brushes()[0]
        if column == self.FOLLOWUPS and r.overdue_followups:
            return self._brushes()[1]
        return None

    def _brushes(self) -> tuple[QBrush, QBrush]:
        """(withdrawn, overdue) text colours for the current palette, made once per palette."""
        palette = QApplication.palette() if QApplication.instance() else QPalette()
        key = palette.cacheKey()
        if self._brush_cache is None or self._brush_cache[0] != key:
            self._brush_cache = (key, (
                QBrush(palette.color(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text)),
                QBrush(error_colour())))
        return self._brush_cache[1]


class DecisionsProxy(QSortFilterProxyModel):
    """Sits between the list view and the model.

    Sorting is handed to the model so it covers the whole result, including
    rows the view has not fetched yet; the proxy itself keeps the model's order.
    """

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.setSortRole(SORT_ROLE)
        self.setDynamicSortFilter(False)

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        source = self.sourceModel()
        if isinstance(source, DecisionsModel):
            source.sort(column, order)
