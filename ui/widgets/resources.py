"""The app's icon, stylesheet and a few palette-aware colours."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtGui import QColor, QGuiApplication, QIcon, QPalette
from PySide6.QtWidgets import QLabel

RESOURCES = Path(__file__).resolve().parents[2] / "resources"


def app_icon() -> QIcon:
    return QIcon(str(RESOURCES / "sharelog.svg"))


def stylesheet() -> str:
    """The app's style sheet, with the colours of the palette now in force.

    Set again whenever the palette changes (``ui.shell.app.apply_colour_scheme``): Qt keeps
    the colours a style sheet resolved when it polished a widget, so a new palette
    alone leaves lists, toolbars and messages in the old scheme's colours.
    """
    try:
        base = (RESOURCES / "sharelog.qss").read_text("utf-8")
    except OSError:
        base = ""
    for word, value in sorted(control_colours().items(), key=lambda kv: -len(kv[0])):
        base = base.replace("@" + word, value)
    return base + (
        "\n/* Roles set with setProperty(\"role\", ...) */\n"
        f'QLabel[role="error"] {{ color: {error_colour().name()}; }}\n'
        f'QLabel[role="note"] {{ color: {muted_colour().name()}; font-style: italic; }}\n')


def control_colours() -> dict[str, str]:
    """The words the style sheet's control rules use, for the scheme in force.

    Each contrast is measured on rendered pixels by tests/ui/test_contrast.py: the
    boundary against the window and the field (3:1), the focus ring and a checked box
    against the window (3:1), the mark against its box (3:1).
    """
    dark = is_dark()
    scheme = "dark" if dark else "light"
    colours = {
        "boundary": "#8c9199" if dark else "#6b6f76",
        "focus": "#4fb3c8" if dark else "#1f7a8c",
        "checked": "#4fb3c8" if dark else "#1f7a8c",
        "on-checked": "#17181a" if dark else "#ffffff",  # words on a chosen button
        "disabled": "#4a4d52" if dark else "#b8bbbf",
    }
    for name in ("check", "dot", "down", "up"):
        colours[f"image-{name}"] = (RESOURCES / f"{name}-{scheme}.svg").as_posix()
    return colours


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
