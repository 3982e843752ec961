"""Sync in the window against a real store process on loopback (issue 10, points 1-3):
sign in, changes waiting while the store is away and syncing without a click when it is
back, a revoked computer's words, and sign-out refused while changes are unsynced."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtNetwork import QNetworkInformation
from PySide6.QtWidgets import QApplication, QPushButton

from server import accounts as store_accounts
from server.database import make_engine, writing
from tests.conftest import make_share
from tests.server.conftest import PASSWORD, enrol
from tests.ui.shell_support import open_window, unlock
from tests.ui.sync_support import Store, signed_in_vault

Online = QNetworkInformation.Reachability.Online
Disconnected = QNetworkInformation.Reachability.Disconnected


@pytest.fixture
def store(tmp_path: Path, qtbot) -> Iterator[Store]:
    made = Store(tmp_path / "store")
    made.start()
    qtbot.waitUntil(made.answering, timeout=60_000)
    yield made
    made.stop()


def label(window) -> str:
    return window.sync_label.text()


def save_decision(qtbot, window) -> None:
    """What the form's Save does: a write on the vault worker."""
    saved: list[object] = []
    window.bridge.write(lambda s: s.record_decision(make_share()), saved.append, saved.append)
    qtbot.waitUntil(lambda: bool(saved), timeout=10_000)
    assert isinstance(saved[0], str)


def held_by_store(store: Store) -> set[str]:
    """The record ids the team's manager receives: what really reached the store."""
    manager = enrol(store.base_url, store.org.login("mo"))
    page = manager.client.pull(0, scope="team")
    manager.client.close()
    return {p.event.record_id for p in page.events}


def test_sign_in_from_the_first_run_offer_then_it_syncs(qtbot, home, service, store,
                                                         monkeypatch) -> None:
    rid = service.record_decision(make_share())  # made before signing in: it syncs too
    service.lock()
    monkeypatch.setenv("SHARELOG_SERVER", store.base_url)  # as make_run hands it over
    window = open_window(qtbot, home)
    unlock(qtbot, window)
    sync = window.sync
    qtbot.waitUntil(lambda: label(window) == "Not signed in · 2 changes waiting")
    qtbot.waitUntil(sync.offer_bar.isVisible)
    assert sync.offer.sign_in.text() == "Sign in to your team's store"
    assert sync.offer.later.text() == "Use without a store for now"
    qtbot.mouseClick(sync.offer.sign_in, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: sync.sign_in_dialog is not None and sync.sign_in_dialog.isVisible())
    dialog = sync.sign_in_dialog
    assert dialog.address.text() == store.base_url  # preset from SHARELOG_SERVER
    assert not dialog.button.isEnabled()
    qtbot.keyClicks(dialog.username, store.org.login("pat"))
    qtbot.keyClicks(dialog.password, "not the password")
    qtbot.mouseClick(dialog.button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "do not match" in dialog.message.text(), timeout=20_000)
    assert dialog.isVisible() and label(window).startswith("Not signed in")
    dialog.password.clear()
    qtbot.keyClicks(dialog.password, PASSWORD)
    qtbot.keyClick(dialog.password, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: sync.sign_in_dialog is None, timeout=20_000)
    assert "Signed in as Pat" in window.statusBar().currentMessage()
    qtbot.waitUntil(lambda: label(window).startswith("Synced at "), timeout=30_000)
    assert label(window) == f"Synced at {dt.datetime.now():%H:%M}" or \
        label(window).startswith("Synced at ")
    assert not sync.offer_bar.isVisible()
    assert rid in held_by_store(store)
    assert not sync.sign_in.isEnabled() and sync.sign_out.isEnabled()
    window.close()


