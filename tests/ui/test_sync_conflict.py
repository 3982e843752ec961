"""A conflict made by two devices through a real store, and resolved in the window
(issue 10, point 4): Pat's laptop and tablet correct the same record offline; after both
sync, the tablet's window marks the record, Pat settles it side by side, and the laptop
receives the settled version with the conflict gone."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt

from app import session
from app.service import Sharelog
from app.sync import account
from app.sync.engine import SyncEngine, SyncState
from tests.conftest import PASSPHRASE, make_share
from tests.server.conftest import PASSWORD
from tests.ui.shell_support import open_window, unlock
from tests.ui.sync_support import Store
from tests.ui.team_window import correct, status_of
from tests.ui.test_conflict_view import _closed, _open_dialog, _select
from tests.ui.test_sync_window import label, store  # noqa: F401 - fixture

LAPTOP = "Reasons written on the laptop, offline."
TABLET = "Reasons written on the tablet, offline."


def _sync(service: Sharelog) -> None:
    engine = SyncEngine(service)
    try:
        status = engine.sync_once().status
    finally:
        engine.close()
    assert status.state in (SyncState.SYNCED, SyncState.WAITING), status


def test_a_conflict_made_on_two_devices_is_resolved_in_the_window(
        qtbot, home: Path, store: Store) -> None:  # noqa: F811
    laptop = session.create_vault("Pat", PASSPHRASE, base=home / "laptop")
    tablet = session.create_vault("Pat", PASSPHRASE, base=home / "tablet")
    for device in (laptop, tablet):
        account.sign_in(device, store.base_url, store.org.login("pat"), PASSWORD)
    rid = laptop.record_decision(make_share(reasons="First reasons."))
    _sync(laptop)
    _sync(tablet)
    # Offline, each device corrects the same field differently; then both sync.
    correct(laptop, rid, "more detail", reasons=LAPTOP)
    correct(tablet, rid, "more detail from the visit", reasons=TABLET)
    _sync(laptop)
    _sync(tablet)
    assert tablet.get_decision(rid).has_conflict
    tablet.lock()

    window = open_window(qtbot, home / "tablet")
    unlock(qtbot, window)
    qtbot.waitUntil(lambda: label(window).startswith("Synced at "), timeout=30_000)
    qtbot.waitUntil(lambda: status_of(window, rid) == "In conflict", timeout=10_000)
    _select(qtbot, window, rid)
    dialog = _open_dialog(qtbot, window)
    [choice] = dialog.choices
    assert sorted(choice.values) == sorted([LAPTOP, TABLET])
    dialog.choices[0].group.button(choice.values.index(LAPTOP)).click()
    qtbot.keyClicks(dialog.reason, "The laptop's wording was agreed in supervision.")
    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: _closed(dialog), timeout=10_000)
    qtbot.waitUntil(lambda: status_of(window, rid) == "Corrected", timeout=10_000)
    # The settled version reaches the store without a click.
    qtbot.waitUntil(lambda: label(window).startswith("Synced at ")
                    and window.bridge.service.pending_sync_count() == 0, timeout=60_000)
    window.close()

    _sync(laptop)
    settled = laptop.get_decision(rid)
    assert not settled.has_conflict and settled.record.reasons == LAPTOP
    # Nothing discarded: the tablet's value stays in the history on both devices.
    assert TABLET in [v.record.reasons for v in laptop.versions(rid) if v.record is not None]
    laptop.lock()
