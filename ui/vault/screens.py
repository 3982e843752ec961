"""First run (create a vault) and every later start (choose your vault and unlock it).

The unlock page lists the vaults on this computer (``app.vaults``: one per person) by
display name and last use, the last used chosen; unlocking opens only the one chosen.
"Someone else: create a vault" (or "…: sign in" once ``set_sign_in_available(True)``)
leads to the create page for a new vault in a folder of its own; after any vault is
made, ``VaultScreen.vault_created`` says so (sign-in connects there).

Key derivation and the wait after wrong passphrases run off the UI thread
through ``bridge.task``; the UI shows a countdown and keeps the button disabled.
A vault that cannot be opened (damaged, not a vault, half-made) is said in
Sharelog's words with what to do: restore a backup (``VaultScreen.restore_requested``,
answered by the restore dialog) or set the file aside, after asking, and start again.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import QMessageBox, QPushButton, QStackedWidget, QVBoxLayout, QWidget

from app import session, vaults
from app.paths import settings_path
from app.session import VaultError, WrongPassphrase
from app.settings import Settings
from app.vaults import VaultEntry
from ui.vault.pages import CreatePage, UnlockPage
from ui.widgets.errors import user_message


@dataclass(frozen=True)
class VaultState:
    exists: bool
    failures: int
    settings: Settings
    problem: VaultError | None = None  # what no passphrase can fix, said at once
    folder: Path | None = None  # the vault's folder


@dataclass(frozen=True)
class Listing:
    """The vaults on this computer and the state of the one chosen (None: no vault yet)."""

    entries: list[VaultEntry]
    chosen: VaultState | None


@dataclass(frozen=True)
class Opened:
    """What a successful create or unlock hands to the main window."""

    service: Any
    settings: Settings
    folder: Path | None = None  # the vault's folder: its settings, backups, Qt's memory
    created: bool = False  # a vault made just now (sign-in may follow)


@dataclass(frozen=True)
class Refused:
    failures: int
    delay: float
    message: str = str(WrongPassphrase())


def probe(folder: Path | None) -> VaultState:
    """One vault's state, from its folder."""
    settings = Settings.load(settings_path(folder))
    return VaultState(session.vault_exists(folder), settings.failed_unlocks, settings,
                      session.vault_problem(folder), folder)


def list_and_probe(base: Path | None, prefer: Path | None) -> Listing:
    """The vaults under the data folder ``base`` (adopting an earlier single vault), and
    the state of ``prefer`` if it is listed, else of the last used."""
    entries = vaults.list_vaults(base)
    folders = [e.folder for e in entries]
    if not folders:
        return Listing(entries, None)
    return Listing(entries, probe(prefer if prefer in folders else folders[0]))


def attempt_unlock(passphrase: str, folder: Path | None) -> Opened | Refused:
    try:
        service = session.unlock(passphrase, base=folder)
    except WrongPassphrase as exc:
        failures = session.failed_unlocks(folder)
        return Refused(failures, session.wait_before_unlock(folder), str(exc))
    except session.TooSoon as exc:
        return Refused(session.failed_unlocks(folder), exc.seconds, str(exc))
    return Opened(service, Settings.load(settings_path(folder)), folder)


def create(name: str, passphrase: str, base: Path | None, into: Path | None = None) -> Opened:
    """A new vault: in ``into`` (a vault's folder whose file was set aside, beside its
    backups) or else in a new folder of its own under the data folder ``base``."""
    if into is not None:
        service = session.create_vault(name, passphrase, base=into)
    else:
        service = session.create_vault_for(name, passphrase, base=base)
    folder = service.vault.path.parent
    return Opened(service, Settings.load(settings_path(folder)), folder, created=True)

