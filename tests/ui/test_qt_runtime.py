"""The Qt binding must not leak references to None (PySide6 6.12.0 on Python 3.11 did)."""

from __future__ import annotations

import sys

from PySide6.QtWidgets import QPushButton


def test_void_qt_calls_keep_none_alive(qtbot: object) -> None:
    button = QPushButton()
    qtbot.addWidget(button)  # type: ignore[attr-defined]
    button.setCheckable(True)
    before = sys.getrefcount(None)
    for _ in range(2000):
        button.setText("x")
        button.setChecked(False)
    # Other code may take or drop a few references meanwhile; a leak drops thousands.
    assert abs(sys.getrefcount(None) - before) < 100
