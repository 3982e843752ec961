"""The real main window over one vault of a team (tests.sync_support), and changes from the
others' devices arriving in it as a pulled page would: through the bridge's vault worker
and the one ingest path, so the window hears exactly what changed (``bridge.changeset``).
"""

from __future__ import annotations

import random

from app.service import Sharelog
from app.settings import Settings
from tests.sync_support import Team
from ui.shell.main_window import MainWindow
from ui.vault.screens import Opened


def open_device_window(qtbot, svc: Sharelog) -> MainWindow:
    window = MainWindow(base=svc.vault.path.parent, use_tray=False)
    qtbot.addWidget(window)
    window.resize(1280, 800)
    window.show()
    window.on_opened(Opened(svc, Settings()))
    model = window.decisions.model
    qtbot.waitUntil(lambda: window.decisions.team is not None and not model.is_loading,
                    timeout=10_000)
    return window


def pull_into(qtbot, window: MainWindow, team: Team, src: str, dst: str,
              seed: int = 5) -> None:
    """What ``src`` holds and ``dst`` (the window's vault) does not, pulled in the window."""
    done: list[object] = []
    window.bridge.write(lambda _s: team.exchange(src, dst, random.Random(seed)), done.append)
    qtbot.waitUntil(lambda: bool(done), timeout=10_000)


def status_of(window: MainWindow, record_id: str) -> str:
    model = window.decisions.model
    row = model.row_of(record_id)
    return "" if row < 0 else str(model.index(row, model.STATUS).data())


def correct(svc: Sharelog, record_id: str, reason: str, **changes: object) -> str:
    shown = svc.get_decision(record_id)
    record = shown.record
    for key, value in changes.items():
        setattr(record, key, value)
    return svc.correct_decision(record_id, record, reason, parents=shown.heads)


def share_everywhere(team: Team, src: str = "pat-laptop") -> None:
    rng = random.Random(7)
    for dst in team.devices:
        if dst != src:
            team.exchange(src, dst, rng)
