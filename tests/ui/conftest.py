"""Fixtures shared by the UI tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from ui.bridge import Bridge
from ui.shell.main_window import MainWindow


@pytest.fixture
def bridge(qtbot, service) -> Iterator[Bridge]:  # type: ignore[no-untyped-def]
    """A bridge over the test's fresh vault; queued work finishes before teardown."""
    b = Bridge(service)
    yield b
    b.wait_idle()
    b.shutdown(wait_tasks=True)


@pytest.fixture
def windows(qtbot, team) -> Iterator[Callable[[str], MainWindow]]:
    """Main windows over the devices of ``team`` (tests/sync_support.py), by name; each
    is closed at the end."""
    from tests.ui.team_window import open_device_window

    opened: list[MainWindow] = []

    def open_window(name: str) -> MainWindow:
        window = open_device_window(qtbot, team.devices[name])
        opened.append(window)
        return window

    yield open_window
    for window in opened:
        window.close()