def test_changes_wait_while_the_store_is_away_and_sync_without_a_click(
        qtbot, home, store) -> None:
    signed_in_vault(home, store)
    window = open_window(qtbot, home)
    unlock(qtbot, window)
    qtbot.waitUntil(lambda: label(window).startswith("Synced at "), timeout=30_000)
    assert not window.sync.offer_bar.isVisible()  # signed in: nothing to offer

    store.stop()
    service = window.bridge.service
    two_days_ago = dt.datetime.now() - dt.timedelta(days=2)
    window.bridge.write(lambda s: s.set_now(two_days_ago))  # saved on a day without signal
    save_decision(qtbot, window)
    window.bridge.write(lambda s: s.set_now(None))
    qtbot.waitUntil(lambda: "2 changes waiting" in label(window), timeout=30_000)
    # The sync a few seconds after the save found no store: offline, and since when.
    qtbot.waitUntil(lambda: label(window).startswith("Offline · 2 changes waiting"),
                    timeout=30_000)
    assert label(window) == (f"Offline · 2 changes waiting since {two_days_ago.day} "
                             f"{two_days_ago:%b %Y}")
    notes: list[str] = []
    window.sync.tray_note.connect(notes.append)
    window.sync.controller.refresh()
    qtbot.waitUntil(lambda: bool(notes))
    assert notes[-1] == f"2 changes not synced since {two_days_ago.day} {two_days_ago:%b %Y}"

    # The store comes back: the retry after the backoff syncs it, without a click.
    store.start()
    qtbot.waitUntil(lambda: label(window).startswith("Synced at "), timeout=60_000)
    assert "waiting" not in label(window)
    assert service.pending_sync_count() == 0
    rid = service.list_decisions()[0].record_id
    assert rid in held_by_store(store)

    # Once more, the network itself saying it is back (Qt's QNetworkInformation): the
    # retry is far off, as after many failures; the network's word syncs at once.
    controller = window.sync.controller
    store.stop()
    controller.on_reachability(Disconnected)
    save_decision(qtbot, window)
    qtbot.waitUntil(lambda: label(window).startswith("Offline · 2 changes waiting"),
                    timeout=30_000)
    qtbot.waitUntil(lambda: not controller.running)
    controller.retry.stop()
    controller.retry.setInterval(10 * 60 * 1000)
    store.start()
    qtbot.waitUntil(store.answering, timeout=60_000)
    controller.on_reachability(Online)
    assert controller.running  # started by the network, not by a timer or a click
    qtbot.waitUntil(lambda: label(window).startswith("Synced at "), timeout=30_000)
    window.close()


def test_a_revoked_computer_is_told_what_to_do(qtbot, home, store) -> None:
    signed_in_vault(home, store)
    window = open_window(qtbot, home)
    unlock(qtbot, window)
    qtbot.waitUntil(lambda: label(window).startswith("Synced at "), timeout=30_000)
    engine = make_engine(store.url)
    with writing(engine) as conn:
        store_accounts.revoke_device(conn, window.bridge.service.identity.device_id)
    engine.dispose()
    qtbot.keyClick(window, Qt.Key.Key_F5)  # Sync now
    qtbot.waitUntil(lambda: label(window) == "This computer's access was revoked: ask your "
                    "administrator.", timeout=30_000)
    controller = window.sync.controller
    qtbot.waitUntil(lambda: not controller.running)
    assert not controller.retry.isActive()  # no point asking again: a person must act
    controller.sync_now(automatic=True)
    assert not controller.running
    window.close()


def _sign_out_box(qtbot, window):
    window.sync.sign_out.trigger()
    qtbot.waitUntil(lambda: window.sync.sign_out_box is not None
                    and window.sync.sign_out_box.isVisible())
    return window.sync.sign_out_box


