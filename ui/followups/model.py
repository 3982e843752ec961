"""'My follow-ups' as a two-level tree: a row per group, follow-ups under their group.

Top-level rows are the groups Overdue / Due today / This week / Later, always
present (so keyboard position survives refreshes). ``set_followups`` updates in
place with row removals, insertions and ``dataChanged``; it never resets.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from PySide6.QtCore import (
    QAbstractItemModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
)
from PySide6.QtGui import QBrush, QFont

from app.model import BUCKET_LABELS, FollowUp
from ui.widgets.dates import format_when
from ui.widgets.plural import counted
from ui.widgets.resources import error_colour

GROUPS = ("overdue", "today", "this_week", "later")
Index = QModelIndex | QPersistentModelIndex


# More row changes than this in one group are applied as one reset of the group.
BULK_CHANGES = 50


class FollowUpsModel(QAbstractItemModel):
    DUE, SUBJECTS, COUNTERPARTY, ACTION, DAYS_OVERDUE = range(5)
    COLUMN_COUNT = 5

    GroupRole = Qt.ItemDataRole.UserRole + 1  # the group key, on group and follow-up rows
    FollowUpRole = Qt.ItemDataRole.UserRole + 2  # the FollowUp (None on group rows)
    SortRole = Qt.ItemDataRole.UserRole + 3
    RecordIdRole = Qt.ItemDataRole.UserRole + 4
    IsGroupRole = Qt.ItemDataRole.UserRole + 5
    IsNewRole = Qt.ItemDataRole.UserRole + 6  # given by someone else, not opened since

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._rows: dict[str, list[FollowUp]] = {g: [] for g in GROUPS}
        self._today = dt.date.today()
        self._headers = [self.tr("Due"), self.tr("Person and case"), self.tr("With"),
                         self.tr("What to do"), self.tr("Days overdue")]
        self._group_words = {g: self.tr(BUCKET_LABELS[g]) for g in GROUPS}
        # Follow-ups someone else gave to this person, not opened since: id -> (by, when).
        self._new: dict[str, tuple[str, str]] = {}

    # -- structure ------------------------------------------------------------------
    def index(self, row: int, column: int, parent: Index = QModelIndex()) -> QModelIndex:  # noqa: B008
        if not self.hasIndex(row, column, parent):
            return QModelIndex()
        if not parent.isValid():
            return self.createIndex(row, column, 0)
        return self.createIndex(row, column, parent.row() + 1)

    def parent(self, child: Index = QModelIndex()) -> QModelIndex:  # type: ignore[override]  # noqa: B008
        if not child.isValid():
            return QModelIndex()
        group = int(child.internalId())
        if group == 0:
            return QModelIndex()
        return self.createIndex(group - 1, 0, 0)

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008, N802
        if not parent.isValid():
            return len(GROUPS)
        if int(parent.internalId()) == 0 and parent.column() == 0:
            return len(self._rows[GROUPS[parent.row()]])
        return 0

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008, N802
        return self.COLUMN_COUNT

    def flags(self, index: Index) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable

    def headerData(self, section: int, orientation: Qt.Orientation,  # noqa: N802
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole \
                and 0 <= section < self.COLUMN_COUNT:
            return self._headers[section]
        return None

    # -- data ---------------------------------------------------------------------------
    def group_of(self, index: Index) -> str | None:
        if not index.isValid():
            return None
        group = int(index.internalId())
        return GROUPS[index.row()] if group == 0 else GROUPS[group - 1]

    def followup(self, index: Index) -> FollowUp | None:
        if not index.isValid() or int(index.internalId()) == 0:
            return None
        rows = self._rows[GROUPS[int(index.internalId()) - 1]]
        return rows[index.row()] if 0 <= index.row() < len(rows) else None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        group = self.group_of(index)
        if role == self.GroupRole:
            return group
        if role == self.IsGroupRole:
            return int(index.internalId()) == 0
        fu = self.followup(index)
        if fu is None:
            return self._group_data(index, group or "", role)
        return self._followup_data(fu, index.column(), role)

    def _group_data(self, index: Index, group: str, role: int) -> Any:
        if role == Qt.ItemDataRole.DisplayRole and index.column() == 0:
            return self.tr("{group} ({count})").format(group=self._group_words[group],
                                                       count=len(self._rows[group]))
        if role == Qt.ItemDataRole.AccessibleTextRole and index.column() == 0:
            return self._group_words[group] + ": " + counted(
                len(self._rows[group]), self.tr("1 follow-up"), self.tr("%1 follow-ups"))
        if role == Qt.ItemDataRole.FontRole and index.column() == 0:
            font = QFont()
            font.setBold(True)
            return font
        if role == self.SortRole:
            return GROUPS.index(group)
        return None

    def days_overdue(self, fu: FollowUp) -> int:
        return max(0, (self._today - fu.due_date).days) if fu.is_overdue(self._today) else 0

    def _followup_data(self, fu: FollowUp, column: int, role: int) -> Any:
        if role == Qt.ItemDataRole.ToolTipRole and column == self.ACTION:
            return self._action_tooltip(fu)
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            return self._display(fu, column)
        if role == self.FollowUpRole:
            return fu
        if role == self.RecordIdRole:
            return fu.record_id
        if role == self.SortRole:
            return self._sort_key(fu, column)
        if role == Qt.ItemDataRole.ForegroundRole and (
                (column == self.DAYS_OVERDUE and self.days_overdue(fu))
                or (column == self.ACTION and fu.in_conflict)):
            return QBrush(error_colour())  # readable on light and dark alike
        if role == Qt.ItemDataRole.FontRole and fu.followup_id in self._new:
            font = QFont()
            font.setBold(True)  # new until opened
            return font
        if role == self.IsNewRole:
            return fu.followup_id in self._new
        if role == Qt.ItemDataRole.TextAlignmentRole and column == self.DAYS_OVERDUE:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def describe(self, fu: FollowUp) -> str:
        """One line naming a follow-up, for the dialogs that act on it."""
        parts = [self._display(fu, c) for c in (self.ACTION, self.SUBJECTS, self.COUNTERPARTY)]
        due = self.tr("due %1").replace("%1", self._display(fu, self.DUE))
        return " · ".join([p for p in parts if p] + [due])

    def _display(self, fu: FollowUp, column: int) -> str:
        if column == self.DUE:
            return format_when(fu.due_date.isoformat())  # as dates read everywhere else
        if column == self.SUBJECTS:
            if fu.subjects and fu.case_refs:
                return f"{fu.subjects} ({fu.case_refs})"
            return fu.subjects or fu.case_refs
        if column == self.COUNTERPARTY:
            return fu.counterparty
        if column == self.ACTION:
            title = self.tr(fu.title)
            if fu.in_conflict:
                title = self.tr("In conflict: %1").replace("%1", title)
            given = self._new.get(fu.followup_id)
            if given is not None:
                return self.tr("New from %1: %2").replace("%1", given[0]).replace("%2", title)
            return title
        if column == self.DAYS_OVERDUE:
            days = self.days_overdue(fu)
            return str(days) if days else ""
        return ""

    def _action_tooltip(self, fu: FollowUp) -> str:
        parts = [self._display(fu, self.ACTION)]
        given = self._new.get(fu.followup_id)
        if given is not None:
            parts.append(self.tr("Given to you by %1 on %2.").replace("%1", given[0])
                         .replace("%2", format_when(given[1][:10])))
        if fu.in_conflict:
            parts.append(self.tr("Changed in two places at once: Choose what stands."))
        return "\n".join(parts)

    def is_new(self, followup_id: str) -> bool:
        return followup_id in self._new

    def _sort_key(self, fu: FollowUp, column: int) -> Any:
        if column == self.DUE:
            return fu.due_date.isoformat() + fu.followup_id
        if column == self.DAYS_OVERDUE:
            return self.days_overdue(fu)
        return self._display(fu, column).casefold()

    # -- updates ------------------------------------------------------------------------
    def set_followups(self, groups: dict[str, list[FollowUp]], today: dt.date,
                      new: dict[str, tuple[str, str]] | None = None) -> None:
        """Bring the model to these follow-ups with the smallest set of row changes.
        ``new``: those given by someone else and not opened since, id -> (by whom, when)."""
        today_changed = today != self._today
        self._today = today
        before, self._new = self._new, dict(new or {})
        marked = {fid for fid in before.keys() | self._new.keys()
                  if before.get(fid) != self._new.get(fid)}
        for g, group in enumerate(GROUPS):
            wanted = sorted(groups.get(group, []),
                            key=lambda f: (f.due_date, f.subjects.casefold(), f.followup_id))
            self._update_group(g, group, wanted, force=today_changed, marked=marked)
        if today_changed and any(self._rows.values()):
            self.dataChanged.emit(self.index(0, 0), self.index(len(GROUPS) - 1, 0))

    def _update_group(self, g: int, group: str, wanted: list[FollowUp], *, force: bool,
                      marked: set[str] | frozenset[str] = frozenset()) -> None:
        parent = self.index(g, 0)
        rows = self._rows[group]
        count_before = len(rows)
        keep = {f.followup_id for f in wanted}
        changes = len(keep.symmetric_difference(f.followup_id for f in rows))
        if not rows or changes > BULK_CHANGES:
            # The first fill, or a big change (a new day, a long backlog): one structural
            # change for the whole group. Row by row, 1,300 follow-ups held the UI for 300 ms.
            if rows:
                self.beginRemoveRows(parent, 0, len(rows) - 1)
                rows.clear()
                self.endRemoveRows()
            if wanted:
                self.beginInsertRows(parent, 0, len(wanted) - 1)
                rows.extend(wanted)
                self.endInsertRows()
            if len(rows) != count_before:
                self.dataChanged.emit(parent, parent)
            return
        for i in range(len(rows) - 1, -1, -1):
            if rows[i].followup_id not in keep:
                self.beginRemoveRows(parent, i, i)
                del rows[i]
                self.endRemoveRows()
        for i, fu in enumerate(wanted):
            if i < len(rows) and rows[i].followup_id == fu.followup_id:
                if force or rows[i] != fu or fu.followup_id in marked:
                    rows[i] = fu
                    self.dataChanged.emit(self.index(i, 0, parent),
                                          self.index(i, self.COLUMN_COUNT - 1, parent))
                continue
            existing = next((j for j in range(i + 1, len(rows))
                             if rows[j].followup_id == fu.followup_id), None)
            if existing is not None:
                self.beginRemoveRows(parent, existing, existing)
                del rows[existing]
                self.endRemoveRows()
            self.beginInsertRows(parent, i, i)
            rows.insert(i, fu)
            self.endInsertRows()
        if len(rows) != count_before:
            self.dataChanged.emit(parent, parent)

    def count(self, group: str) -> int:
        return len(self._rows[group])

    def index_of(self, followup_id: str) -> QModelIndex:
        for g, group in enumerate(GROUPS):
            for i, fu in enumerate(self._rows[group]):
                if fu.followup_id == followup_id:
                    return self.index(i, 0, self.index(g, 0))
        return QModelIndex()

    def clear(self) -> None:
        for g, group in enumerate(GROUPS):
            rows = self._rows[group]
            if rows:
                self.beginRemoveRows(self.index(g, 0), 0, len(rows) - 1)
                rows.clear()
                self.endRemoveRows()
                self.dataChanged.emit(self.index(g, 0), self.index(g, 0))
