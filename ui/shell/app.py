"""Start the desktop client: the QApplication, its look, logging and the main window."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication, QStyleFactory

from app import __version__
from app.files import private_dir
from app.logs import setup_logging
from app.paths import ensure_data_dir, qt_settings_dir, settings_path
from app.settings import Settings
from app.vaults import last_used_folder
from ui.widgets.dialogs import install_dialog_keys
from ui.widgets.resources import app_icon, stylesheet

log = logging.getLogger("sharelog.ui")


def dark_palette() -> QPalette:
    p = QPalette()
    window, base, text = QColor("#202124"), QColor("#17181a"), QColor("#e8eaed")
    accent = QColor("#4fb3c8")
    for group in (QPalette.ColorGroup.Active, QPalette.ColorGroup.Inactive):
        p.setColor(group, QPalette.ColorRole.Window, window)
        p.setColor(group, QPalette.ColorRole.WindowText, text)
        p.setColor(group, QPalette.ColorRole.Base, base)
        p.setColor(group, QPalette.ColorRole.AlternateBase, QColor("#232427"))
        p.setColor(group, QPalette.ColorRole.Text, text)
        p.setColor(group, QPalette.ColorRole.Button, QColor("#2d2f33"))
        p.setColor(group, QPalette.ColorRole.ButtonText, text)
        p.setColor(group, QPalette.ColorRole.ToolTipBase, QColor("#2d2f33"))
        p.setColor(group, QPalette.ColorRole.ToolTipText, text)
        p.setColor(group, QPalette.ColorRole.Highlight, QColor("#1f6f80"))
        p.setColor(group, QPalette.ColorRole.HighlightedText, QColor("#ffffff"))
        p.setColor(group, QPalette.ColorRole.Link, accent)
        p.setColor(group, QPalette.ColorRole.PlaceholderText, QColor("#9aa0a6"))
    disabled = QColor("#7f8388")
    for role in (QPalette.ColorRole.Text, QPalette.ColorRole.WindowText,
                 QPalette.ColorRole.ButtonText):
        p.setColor(QPalette.ColorGroup.Disabled, role, disabled)
    p.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Window, window)
    p.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Base, base)
    p.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Button, QColor("#2d2f33"))
    return p


def light_palette(app: QApplication) -> QPalette:
    p = app.style().standardPalette()
    for group in (QPalette.ColorGroup.Active, QPalette.ColorGroup.Inactive):
        p.setColor(group, QPalette.ColorRole.Highlight, QColor("#1f7a8c"))
        p.setColor(group, QPalette.ColorRole.HighlightedText, QColor("#ffffff"))
        # Qt's default is the text at half strength: about 4:1 on white, under 4.5:1.
        p.setColor(group, QPalette.ColorRole.PlaceholderText, QColor("#5f6368"))
    return p


_THEME = {"choice": "system"}


def apply_colour_scheme(app: QApplication, theme: str = "system") -> None:
    """Light or dark: follow the system unless the settings choose one.

    Choosing "system" again drops an earlier explicit choice, and from then on the
    palette follows the system's changes (the handler is connected once, in configure).
    """
    _THEME["choice"] = theme
    hints = QGuiApplication.styleHints()
    if theme == "dark":
        scheme = Qt.ColorScheme.Dark
    elif theme == "light":
        scheme = Qt.ColorScheme.Light
    else:
        if hasattr(hints, "unsetColorScheme"):
            hints.unsetColorScheme()
        scheme = hints.colorScheme()
    if theme in ("dark", "light") and hasattr(hints, "setColorScheme"):
        hints.setColorScheme(scheme)
    palette = dark_palette() if scheme == Qt.ColorScheme.Dark else light_palette(app)
    # Both re-polish every widget (a few hundred ms on the UI thread): only on a change,
    # so "system" after "light" on a light system costs nothing.
    if palette != app.palette():
        app.setPalette(palette)
    sheet = stylesheet()  # its colours follow the palette just set
    if sheet != app.styleSheet():
        app.setStyleSheet(sheet)


def current_theme() -> str:
    """The colour scheme chosen last ("system", "light" or "dark")."""
    return _THEME["choice"]


def _system_scheme_changed(app: QApplication) -> None:
    if _THEME["choice"] == "system":
        apply_colour_scheme(app, "system")


def keep_qt_settings_in(base: Path | None = None) -> Path:
    """What Qt remembers for itself (the file dialog's recent folders, in QtProject.conf)
    goes into Sharelog's data folder, not ~/.config: those folder names can say whom an
    export was about. Set before any dialog opens; QSettings made later follow it."""
    folder = private_dir(qt_settings_dir(base))
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)  # never the Windows registry
    for fmt in (QSettings.Format.IniFormat, QSettings.Format.NativeFormat):
        QSettings.setPath(fmt, QSettings.Scope.UserScope, str(folder))
    return folder


def configure(app: QApplication, theme: str = "system") -> None:
    app.setApplicationName("Sharelog")
    app.setOrganizationName("Sharelog")
    app.setApplicationVersion(__version__)
    app.setWindowIcon(app_icon())
    if "Fusion" in QStyleFactory.keys():
        app.setStyle("Fusion")
    apply_colour_scheme(app, theme)
    install_dialog_keys(app)
    if not app.property("sharelog_scheme_watch"):
        app.setProperty("sharelog_scheme_watch", True)
        QGuiApplication.styleHints().colorSchemeChanged.connect(
            lambda _scheme: _system_scheme_changed(app))


def start(app: QApplication) -> Any:
    """What a start does before the event loop: logs, Qt's settings folder, one Sharelog
    per data folder, the saved colour scheme from the first frame, then the main window,
    shown and started. None when another Sharelog already runs here (it is brought
    forward instead)."""
    setup_logging()
    keep_qt_settings_in()
    from ui.shell.single_instance import SingleInstance, bring_forward

    instance = SingleInstance(ensure_data_dir())
    if not instance.claim():
        log.info("Sharelog is already running for this vault: brought it forward")
        return None
    # The colour scheme of whoever unlocked last (preferences, never record content).
    configure(app, Settings.load(settings_path(last_used_folder())).theme)
    log.info("starting Sharelog %s", __version__)
    from ui.shell.main_window import MainWindow

    window = MainWindow()
    instance.setParent(window)  # lives (and is released at quit) with the window
    instance.activated.connect(lambda: bring_forward(window))
    app.aboutToQuit.connect(instance.release)
    window.show()
    window.start()
    app.aboutToQuit.connect(window.close)
    return window


def run(argv: list[str]) -> int:
    existing = QApplication.instance()
    if existing is None:
        QGuiApplication.setHighDpiScaleFactorRoundingPolicy(
            Qt.HighDpiScaleFactorRoundingPolicy.PassThrough)
    app = existing if isinstance(existing, QApplication) else QApplication(argv)
    window = start(app)
    if window is None:
        return 0
    code = app.exec()
    log.info("closing")
    return int(code)
