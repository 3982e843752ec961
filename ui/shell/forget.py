"""What a lock forgets besides the views: text copied from Sharelog, and typing histories.

The next person at the computer must find nothing of the last one's records. The views
clear themselves (``MainWindow.lock``); two things outlive them: the clipboard, and the
undo history of a text box — ``QLineEdit.clear()`` is an edit that Ctrl+Z takes back, so
a search box cleared at a lock would give its search back to whoever pressed it next.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QClipboard, QGuiApplication
from PySide6.QtWidgets import QLineEdit, QPlainTextEdit, QTextEdit, QWidget


class ForgetOnLock(QObject):
    """Watches the clipboard for what is copied while Sharelog is the active application;
    ``now()`` clears that, and every typing history in ``window``."""

    def __init__(self, window: QWidget) -> None:
        super().__init__(window)
        self._window = window
        self._ours: set[QClipboard.Mode] = set()
        clipboard = QGuiApplication.clipboard()
        clipboard.changed.connect(self._changed)

    def _changed(self, mode: QClipboard.Mode) -> None:
        active = QGuiApplication.applicationState() == Qt.ApplicationState.ApplicationActive
        if active or self._owns(mode):
            self._ours.add(mode)
        else:
            self._ours.discard(mode)  # copied in another program: not ours to clear

    @staticmethod
    def _owns(mode: QClipboard.Mode) -> bool:
        clipboard = QGuiApplication.clipboard()
        if mode == QClipboard.Mode.Selection:
            return clipboard.ownsSelection()
        if mode == QClipboard.Mode.FindBuffer:
            return clipboard.ownsFindBuffer()
        return clipboard.ownsClipboard()

    def now(self) -> None:
        clipboard = QGuiApplication.clipboard()
        for mode in sorted(self._ours | {m for m in QClipboard.Mode if self._owns(m)},
                           key=lambda m: m.value):
            clipboard.clear(mode)
        self._ours.clear()
        for line in self._window.findChildren(QLineEdit):
            if line.isUndoAvailable() or line.isRedoAvailable():
                line.setText(line.text())  # setText starts a new history
        for text in self._window.findChildren(QTextEdit):
            text.document().clearUndoRedoStacks()
        for plain in self._window.findChildren(QPlainTextEdit):
            plain.document().clearUndoRedoStacks()
