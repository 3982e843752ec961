"""Lock after a period with no keyboard or mouse input."""

from __future__ import annotations

import time

from PySide6.QtCore import QEvent, QObject, QTimer, Signal

INPUT_EVENTS = frozenset({
    QEvent.Type.KeyPress, QEvent.Type.KeyRelease, QEvent.Type.MouseButtonPress,
    QEvent.Type.MouseButtonRelease, QEvent.Type.MouseMove, QEvent.Type.Wheel,
    QEvent.Type.TouchBegin, QEvent.Type.TouchUpdate, QEvent.Type.TabletPress,
    QEvent.Type.ShortcutOverride,
})


class IdleWatcher(QObject):
    """An application event filter: any input restarts the clock; ``idle`` fires once.

    The filter only stores a time stamp (cheap on every mouse move); a timer
    checks it a few times per period.
    """

    idle = Signal()

    def __init__(self, timeout_ms: int, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._last = time.monotonic()
        self._active = False
        self._timer = QTimer(self)
        self._timer.timeout.connect(self._check)
        self.set_timeout(timeout_ms)

    @property
    def timeout_ms(self) -> int:
        return self._timeout_ms

    def set_timeout(self, timeout_ms: int) -> None:
        self._timeout_ms = max(1, int(timeout_ms))
        self._timer.setInterval(max(20, min(5_000, self._timeout_ms // 4)))

    def start(self) -> None:
        self._last = time.monotonic()
        self._active = True
        self._timer.start()

    def stop(self) -> None:
        self._active = False
        self._timer.stop()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802
        if self._active and event.type() in INPUT_EVENTS:
            self._last = time.monotonic()
        return False

    def _check(self) -> None:
        if self._active and (time.monotonic() - self._last) * 1000 >= self._timeout_ms:
            self.stop()
            self.idle.emit()
