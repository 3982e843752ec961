"""Progress from background work to a dialog on the UI thread."""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal


class ProgressRelay(QObject):
    """Carries ``(done, total)`` from a worker thread to the UI thread (a queued signal).

    Made without a parent: the worker's callback keeps it alive. Once the dialog it
    reported to has gone, reports are dropped and the work goes on to its end.
    """

    progressed = Signal(int, int)

    def report(self, done: int, total: int) -> None:
        try:
            self.progressed.emit(done, total)
        except RuntimeError:  # the receiver went away
            pass