class VaultScreen(QWidget):
    """Choose a vault and unlock it, or create one; emits ``opened`` with an ``Opened``.

    ``base`` is the data folder (``app.vaults`` lists the vaults in it); ``folder`` is the
    folder of the vault chosen (or open), which restore and preferences act on.
    """

    opened = Signal(object)
    # After ``opened``, when the vault was made just now (first run or someone else): the
    # hook for signing the new vault in to the team's store. Carries the same ``Opened``.
    vault_created = Signal(object)
    # "Restore a backup…" on a vault that cannot be opened; answered by the restore dialog,
    # which calls start() again once a backup is in place.
    restore_requested = Signal()

    def __init__(self, bridge: Any, base: Path | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.bridge = bridge
        self.base = base
        self.folder: Path | None = None  # the vault chosen in the list, or open
        self._create_into: Path | None = None  # a folder whose vault was set aside
        self.failures = 0
        self.delay_left = 0.0
        self._wait_token = 0
        self._probe_token = 0
        self.create_page = CreatePage(self)
        self.unlock_page = UnlockPage(self)
        self.loading_page = QWidget(self)
        self.stack = QStackedWidget(self)
        self.stack.addWidget(self.loading_page)
        self.stack.addWidget(self.create_page)
        self.stack.addWidget(self.unlock_page)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.stack)
        self.create_page.submitted.connect(self._create)
        self.create_page.back.connect(self.start)
        self.unlock_page.submitted.connect(self._unlock)
        self.unlock_page.chosen.connect(self.choose)
        self.unlock_page.someone_else.connect(self.show_create_for_someone_else)
        self.unlock_page.restore_button.clicked.connect(self.restore_requested.emit)
        self.unlock_page.set_aside_button.clicked.connect(self.ask_to_set_aside)
        self.set_aside_box: QMessageBox | None = None
        self._tick = QTimer(self)
        self._tick.setInterval(250)
        self._tick.timeout.connect(self._show_countdown)
        self._deadline = 0.0

    def start(self) -> None:
        """List the vaults here (off the UI thread) and show the right page."""
        self.stack.setCurrentWidget(self.loading_page)
        self._list(message="")

    def _list(self, message: str) -> None:
        self._probe_token += 1
        token, base, prefer = self._probe_token, self.base, self.folder
        self.bridge.task(lambda: list_and_probe(base, prefer),
                         lambda listing: self._on_listing(token, listing, message),
                         self._on_error)

    def set_sign_in_available(self, available: bool) -> None:
        """Sign-in's switch: with a store in reach, "Someone else: sign in"."""
        self.unlock_page.set_sign_in_available(available)

    def stop_waiting(self) -> None:
        """The window is closing: no countdown runs on after it."""
        self._tick.stop()

    def show_unlock(self, message: str = "") -> None:
        """Back to the list (after a lock or a restore): at once, with the vaults as listed
        before, then listed again off the UI thread (the one just used comes first)."""
        self.unlock_page.reset()
        self.unlock_page.message.setText(message)
        self.stack.setCurrentWidget(self.unlock_page)
        self.unlock_page.passphrase.setFocus()
        self._list(message)

    def show_create_for_someone_else(self) -> None:
        """A new vault in a folder of its own, beside the others."""
        self._create_into = None
        self._show_create(others=True)

    def _show_create(self, *, others: bool) -> None:
        self._probe_token += 1  # a listing still on its way must not take the page back
        self._cancel_wait()
        page = self.create_page
        page.reset()
        page.name.clear()
        page.for_someone_else(others)
        self.stack.setCurrentWidget(page)
        page.name.setFocus()

    def show_problem(self, exc: BaseException, *, blocked: bool = False) -> None:
        """Sharelog's words for a vault that does not open, and the actions that help."""
        page = self.unlock_page
        page.message.setText(user_message(exc))
        page.blocked = blocked
        page.show_remedies(getattr(exc, "remedies", frozenset()))
        page.update_enabled()

    def _on_listing(self, token: int, listing: Listing, message: str) -> None:
        if token != self._probe_token:
            return  # a later choice or listing overtook it
        if listing.chosen is None:
            self.folder = None
            self._create_into = None
            self._show_create(others=False)
            return
        self.folder = listing.chosen.folder
        page = self.unlock_page
        page.show_vaults(listing.entries, self.folder)
        if self.stack.currentWidget() is not page:
            page.reset()
            page.message.setText(message)
            self.stack.setCurrentWidget(page)
            page.passphrase.setFocus()
        self._on_probe(listing.chosen)

    def choose(self, folder: Path) -> None:
        """Another vault chosen in the list: forget what was typed for the last one."""
        if folder == self.folder:
            return
        self.folder = folder
        self._cancel_wait()
        self.unlock_page.reset()
        self._probe_token += 1
        token = self._probe_token
        self.bridge.task(lambda: probe(folder),
                         lambda state: self._on_chosen(token, state), self._on_error)

    def _on_chosen(self, token: int, state: VaultState) -> None:
        if token == self._probe_token:
            self._on_probe(state)

    def _on_probe(self, state: VaultState) -> None:
        self.failures = state.failures
        page = self.unlock_page
        page.blocked = False
        page.show_remedies(frozenset())
        page.update_enabled()
        if state.problem is not None:
            self.show_problem(state.problem, blocked=True)
        elif state.exists:
            delay = session.seconds_to_wait(state.settings, time.time())
            if delay:
                self._start_wait(delay)
        else:
            self.start()  # gone meanwhile: list again

    # -- create ------------------------------------------------------------
    def _create(self, name: str, passphrase: str) -> None:
        page = self.create_page
        page.busy = True
        page.update_feedback()
        page.message.setText(self.tr("Creating your vault…"))
        base, into = self.base, self._create_into
        self.bridge.task(lambda: create(name, passphrase, base, into), self._on_opened,
                         self._on_create_error)

    def _on_create_error(self, exc: BaseException) -> None:
        page = self.create_page
        page.busy = False
        page.update_feedback()
        if isinstance(exc, session.VaultExists):
            self.start()  # something is there after all: say what, never replace it
            return
        page.message.setText(user_message(exc))

    # -- unlock --------------------------------------------------------------
    def _unlock(self, passphrase: str) -> None:
        page = self.unlock_page
        page.busy = True
        page.update_enabled()
        page.message.clear()
        page.wait_label.setText(self.tr("Opening…"))
        folder = self.folder
        self.bridge.task(lambda: attempt_unlock(passphrase, folder), self._on_attempt,
                         self._on_unlock_error)

    def _on_attempt(self, result: Opened | Refused) -> None:
        page = self.unlock_page
        page.busy = False
        page.wait_label.clear()
        page.update_enabled()
        if isinstance(result, Opened):
            self._on_opened(result)
            return
        self.failures = result.failures
        page.passphrase.selectAll()
        page.message.setText(result.message)
        page.update_enabled()
        if result.delay:
            self._start_wait(result.delay)
        page.passphrase.setFocus()

    def _on_unlock_error(self, exc: BaseException) -> None:
        page = self.unlock_page
        page.busy = False
        page.wait_label.clear()
        self.show_problem(exc)

    # -- a file that cannot be opened ------------------------------------------
    def ask_to_set_aside(self) -> None:
        """Ask first; only then rename the file (and its journals) out of the way."""
        box = QMessageBox(QMessageBox.Icon.Question, self.tr("Set the vault file aside"),
                          self.tr("Sharelog will rename the vault file it cannot open and "
                                  "keep it in the same folder, so nothing is deleted. Then "
                                  "you can create a new vault, or restore a backup."),
                          QMessageBox.StandardButton.NoButton, self)
        box.setInformativeText(self.tr(
            "Records in the file set aside are not in a new vault. If you have a backup, "
            "restoring it keeps them."))
        self.set_aside_yes = box.addButton(self.tr("Set aside"), QMessageBox.ButtonRole.AcceptRole)
        cancel = box.addButton(self.tr("Cancel"), QMessageBox.ButtonRole.RejectRole)
        for button in (self.set_aside_yes, cancel):
            button.setAccessibleName(button.text())
        box.setDefaultButton(cancel)
        box.setEscapeButton(cancel)
        box.buttonClicked.connect(self._set_aside_answered)
        box.finished.connect(box.deleteLater)
        self.set_aside_box = box
        box.open()

    def _set_aside_answered(self, button: QPushButton) -> None:
        self.set_aside_box = None
        if button is not self.set_aside_yes:
            return
        self.unlock_page.busy = True
        self.unlock_page.update_enabled()
        folder = self.folder
        self.bridge.task(lambda: session.set_aside_vault(folder), self._on_set_aside,
                         self._on_unlock_error)

    def _on_set_aside(self, name: str) -> None:
        """A new vault goes where the one set aside was, beside its backups."""
        self.unlock_page.busy = False
        self.unlock_page.reset()
        self._create_into = self.folder
        self._show_create(others=self.unlock_page.vaults.rowCount() > 1)
        self.create_page.message.setText(self.tr(
            "The file Sharelog could not open is kept as %1, in the same folder.").replace(
            "%1", name))

    def _cancel_wait(self) -> None:
        """The wait belongs to one vault's wrong passphrases: another vault has its own."""
        self._wait_token += 1
        self._tick.stop()
        self.delay_left = 0.0
        self.unlock_page.waiting = False
        self.unlock_page.wait_label.clear()
        self.unlock_page.update_enabled()

    def _start_wait(self, delay: float) -> None:
        """Wait ``delay`` seconds off the UI thread; the button stays disabled until then."""
        self._wait_token += 1
        token = self._wait_token
        self.delay_left = delay
        self._deadline = time.monotonic() + delay
        self.unlock_page.waiting = True
        self.unlock_page.update_enabled()
        self._show_countdown()
        self._tick.start()
        self.bridge.task(lambda: time.sleep(delay), lambda _r: self._end_wait(token),
                         lambda _e: self._end_wait(token))

    def _end_wait(self, token: int) -> None:
        if token != self._wait_token:
            return
        self._tick.stop()
        self.delay_left = 0.0
        self.unlock_page.waiting = False
        self.unlock_page.wait_label.clear()
        self.unlock_page.update_enabled()

    def _show_countdown(self) -> None:
        left = max(0.0, self._deadline - time.monotonic())
        seconds = max(1, int(left + 0.999))
        self.unlock_page.wait_label.setText(
            self.tr("You can try again in %1 s.").replace("%1", str(seconds)))

    # -- both ----------------------------------------------------------------
    def _on_opened(self, opened: Opened) -> None:
        self.create_page.busy = False
        self.create_page.reset()
        self.unlock_page.reset()
        self.failures = 0
        self.folder = opened.folder
        self._create_into = None
        self.opened.emit(opened)
        if opened.created:
            self.vault_created.emit(opened)

    def _on_error(self, exc: BaseException) -> None:
        self.show_unlock(user_message(exc))
