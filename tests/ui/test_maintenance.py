"""File > Back up vault…, Restore from a backup…, Check integrity…, and the word after
unlocking when changes are missing: on real vaults, through the real window."""

from __future__ import annotations

import threading

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from app.paths import vault_path
from db.vault import Vault, open_connection_with_key
from tests.conftest import PASSPHRASE, make_share
from tests.ui.shell_support import open_window, unlock, vault_folder, wait_for_rows
from ui.vault import maintenance, restore
from ui.vault.integrity import IntegrityDialog
from ui.vault.maintenance import BackupDialog, MissingChangesDialog
from ui.vault.restore import RestoreDialog


def click(qtbot, button) -> None:
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def find_dialog(kind):
    for widget in QApplication.topLevelWidgets():
        if isinstance(widget, kind) and widget.isVisible():
            return widget
    return None


def edit_beneath(window, sql: str, *params: object) -> None:
    """An edit of the vault from outside the window (another connection with the key, as a
    tool would; a second Sharelog is refused the vault)."""
    vault = window.bridge.service.vault
    other = open_connection_with_key(vault.path, vault.key)
    try:
        other.execute(sql, params)
    finally:
        other.close()


def test_the_detail_pane_does_not_say_verified_for_an_edited_record(qtbot, home, service):
    record_id = service.record_decision(make_share(reasons="What the practitioner wrote."))
    service.vault.conn.execute(
        "UPDATE decisions SET body = json_set(body, '$.reasons', 'Someone else wrote this') "
        "WHERE record_id = ?", (record_id,))
    service.lock()
    window = open_window(qtbot, home)
    unlock(qtbot, window)
    wait_for_rows(qtbot, window, 1)
    window.open_record(record_id)
    qtbot.waitUntil(lambda: window.detail.integrity.text() != "", timeout=10_000)
    assert window.detail.integrity.text().startswith("⚠")
    assert "Verified" not in window.detail.integrity.text()
    window.close()


def test_check_integrity_names_drift_and_rebuilds_it(qtbot, home, service):
    record_id = service.record_decision(make_share())
    service.lock()
    window = open_window(qtbot, home)
    unlock(qtbot, window)
    edit_beneath(window, "UPDATE followups SET due_date = '2031-01-01' WHERE record_id = ?",
                 record_id)
    window.commands.maintenance.check.trigger()
    dialog = find_dialog(IntegrityDialog)
    assert dialog is not None
    click(qtbot, dialog.start_button)
    qtbot.waitUntil(lambda: not dialog.busy and dialog.report is not None, timeout=20_000)
    assert "1 record shows something its signed changes do not say (its follow-ups: 1)" \
        in dialog.outcome.text()
    assert dialog.progress.value() == dialog.progress.maximum()
    assert dialog.repair_button.isVisible()
    click(qtbot, dialog.repair_button)
    qtbot.waitUntil(lambda: "Rebuilt 1 record" in dialog.outcome.text(), timeout=20_000)
    click(qtbot, dialog.start_button)
    qtbot.waitUntil(lambda: not dialog.busy and dialog.report.ok, timeout=20_000)
    assert dialog.outcome.text().startswith("Verified: all 2 saved changes are intact")
    assert not dialog.repair_button.isVisible()
    window.close()


def test_a_check_can_be_cancelled_and_the_ui_never_waits(qtbot, home, service):
    service.record_decision(make_share())
    service.lock()
    window = open_window(qtbot, home)
    unlock(qtbot, window)
    gate = threading.Event()
    window.bridge.read(lambda _s: gate.wait(10))  # the vault worker is busy for now
    window.commands.maintenance.check.trigger()
    dialog = find_dialog(IntegrityDialog)
    dialog.deep.setChecked(True)
    click(qtbot, dialog.start_button)
    assert dialog.busy and dialog.cancel_button.text() == "Cancel"
    click(qtbot, dialog.cancel_button)
    assert dialog.isVisible()  # it stays to say how the check ended
    gate.set()
    qtbot.waitUntil(lambda: not dialog.busy, timeout=20_000)
    assert dialog.outcome.text() == "The check was stopped; nothing was changed."
    assert dialog.report is None
    window.close()


