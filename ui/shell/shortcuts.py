"""Help > Keyboard shortcuts: every shortcut the window has, read from its actions."""

from __future__ import annotations

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)


def shortcut_rows(actions: list[QAction], extra: list[tuple[str, str]]) -> list[tuple[str, str]]:
    rows = []
    for action in actions:
        keys = [k.toString(QKeySequence.SequenceFormat.NativeText) for k in action.shortcuts()]
        if keys:
            rows.append((action.text().replace("&", ""), ", ".join(keys)))
    return rows + extra


class ShortcutsDialog(QDialog):
    def __init__(self, actions: list[QAction], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(self.tr("Keyboard shortcuts"))
        extra = [
            (self.tr("Search: run now"), self.tr("Enter")),
            (self.tr("Search: clear"), self.tr("Esc")),
            (self.tr("Search: go to the results"), self.tr("Down")),
            (self.tr("Form: save"), self.tr("Ctrl+S, Ctrl+Enter")),
            (self.tr("Form: close (asks whether to keep a draft)"), self.tr("Esc")),
            (self.tr("Dialogs: OK, Save or the dialog's main button"), self.tr("Ctrl+Enter")),
            (self.tr("Dialogs: back without changing anything"), self.tr("Esc")),
            (self.tr("Decisions: move up or down the list"), self.tr("Up, Down")),
            (self.tr("Decisions: first or last"), self.tr("Home, End")),
            (self.tr("Move to the next control"), self.tr("Tab (Shift+Tab goes back)")),
            (self.tr("Unlock: open the vault"), self.tr("Enter")),
        ]
        self.rows = shortcut_rows(actions, extra)
        self.tree = QTreeWidget(self)
        self.tree.setAccessibleName(self.tr("Keyboard shortcuts"))
        self.tree.setHeaderLabels([self.tr("Command"), self.tr("Keys")])
        self.tree.setRootIsDecorated(False)
        for command, keys in self.rows:
            QTreeWidgetItem(self.tree, [command, keys])
        self.tree.resizeColumnToContents(0)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        buttons.accepted.connect(self.accept)
        layout = QVBoxLayout(self)
        layout.addWidget(self.tree)
        layout.addWidget(buttons)
        self.resize(520, 420)
