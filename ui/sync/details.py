"""Sync > Sync details: the last syncs, what is waiting, and each change held aside with
the reason in words. Read on the sync thread (``SyncController.ask``); never any record
content (a held change is named by what it is and when, not by whom it is about)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QPersistentModelIndex, Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from ui.sync.status import local_time, stale, status_text, waiting_words, when_words
from ui.sync.words import engine_words, outcome_words, store_reason

Index = QModelIndex | QPersistentModelIndex
REFUSED_BY_STORE = "refused_by_store"  # app.sync.local's status for the store's refusals


@dataclass(frozen=True)
class Details:
    """Everything the window shows, read at once (``gather``)."""

    status: Any
    history: list[Any] = field(default_factory=list)
    held: list[Any] = field(default_factory=list)


def gather(engine: Any, service: Any, status: Any) -> Details:
    """On the sync thread: the engine's history and the vault's quarantine."""
    history = list(engine.history(20)) if engine is not None else []
    held = list(service.sync.quarantined())
    return Details(status, history, held)


def _when(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value)
        except ValueError:
            return value
    return when_words(value)


def _sort_key(value: Any) -> str:
    return value.isoformat() if isinstance(value, dt.datetime) else str(value or "")


class _Table(QAbstractTableModel):
    headers: list[str] = []

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.rows: list[list[str]] = []

    def set_rows(self, rows: list[list[str]]) -> None:
        self.beginResetModel()  # a handful of rows, read again each time the window opens
        self.rows = rows
        self.endResetModel()

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: N802, B008
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: N802, B008
        return 0 if parent.isValid() else len(self.headers)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or role not in (Qt.ItemDataRole.DisplayRole,
                                               Qt.ItemDataRole.ToolTipRole):
            return None
        return self.rows[index.row()][index.column()]

    def headerData(self, section: int, orientation: Qt.Orientation,  # noqa: N802
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole \
                and 0 <= section < len(self.headers):
            return self.headers[section]
        return None


class HistoryModel(_Table):
    """The last syncs, newest first: when, sent, received, outcome."""

    WHEN, SENT, RECEIVED, OUTCOME = range(4)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.headers = [self.tr("When"), self.tr("Sent"), self.tr("Received"),
                        self.tr("Outcome")]

    def set_history(self, attempts: list[Any]) -> None:
        rows = []
        for a in sorted(attempts, key=lambda a: _sort_key(_attempt_when(a)), reverse=True):
            outcome = getattr(a, "outcome", None)
            # The engine's own words when it did not sync (they carry the action).
            words = getattr(a, "message", None) if outcome not in (None, "synced") else None
            rows.append([_when(_attempt_when(a)), f"{getattr(a, 'pushed', 0):,}",
                         f"{getattr(a, 'pulled', 0):,}",
                         engine_words(words) or outcome_words(outcome)])
        self.set_rows(rows)


def _attempt_when(attempt: Any) -> Any:
    for name in ("finished", "at", "when", "started"):
        value = getattr(attempt, name, None)
        if value is not None:
            return value
    return None


class HeldModel(_Table):
    """Changes held aside (quarantine): since when, what, why (in words)."""

    SINCE, WHAT, WHY = range(3)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.headers = [self.tr("Held since"), self.tr("What"), self.tr("Why")]

    def set_held(self, held: list[Any]) -> None:
        self.set_rows([[_when(q.received_at), self.what(q.status), self.why(q)] for q in held])

    def what(self, status: str) -> str:
        return {
            REFUSED_BY_STORE: self.tr("A change made here, refused by the team's store"),
            "refused": self.tr("A change from the team that this vault refused"),
            "waiting": self.tr("A change from the team, waiting for what it changes"),
            "newer": self.tr("A change from a newer Sharelog"),
        }.get(status, self.tr("A change held aside"))

    @staticmethod
    def why(q: Any) -> str:
        if q.status == REFUSED_BY_STORE:
            return store_reason(q.reason_code)
        return str(q.reason)  # app.ingest's words (no record content)


class SyncDetailsDialog(QDialog):
    """Opened with what ``gather`` read; ``show_details`` again to refresh."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        title = self.tr("Sync details")
        self.setWindowTitle(title)
        self.setAccessibleName(title)
        self.state = QLabel(self)
        self.state.setWordWrap(True)
        self.state.setAccessibleName(self.tr("Where sync stands"))
        self.waiting = QLabel(self)
        self.waiting.setWordWrap(True)
        self.waiting.setAccessibleName(self.tr("What is waiting"))
        self.history = HistoryModel(self)
        self.held = HeldModel(self)
        self.history_view = self._table(self.history, self.tr("The last syncs"))
        self.held_view = self._table(self.held, self.tr("Changes held aside"))
        self.held_label = QLabel(self.tr("Changes held aside"), self)
        close = QPushButton(self.tr("Close"), self)
        close.setAccessibleName(self.tr("Close"))
        close.clicked.connect(self.accept)
        self.sync_button = QPushButton(self.tr("Sync now"), self)
        self.sync_button.setAccessibleName(self.tr("Sync now"))
        buttons = QDialogButtonBox(self)
        buttons.addButton(self.sync_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.addButton(close, QDialogButtonBox.ButtonRole.AcceptRole)
        layout = QVBoxLayout(self)
        layout.addWidget(self.state)
        layout.addWidget(self.waiting)
        layout.addWidget(QLabel(self.tr("The last syncs"), self))
        layout.addWidget(self.history_view, 2)
        layout.addWidget(self.held_label)
        layout.addWidget(self.held_view, 1)
        layout.addWidget(buttons)
        self.resize(760, 520)

    def _table(self, model: QAbstractTableModel, name: str) -> QTableView:
        view = QTableView(self)
        view.setModel(model)
        view.setAccessibleName(name)
        view.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
        view.setEditTriggers(QTableView.EditTrigger.NoEditTriggers)
        view.verticalHeader().hide()
        view.setWordWrap(True)
        header = view.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        return view

    def show_details(self, details: Details) -> None:
        status = details.status
        self.state.setText(status_text(status) if status is not None else "")
        self.waiting.setText(self.waiting_text(status))
        self.history.set_history(details.history)
        self.held.set_held(details.held)
        self.held_label.setText(self.tr("Changes held aside: none") if not details.held
                                else self.tr("Changes held aside"))

    def waiting_text(self, status: Any) -> str:
        if status is None or not status.waiting:
            return self.tr("Nothing is waiting: the team's store has every change made here.")
        text = waiting_words(status.waiting) + "."
        oldest = getattr(status, "oldest_waiting", None)
        if oldest is not None:
            local = local_time(oldest)
            since = self.tr("The oldest was saved %1.").replace(
                "%1", f"{local.day} {local:%b %Y %H:%M}")
            text += " " + since
            if stale(status):
                text += " " + self.tr("It has waited more than a day: connect to the "
                                      "office network or the internet, then Sync now.")
        return text
