"""Several people on one computer, in the window: the unlock screen lists the vaults here,
unlocking opens only the one chosen, "Someone else" makes a new one, and a lock leaves
nothing of the last person's records anywhere the next person could look."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QAbstractItemModel, QModelIndex, QSettings, Qt
from PySide6.QtGui import QAction, QClipboard, QGuiApplication
from PySide6.QtWidgets import QApplication, QLineEdit, QWidget

from app import session, vaults
from app.model import Counterparty, Subject
from app.paths import vault_path
from db.claim import VaultClaim
from tests.conftest import PASSPHRASE, make_share
from tests.ui.shell_support import open_window, unlock, wait_for_rows
from ui.vault.vault_list import VaultListModel

OTHER = "tangerine lighthouse under quiet rain"
SECRET = "Qzxwendeline"  # in every record Sam saves; never on screen once locked


def _two_vaults(home: Path, records: int = 3) -> tuple[Path, Path]:
    sam = session.create_vault_for("Sam Worker", PASSPHRASE, base=home)
    for i in range(records):
        sam.record_decision(make_share(
            subjects=[Subject(name=f"{SECRET} Child{i}", kind="child", case_ref=f"{SECRET}{i}")],
            counterparty=Counterparty(name=f"Dr {SECRET}", role="GP",
                                      organisation="Riverside Medical Centre"),
            reasons=f"{SECRET} reasons {i}"))
    sam.lock()
    alex = session.create_vault_for("Alex Morgan", OTHER, base=home)
    alex.lock()
    return sam.vault.path.parent, alex.vault.path.parent


def _listed(window) -> list[str]:
    model = window.vault_screen.unlock_page.vaults
    return [model.index(r, VaultListModel.NAME).data() for r in range(model.rowCount())]


def _choose(qtbot, window, name: str) -> None:
    page = window.vault_screen.unlock_page
    qtbot.waitUntil(lambda: name in _listed(window))
    view = page.vault_list
    index = page.vaults.index(_listed(window).index(name), VaultListModel.NAME)
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton,
                     pos=view.visualRect(index).center())
    qtbot.waitUntil(lambda: window.vault_screen.folder == index.data(VaultListModel.FolderRole))


def _on_the_list(qtbot, window) -> None:
    screen = window.vault_screen
    qtbot.waitUntil(lambda: screen.stack.currentWidget() is screen.unlock_page
                    and screen.unlock_page.vaults.rowCount() > 0, timeout=10_000)


def test_the_list_shows_each_vault_the_last_used_chosen(qtbot, qtmodeltester, home):
    sam, alex = _two_vaults(home)
    window = open_window(qtbot, home)
    _on_the_list(qtbot, window)
    page = window.vault_screen.unlock_page
    assert _listed(window) == ["Alex Morgan", "Sam Worker"]  # Alex made theirs last
    assert page.vaults.index(0, VaultListModel.LAST_USED).data() == "Last used today"
    assert page.vault_list.currentIndex().row() == 0 and window.vault_screen.folder == alex
    assert page.someone_else_button.text() == "Someone else: create a vault"
    window.vault_screen.set_sign_in_available(True)  # sign-in's switch, once a store answers
    assert page.someone_else_button.text() == "Someone else: sign in"
    qtmodeltester.check(page.vaults)

    _choose(qtbot, window, "Sam Worker")
    unlock(qtbot, window)
    wait_for_rows(qtbot, window, 3)
    assert window.bridge.service.vault.path == vault_path(sam)
    VaultClaim(vault_path(alex)).acquire().release()  # Alex's stays closed, free for Alex
    # Qt's own memory (the file dialogs' folders) is Sam's own while Sam's vault is open.
    assert Path(QSettings(QSettings.Scope.UserScope, "QtProject").fileName()).parent \
        == sam / "qt"
    window.lock()
    _on_the_list(qtbot, window)
    qtbot.waitUntil(lambda: _listed(window) == ["Sam Worker", "Alex Morgan"])
    assert page.vault_list.currentIndex().row() == 0  # Sam's, used last, chosen again
    assert Path(QSettings(QSettings.Scope.UserScope, "QtProject").fileName()).parent \
        == home / "qt"
    window.close()


def test_a_passphrase_opens_only_the_vault_chosen(qtbot, home):
    sam, alex = _two_vaults(home, records=1)
    window = open_window(qtbot, home)
    _on_the_list(qtbot, window)
    page = window.vault_screen.unlock_page
    _choose(qtbot, window, "Alex Morgan")
    qtbot.keyClicks(page.passphrase, PASSPHRASE)  # Sam's, typed with Alex's chosen
    qtbot.mouseClick(page.button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "doesn't open" in page.message.text(), timeout=10_000)
    assert not window.is_unlocked
    assert session.failed_unlocks(alex) == 1 and session.failed_unlocks(sam) == 0
    _choose(qtbot, window, "Sam Worker")
    assert page.passphrase.text() == "" and page.message.text() == ""
    unlock(qtbot, window)
    wait_for_rows(qtbot, window, 1)
    window.close()


def _everything_shown(window) -> list[str]:
    """Every text a person could see or get back: widgets, models, actions, titles, the
    clipboard."""
    clipboard = QGuiApplication.clipboard()
    texts = [clipboard.text(QClipboard.Mode.Clipboard), clipboard.text(QClipboard.Mode.Selection)]
    for top in QApplication.topLevelWidgets():
        for widget in (top, *top.findChildren(QWidget)):
            texts += [widget.windowTitle(), widget.toolTip(), widget.accessibleDescription()]
            for getter in ("text", "toPlainText", "placeholderText", "currentText"):
                value = getattr(widget, getter, None)
                if callable(value):
                    try:
                        texts.append(str(value()))
                    except TypeError:
                        pass
        texts += [a.text() + a.toolTip() for a in top.findChildren(QAction)]
        for model in top.findChildren(QAbstractItemModel):
            texts += _model_texts(model, QModelIndex())
    return texts


def _model_texts(model: QAbstractItemModel, parent: QModelIndex) -> list[str]:
    texts = []
    for row in range(model.rowCount(parent)):
        for column in range(model.columnCount(parent)):
            index = model.index(row, column, parent)
            for role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole,
                         Qt.ItemDataRole.AccessibleTextRole):
                texts.append(str(index.data(role) or ""))
        texts += _model_texts(model, model.index(row, 0, parent))
    return texts


def test_a_lock_leaves_nothing_of_the_records_for_the_next_person(qtbot, home):
    sam, alex = _two_vaults(home)
    window = open_window(qtbot, home)
    _on_the_list(qtbot, window)
    _choose(qtbot, window, "Sam Worker")
    unlock(qtbot, window)
    wait_for_rows(qtbot, window, 3)
    assert any(SECRET in t for t in _everything_shown(window))  # the scan sees the records
    # Sam searches by a name, opens a record, copies from it.
    window.decisions.search.setFocus()
    qtbot.keyClicks(window.decisions.search, f"{SECRET} Child1")
    window.decisions.run_query()
    qtbot.waitUntil(lambda: window.decisions.model.rowCount() == 1
                    and not window.decisions.model.is_loading, timeout=10_000)
    window.decisions.select_record(window.decisions.model.record_id(0))
    qtbot.waitUntil(lambda: SECRET in window.detail.shown_text(), timeout=10_000)
    window.activateWindow()
    qtbot.waitUntil(lambda: QGuiApplication.applicationState()
                    == Qt.ApplicationState.ApplicationActive)
    window.detail.record_view.selectAll()
    window.detail.record_view.copy()
    assert SECRET in QGuiApplication.clipboard().text()
    # And leaves a correction half typed in the form.
    window.correct(window.decisions.model.record_id(0))
    qtbot.waitUntil(lambda: window.pages.currentWidget() is window.form, timeout=10_000)

    window.lock()
    _on_the_list(qtbot, window)
    assert window.windowTitle() == "Sharelog"
    left = [t for t in _everything_shown(window) if SECRET.casefold() in t.casefold()]
    assert left == []
    assert window.decisions.model.rowCount() == 0 and window.detail.shown_text() == ""
    # Ctrl+Z in a box that held Sam's search brings nothing back.
    assert not [e for e in window.findChildren(QLineEdit) if e.isUndoAvailable()]
    window.decisions.search.undo()
    assert window.decisions.search.text() == ""

    # Alex unlocks next: Alex's own (empty) vault, on the list, not Sam's form.
    _choose(qtbot, window, "Alex Morgan")
    unlock(qtbot, window, OTHER)
    wait_for_rows(qtbot, window, 0)
    assert window.bridge.service.vault.path == vault_path(alex)
    assert window.pages.currentWidget() is window.splitter
    assert not [t for t in _everything_shown(window) if SECRET.casefold() in t.casefold()]
    window.close()


def test_someone_else_makes_a_vault_of_their_own(qtbot, home):
    sam = session.create_vault_for("Sam Worker", PASSPHRASE, base=home)
    sam_folder = sam.vault.path.parent
    sam.lock()
    window = open_window(qtbot, home)
    _on_the_list(qtbot, window)
    screen = window.vault_screen
    page = screen.create_page
    qtbot.mouseClick(screen.unlock_page.someone_else_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: screen.stack.currentWidget() is page)
    assert page.heading.text() == "A vault for someone else"
    assert page.back_button.isVisible() and page.name.text() == ""
    qtbot.mouseClick(page.back_button, Qt.MouseButton.LeftButton)  # changed their mind
    _on_the_list(qtbot, window)
    assert _listed(window) == ["Sam Worker"]

    qtbot.mouseClick(screen.unlock_page.someone_else_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: screen.stack.currentWidget() is page)
    qtbot.keyClicks(page.name, "Alex Morgan")
    qtbot.keyClicks(page.passphrase, OTHER)
    qtbot.keyClicks(page.confirm, OTHER)
    with qtbot.waitSignal(screen.vault_created, timeout=20_000) as created:
        qtbot.mouseClick(page.button, Qt.MouseButton.LeftButton)
    opened = created.args[0]
    assert opened.created and opened.folder != sam_folder
    assert opened.folder.parent == home / "vaults"
    assert window.is_unlocked and window.bridge.service is opened.service
    wait_for_rows(qtbot, window, 0)
    window.lock()
    _on_the_list(qtbot, window)
    qtbot.waitUntil(lambda: _listed(window) == ["Alex Morgan", "Sam Worker"])
    assert [e.display_name for e in vaults.list_vaults(home)] == ["Alex Morgan", "Sam Worker"]
    window.close()


def test_an_earlier_vault_is_listed_opened_and_named(qtbot, home, service):
    service.lock()
    (home / "profile.json").unlink()  # as an earlier Sharelog left it: no list entry yet
    window = open_window(qtbot, home)
    _on_the_list(qtbot, window)
    assert _listed(window) == ["Vault from an earlier Sharelog"]
    unlock(qtbot, window)
    assert window.bridge.service.vault.path.parent.parent == home / "vaults"
    window.lock()
    qtbot.waitUntil(lambda: _listed(window) == ["Sam Worker"])  # its name, learned
    window.close()


def test_a_vault_set_aside_is_made_again_in_its_own_folder(qtbot, home):
    sam, alex = _two_vaults(home, records=1)
    alex_before = vault_path(alex).read_bytes()
    vault_path(sam).write_bytes(b"not a vault at all, and not 4 KiB pages")
    window = open_window(qtbot, home)
    _on_the_list(qtbot, window)
    _choose(qtbot, window, "Sam Worker")
    screen = window.vault_screen
    page = screen.unlock_page
    qtbot.waitUntil(page.set_aside_button.isVisible, timeout=10_000)
    qtbot.mouseClick(page.set_aside_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: screen.set_aside_box is not None and screen.set_aside_box.isVisible())
    qtbot.mouseClick(screen.set_aside_yes, Qt.MouseButton.LeftButton)
    create = screen.create_page
    qtbot.waitUntil(lambda: screen.stack.currentWidget() is create, timeout=10_000)
    qtbot.keyClicks(create.name, "Sam Worker")
    qtbot.keyClicks(create.passphrase, PASSPHRASE)
    qtbot.keyClicks(create.confirm, PASSPHRASE)
    with qtbot.waitSignal(screen.vault_created, timeout=20_000) as made:
        qtbot.mouseClick(create.button, Qt.MouseButton.LeftButton)
    # Beside its backups and the file set aside, not in a new folder; Alex's untouched.
    assert made.args[0].folder == sam
    assert list(sam.glob("vault.sharelog.damaged-*")) and (sam / "backups").is_dir()
    assert vault_path(alex).read_bytes() == alex_before
    window.lock()
    qtbot.waitUntil(lambda: sorted(_listed(window)) == ["Alex Morgan", "Sam Worker"])
    window.close()