def _click(qtbot, box, text: str) -> None:
    button = next(b for b in box.findChildren(QPushButton) if b.text() == text)
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def test_sign_out_is_refused_while_changes_are_unsynced(qtbot, home, store,
                                                        tmp_path: Path) -> None:
    signed_in_vault(home, store)
    window = open_window(qtbot, home)
    unlock(qtbot, window)
    qtbot.waitUntil(lambda: label(window).startswith("Synced at "), timeout=30_000)
    store.stop()
    save_decision(qtbot, window)
    qtbot.waitUntil(lambda: "2 changes waiting" in label(window), timeout=30_000)

    box = _sign_out_box(qtbot, window)
    assert box.text() == ("2 changes have not reached the team's store yet, so Sharelog "
                          "does not sign out.")
    assert {b.text() for b in box.findChildren(QPushButton)} >= {
        "Sync now", "Back up, then sign out…", "Cancel"}
    _click(qtbot, box, "Cancel")
    qtbot.waitUntil(lambda: not box.isVisible())
    service = window.bridge.service
    assert service.sync.binding().device_token  # still signed in

    target = tmp_path / "backup-before-signing-out.sharelog"
    window.sync.ask_backup_target = lambda _parent: target  # the file dialog (a system one)
    box = _sign_out_box(qtbot, window)
    _click(qtbot, box, "Back up, then sign out…")
    qtbot.waitUntil(lambda: label(window) == "Signed out · 2 changes waiting", timeout=20_000)
    assert target.exists()
    assert service.sync.binding().device_token is None
    assert service.decision_count() == 1  # the vault keeps every record
    assert "then signed out" in window.statusBar().currentMessage()
    assert window.sync.sign_in.isEnabled() and not window.sync.sign_out.isEnabled()
    window.close()


def test_sign_out_with_everything_synced_asks_then_signs_out(qtbot, home, store) -> None:
    signed_in_vault(home, store)
    window = open_window(qtbot, home)
    unlock(qtbot, window)
    save_decision(qtbot, window)
    qtbot.waitUntil(lambda: label(window).startswith("Synced at "), timeout=30_000)
    qtbot.waitUntil(lambda: window.bridge.service.pending_sync_count() == 0, timeout=30_000)
    box = _sign_out_box(qtbot, window)
    assert box.text() == "Sign out of the team's store?"
    _click(qtbot, box, "Sign out")
    qtbot.waitUntil(lambda: label(window) == "Signed out", timeout=20_000)
    # Signed out, a save waits: no sync is tried (no token), the count says so.
    save_decision(qtbot, window)
    qtbot.waitUntil(lambda: label(window) == "Signed out · 2 changes waiting", timeout=20_000)
    assert QApplication.activeModalWidget() is None
    window.close()


def test_using_it_without_a_store_is_remembered(qtbot, home, service) -> None:
    service.lock()
    window = open_window(qtbot, home)
    unlock(qtbot, window)
    sync = window.sync
    qtbot.waitUntil(sync.offer_bar.isVisible)
    qtbot.mouseClick(sync.offer.later, Qt.MouseButton.LeftButton)
    assert not sync.offer_bar.isVisible()
    assert "Sync > Sign in…" in window.statusBar().currentMessage()
    window.lock()
    unlock(qtbot, window)
    qtbot.waitUntil(lambda: label(window) == "Not signed in")
    window.bridge.wait_idle()
    qtbot.waitUntil(lambda: not window.bridge.pending)
    assert not sync.offer_bar.isVisible()
    assert sync.sign_in.isEnabled()  # Sync > Sign in… is there whenever they want it
    window.close()




def test_the_sign_in_dialog_says_when_the_store_cannot_be_reached(qtbot, bridge,
                                                                   service) -> None:
    from server.pgcluster import free_port
    from ui.sync.sign_in import SignInDialog

    signed: list[object] = []
    dialog = SignInDialog(bridge, f"http://127.0.0.1:{free_port()}")
    qtbot.addWidget(dialog)
    dialog.signed_in.connect(signed.append)
    dialog.show()
    qtbot.keyClicks(dialog.username, "sam")
    qtbot.keyClicks(dialog.password, "sam-demo-password")
    qtbot.mouseClick(dialog.button, Qt.MouseButton.LeftButton)
    assert dialog.busy and not dialog.button.isEnabled()  # the UI thread did not wait
    qtbot.waitUntil(lambda: not dialog.busy, timeout=20_000)
    assert dialog.message.text() == ("The team's store cannot be reached. Check the address "
                                     "and this computer's connection, then try again.")
    dialog.address.setText("http://store.example.org")
    qtbot.keyClick(dialog.password, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: not dialog.busy, timeout=20_000)
    assert "https://" in dialog.message.text()
    assert dialog.isVisible() and not signed and service.sync.binding() is None
