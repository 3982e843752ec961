"""The app's icon, stylesheet and a few palette-aware colours."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtGui import QColor, QGuiApplication, QIcon, QPalette

RESOURCES = Path(__file__).resolve().parent.parent / "resources"


def app_icon() -> QIcon:
    return QIcon(str(RESOURCES / "sharelog.svg"))


def stylesheet() -> str:
    try:
        return (RESOURCES / "sharelog.qss").read_text("utf-8")
    except OSError:
        return ""


def is_dark() -> bool:
    palette = QGuiApplication.palette()
    return palette.color(QPalette.ColorRole.Window).lightness() < 128


def error_colour() -> QColor:
    return QColor("#ff8a80") if is_dark() else QColor("#b3261e")


def ok_colour() -> QColor:
    return QColor("#81c995") if is_dark() else QColor("#1e6b34")
