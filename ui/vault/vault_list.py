"""The vaults on this computer, as the unlock screen lists them: whose, and when last used.

Only what ``app.vaults`` keeps outside the vaults (a display name, a date): nothing from
inside any vault is shown before it is unlocked.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QPersistentModelIndex, Qt
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableView, QWidget

from app.vaults import VaultEntry

Index = QModelIndex | QPersistentModelIndex
VISIBLE_ROWS = 4  # more than this and the list scrolls


class VaultListModel(QAbstractTableModel):
    NAME, LAST_USED = range(2)
    FolderRole = Qt.ItemDataRole.UserRole + 1  # the vault's folder (a Path)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._entries: list[VaultEntry] = []
        self._headers = [self.tr("Name"), self.tr("Last used")]

    def set_entries(self, entries: list[VaultEntry]) -> None:
        # The whole list comes at once and is a handful of rows: a reset is the honest
        # change (an order by last use can move every row).
        self.beginResetModel()
        self._entries = list(entries)
        self.endResetModel()

    def entries(self) -> list[VaultEntry]:
        return list(self._entries)

    def row_of(self, folder: Path | None) -> int:
        for row, entry in enumerate(self._entries):
            if entry.folder == folder:
                return row
        return -1

    def folder(self, row: int) -> Path | None:
        return self._entries[row].folder if 0 <= row < len(self._entries) else None

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(self._entries)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else 2

    def headerData(self, section: int, orientation: Qt.Orientation,  # noqa: N802
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if (orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole
                and 0 <= section < len(self._headers)):
            return self._headers[section]
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._entries):
            return None
        entry = self._entries[index.row()]
        if role == self.FolderRole:
            return entry.folder
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.AccessibleTextRole):
            if index.column() == self.NAME:
                return self.name(entry)
            if index.column() == self.LAST_USED:
                return self.last_used(entry)
        if role == Qt.ItemDataRole.TextAlignmentRole and index.column() == self.LAST_USED:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def name(self, entry: VaultEntry) -> str:
        # An adopted vault's name is inside it until its first unlock here.
        return entry.display_name or self.tr("Vault from an earlier Sharelog")

    def last_used(self, entry: VaultEntry) -> str:
        if entry.last_used is None:
            return self.tr("Not used yet")
        day = entry.last_used.astimezone().date()
        if day == dt.date.today():
            return self.tr("Last used today")
        return self.tr("Last used %1").replace("%1", f"{day.day} {day:%b %Y}")


class VaultListView(QTableView):
    """One row per vault, chosen by arrow keys or a click; no grid, no headers."""

    def __init__(self, model: VaultListModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setModel(model)
        self.setAccessibleName(self.tr("Vaults on this computer"))
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setShowGrid(False)
        self.setWordWrap(False)
        self.verticalHeader().hide()
        self.horizontalHeader().hide()
        self.horizontalHeader().setSectionResizeMode(VaultListModel.NAME,
                                                     QHeaderView.ResizeMode.Stretch)
        self.horizontalHeader().setSectionResizeMode(VaultListModel.LAST_USED,
                                                     QHeaderView.ResizeMode.ResizeToContents)
        self.setTabKeyNavigation(False)  # Tab goes on to the passphrase
        model.modelReset.connect(self._fit_height)
        self._fit_height()

    def _fit_height(self) -> None:
        rows = max(1, min(VISIBLE_ROWS, self.model().rowCount()))
        height = self.verticalHeader().defaultSectionSize() * rows + 2 * self.frameWidth()
        self.setFixedHeight(height)

    def select_row(self, row: int) -> None:
        if 0 <= row < self.model().rowCount():
            self.selectRow(row)
            self.scrollTo(self.model().index(row, 0))
