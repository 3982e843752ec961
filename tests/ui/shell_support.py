"""Helpers for the shell tests: a main window over the test's own data directory."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import PASSPHRASE
from ui.shell.main_window import MainWindow


def open_window(qtbot, home: Path, *, idle_ms: int | None = None) -> MainWindow:
    window = MainWindow(base=home, idle_ms=idle_ms, use_tray=False)
    qtbot.addWidget(window)
    window.resize(1280, 800)
    window.show()
    window.start()
    return window


def unlock(qtbot, window: MainWindow, passphrase: str = PASSPHRASE) -> None:
    page = window.vault_screen.unlock_page
    qtbot.waitUntil(lambda: window.vault_screen.stack.currentWidget() is page)
    qtbot.waitUntil(page.button.isEnabled)
    qtbot.keyClicks(page.passphrase, passphrase)
    qtbot.mouseClick(page.button, _left())
    qtbot.waitUntil(lambda: window.is_unlocked, timeout=10_000)


def wait_for_rows(qtbot, window: MainWindow, rows: int | None = None) -> None:
    model = window.decisions.model
    if rows is None:
        qtbot.waitUntil(lambda: model.rowCount() > 0 and not model.is_loading, timeout=10_000)
    else:
        qtbot.waitUntil(lambda: model.rowCount() == rows and not model.is_loading,
                        timeout=10_000)


def close(window: MainWindow) -> None:
    window.close()


def _left():
    from PySide6.QtCore import Qt

    return Qt.MouseButton.LeftButton


def vault_folder(home: Path) -> Path:
    """The folder of the one vault in the data folder ``home`` (app.vaults): its own under
    ``vaults/`` once the window has listed it, ``home`` itself before."""
    folders = [p for p in (home / "vaults").glob("*") if p.is_dir()
               and not p.name.startswith(".")] if (home / "vaults").is_dir() else []
    assert len(folders) <= 1, folders
    return folders[0] if folders else home
