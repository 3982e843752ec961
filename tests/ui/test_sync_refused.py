"""A change the team's store refused, where the practitioner looks (issue 9's last gap),
against a real store process: Pat marks a follow-up done after the manager handed it to
Paula. The record's pane shows what the team has (open, Paula's), says in words that
Pat's change was not accepted, why and what to do, keeps the change readable under
History, and agrees with Sync details."""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import Qt

from app import session
from app.sync import account
from app.sync.engine import SyncEngine
from tests.conftest import PASSPHRASE
from tests.server.conftest import PASSWORD
from tests.ui.shell_support import open_window, unlock
from tests.ui.sync_support import Store, signed_in_vault
from tests.ui.test_sync_window import label, save_decision, store  # noqa: F401 - fixture
from ui.sync.details import HeldModel


def test_a_done_the_store_refused_is_said_in_the_record_and_the_record_shows_the_team(
        qtbot, home: Path, tmp_path: Path, store: Store) -> None:  # noqa: F811
    signed_in_vault(home, store)
    window = open_window(qtbot, home)
    unlock(qtbot, window)
    service = window.bridge.service
    save_decision(qtbot, window)
    qtbot.waitUntil(lambda: label(window).startswith("Synced at ")
                    and service.pending_sync_count() == 0, timeout=30_000)
    [summary] = service.list_decisions()
    rid = summary.record_id
    [fu] = service.get_decision(rid).followups

    # The manager, on his laptop, hands the follow-up to Paula.
    mo = session.create_vault("Mo", PASSPHRASE, base=tmp_path / "mo")
    account.sign_in(mo, store.base_url, store.org.login("mo"), PASSWORD)
    engine = SyncEngine(mo)
    try:
        engine.sync_once()
        paula_id = store.org.users["paula"]
        mo.reassign_followup(fu.followup_id, paula_id,
                             parents=mo.get_followup(fu.followup_id).heads)
        assert engine.sync_once().pushed == 1
    finally:
        engine.close()
        mo.lock()

    # Pat, before his window heard of it, marks it done; the store refuses it.
    done: list[object] = []
    window.bridge.write(lambda s: s.complete_followup(fu.followup_id, "Receipt confirmed.",
                                                      parents=fu.heads),
                        done.append, done.append)
    qtbot.waitUntil(lambda: bool(done))
    window.decisions.select_record(rid)
    pane = window.detail
    qtbot.waitUntil(lambda: pane.loaded_id == rid, timeout=10_000)
    assert not pane.refused_note.isVisibleTo(pane)
    qtbot.keyClick(window, Qt.Key.Key_F5)
    qtbot.waitUntil(lambda: pane.refused_note.isVisibleTo(pane)
                    and "Paula" in pane.refused_note.text(), timeout=30_000)
    note = pane.refused_note.text()
    assert note.startswith("⚠ Your change of ")
    assert ("was not accepted by the team's store: you marked the follow-up "
            f"“{fu.title}” done.") in note
    assert "By then the follow-up was held by Paula" in note
    assert "ask Paula" in note and "or your manager" in note
    assert "This record shows what the team has." in note
    # The follow-up shows the team's state, and says the change was not accepted.
    pane.tabs.setCurrentIndex(2)
    followups = pane.followups_view.toPlainText()
    assert "Overdue" in followups and "Paula" in followups and "Done" not in followups
    assert "not accepted by the team's store" in followups
    # The refused change stays readable under History, with its outcome.
    pane.tabs.setCurrentIndex(1)
    history = pane.history_view.toPlainText()
    assert "Not accepted by the team's store" in history
    assert "Outcome: Receipt confirmed." in history
    assert pane.tabs.tabText(1) == "History (1)"  # one version: the refused one is none
    shot = os.environ.get("SHARELOG_REFUSED_SHOT")
    if shot:  # to look at it: SHARELOG_REFUSED_SHOT=/tmp/refused.png
        window.grab().save(shot.replace(".png", "-history.png"))
    assert pane.integrity.text().startswith("✓ Verified")
    pane.tabs.setCurrentIndex(0)
    if shot:
        window.grab().save(shot)

    # Sync details lists the same change, held since the time the record says.
    controller = window.sync.controller
    qtbot.waitUntil(lambda: not controller.running)
    dialog = window.sync.open_details()
    assert dialog is not None
    qtbot.waitUntil(lambda: dialog.held.rowCount() == 1, timeout=10_000)
    held_since = dialog.held.index(0, HeldModel.SINCE).data()
    assert f"held since {held_since}" in note
    assert dialog.held.index(0, HeldModel.WHY).data() == (
        "Only the person the follow-up is given to can close it, the store says.")
    window.close()
