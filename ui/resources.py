"""The app's icon, stylesheet and a few palette-aware colours."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtGui import QColor, QGuiApplication, QIcon, QPalette
from PySide6.QtWidgets import QLabel

RESOURCES = Path(__file__).resolve().parent.parent / "resources"


def app_icon() -> QIcon:
    return QIcon(str(RESOURCES / "sharelog.svg"))


def stylesheet() -> str:
    """The app's style sheet, with the colours of the palette now in force.

    Set again whenever the palette changes (``ui.app.apply_colour_scheme``): Qt keeps
    the colours a style sheet resolved when it polished a widget, so a new palette
    alone leaves lists, toolbars and messages in the old scheme's colours.
    """
    try:
        base = (RESOURCES / "sharelog.qss").read_text("utf-8")
    except OSError:
        base = ""
    return base + (
        "\n/* Roles set with setProperty(\"role\", ...) */\n"
        f'QLabel[role="error"] {{ color: {error_colour().name()}; }}\n'
        f'QLabel[role="note"] {{ color: {muted_colour().name()}; font-style: italic; }}\n')


def mark(label: QLabel, role: str) -> None:
    """Give a label a role the style sheet colours ("error" or "note")."""
    label.setProperty("role", role)


def is_dark() -> bool:
    palette = QGuiApplication.palette()
    return palette.color(QPalette.ColorRole.Window).lightness() < 128


def error_colour() -> QColor:
    return QColor("#ff8a80") if is_dark() else QColor("#b3261e")


def muted_colour() -> QColor:
    """Secondary text that still reads at 4.5:1 on the window colour."""
    return QColor("#9aa0a6") if is_dark() else QColor("#5f6368")