def test_back_up_vault_writes_an_encrypted_copy_where_chosen(qtbot, home, service, tmp_path,
                                                            monkeypatch):
    service.record_decision(make_share())
    service.lock()
    target = tmp_path / "usb" / maintenance.default_backup_name()
    monkeypatch.setattr(maintenance, "ask_backup_target", lambda parent: target)
    window = open_window(qtbot, home)
    unlock(qtbot, window)
    window.commands.maintenance.back_up.trigger()
    dialog = find_dialog(BackupDialog)
    qtbot.waitUntil(lambda: dialog.written is not None, timeout=20_000)
    assert str(target) in dialog.outcome.text()
    assert not target.read_bytes().startswith(b"SQLite format 3")
    copy = Vault.open(target, PASSPHRASE, migrate=False)
    assert copy.conn.execute("SELECT count(*) FROM decisions").fetchone()[0] == 1
    copy.lock()
    window.close()


def test_restore_from_the_locked_window_checks_first_and_says_what_is_lacking(
        qtbot, home, service, tmp_path, monkeypatch):
    for i in range(2):
        service.record_decision(make_share(reasons=f"kept {i}"))
    backup = service.backup_to(tmp_path / "backup.sharelog")
    service.record_decision(make_share(reasons="made after the backup"))
    service.lock()
    before = vault_path(home).read_bytes()
    monkeypatch.setattr(restore, "ask_backup_file", lambda parent, start: backup)
    window = open_window(qtbot, home)
    qtbot.waitUntil(lambda: window.vault_screen.stack.currentWidget()
                    is window.vault_screen.unlock_page)
    assert window.commands.maintenance.restore.isEnabled()  # locked, and still offered
    window.commands.maintenance.restore.trigger()
    dialog = find_dialog(RestoreDialog)
    qtbot.waitUntil(dialog.choice.isEnabled, timeout=10_000)
    click(qtbot, dialog.other)
    assert dialog.selected() == backup
    qtbot.keyClicks(dialog.passphrase, "not the passphrase it had")
    click(qtbot, dialog.check_button)
    qtbot.waitUntil(dialog.passphrase_error.isVisible, timeout=20_000)
    assert "doesn't open this backup" in dialog.passphrase_error.text()
    dialog.passphrase.clear()
    qtbot.keyClicks(dialog.passphrase, PASSPHRASE)
    click(qtbot, dialog.check_button)
    qtbot.waitUntil(dialog.restore_button.isEnabled, timeout=20_000)
    text = dialog.outcome.text()
    assert "passes the integrity check. It holds 2 decisions" in text
    assert "2 changes made on this laptop " in text and "missing from the vault" in text
    assert vault_path(vault_folder(home)).read_bytes() == before  # nothing replaced yet
    click(qtbot, dialog.restore_button)
    page = window.vault_screen.unlock_page
    qtbot.waitUntil(lambda: "has been restored" in page.message.text(), timeout=20_000)
    assert "replaced" in page.message.text()
    assert [p.name for p in (vault_folder(home) / "replaced").iterdir()]
    unlock(qtbot, window)
    wait_for_rows(qtbot, window, 2)
    assert find_dialog(MissingChangesDialog) is None  # said before restoring, not after
    window.close()


def test_missing_changes_are_named_after_unlock_and_can_be_accepted(qtbot, home, service):
    service.record_decision(make_share())
    newest = service.record_decision(make_share(reasons="the newest"))
    conn = service.vault.conn
    conn.execute("PRAGMA foreign_keys = OFF")
    for table in ("followups", "decisions_fts", "decisions", "events"):
        conn.execute(f"DELETE FROM {table} WHERE record_id = ?", (newest,))
    service.lock()
    window = open_window(qtbot, home)
    unlock(qtbot, window)
    qtbot.waitUntil(lambda: find_dialog(MissingChangesDialog) is not None, timeout=10_000)
    dialog = find_dialog(MissingChangesDialog)
    assert dialog.text.text().startswith("2 changes made on this laptop ")
    click(qtbot, dialog.accept_button)
    accepted = []
    window.bridge.read(lambda s: s.missing_changes, accepted.append)
    qtbot.waitUntil(lambda: accepted == [None], timeout=10_000)
    window.lock()
    unlock(qtbot, window)
    wait_for_rows(qtbot, window, 1)
    assert find_dialog(MissingChangesDialog) is None
    window.close()


def test_a_pdf_of_an_edited_record_says_what_is_wrong(qapp, service):
    from ui.decisions.export_pdf import _integrity_words, collect_records

    record_id = service.record_decision(make_share())
    service.vault.conn.execute("UPDATE decisions SET subjects_text = 'X' WHERE record_id = ?",
                               (record_id,))
    [rec] = collect_records(service, [record_id])["records"]
    assert _integrity_words(rec["integrity"]) == (
        "INTEGRITY PROBLEM: what is shown differs from its signed changes.")
