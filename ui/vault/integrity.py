"""File > Check integrity…: the whole-vault check, with progress and a cancel, off the UI
thread; and, when only what the screens show has drifted, a repair from the signed changes.

The check runs on the vault worker (it reads through the service's connection in one
snapshot); its progress reaches the dialog through a queued signal. The words come from
the report's fields (counts, parts, times), never from record content.
"""

from __future__ import annotations

import threading
from typing import Any

from PySide6.QtCore import QCoreApplication, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QLabel,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.cancel import Cancelled
from app.projection import PARTS
from app.tip import MissingChanges, format_time, time_span
from ui.bridge import DECISIONS, FOLLOWUPS
from ui.widgets.errors import user_message
from ui.widgets.progress import ProgressRelay

CONTEXT = "maintenance"


def _t(text: str) -> str:
    return QCoreApplication.translate(CONTEXT, text)


def fit_height(dialog: QDialog) -> None:
    """Grow a dialog to show a message that just got longer (word-wrapped labels)."""
    layout = dialog.layout()
    if layout is None:
        return
    layout.activate()
    wanted = (layout.heightForWidth(dialog.width()) if layout.hasHeightForWidth()
              else layout.sizeHint().height())
    if wanted > dialog.height():
        dialog.resize(dialog.width(), wanted)


class Message(QLabel):
    """A word-wrapped message whose dialog grows to show all of it."""

    def __init__(self, name: str, parent: QWidget) -> None:
        super().__init__(parent)
        self.setWordWrap(True)
        self.setAccessibleName(name)

    def setText(self, text: str) -> None:  # noqa: N802 - Qt's name
        super().setText(text)
        window = self.window()
        if isinstance(window, QDialog):
            fit_height(window)


def _plural(n: int, one: str, many: str) -> str:
    return (_t(one) if n == 1 else _t(many)).replace("%n", f"{n:,}")


def missing_words(missing: MissingChanges) -> str:
    """'5 changes made on this laptop between 13 Nov 2026 10:30 and 11:02 are missing …'."""
    if missing.count is None:
        return _t("The changes made on this laptop up to %1 are not the ones in the vault: "
                  "its history was replaced.").replace("%1", format_time(missing.until_ms))
    kind, first, second = time_span(missing.after_ms, missing.until_ms)
    one, many = {
        "up_to": ("%n change made on this laptop up to %1 is missing from the vault.",
                  "%n changes made on this laptop up to %1 are missing from the vault."),
        "at": ("%n change made on this laptop at %1 is missing from the vault.",
               "%n changes made on this laptop at %1 are missing from the vault."),
        "between": ("%n change made on this laptop between %1 and %2 is missing from the "
                    "vault.",
                    "%n changes made on this laptop between %1 and %2 are missing from the "
                    "vault."),
    }[kind]
    return _plural(missing.count, one, many).replace("%1", first).replace("%2", second)


PART_WORDS = {"record": "the record itself", "follow-ups": "its follow-ups",
              "search index": "its search entry"}


def report_words(report: Any) -> str:
    """What a whole-vault check found, in words a practitioner can act on."""
    lines: list[str] = []
    if report.ok:
        lines.append(_plural(report.events_checked,
                             "Verified: the %n saved change is intact, and every record "
                             "matches it.",
                             "Verified: all %n saved changes are intact (nothing altered, "
                             "removed or reordered), and every record matches them."))
    if report.problems:
        named = {p.record_id for p in report.problems if p.record_id}
        lines.append(_plural(max(1, len(named)),
                             "Integrity problem: changes to %n record were altered, removed "
                             "or reordered.",
                             "Integrity problem: changes to %n records were altered, removed "
                             "or reordered."))
    lines.extend(missing_words(m) for m in report.missing)
    if report.drift:
        counts = {part: sum(part in d.parts for d in report.drift) for part in PARTS}
        which = ", ".join(f"{_t(PART_WORDS[p])}: {n:,}" for p, n in counts.items() if n)
        lines.append(_plural(len(report.drift),
                             "%n record shows something its signed changes do not say (%1).",
                             "%n records show something their signed changes do not say (%1)."
                             ).replace("%1", which))
    if report.problems or report.missing:
        lines.append(_t("Restore the latest backup that has them (File > Restore…), or tell "
                        "your administrator."))
    elif report.drift:
        lines.append(_t("Sharelog can rebuild what is shown from the signed changes."))
    for noted in report.noted_losses:
        lines.append(_t("Noted earlier: %1").replace("%1", missing_words(noted)))
    return "\n".join(lines)


class IntegrityDialog(QDialog):
    """Check integrity: start, watch, cancel; repair drift. Drivable without ``exec()``."""

    finished_check = Signal(object)  # the report (or None when stopped)

    def __init__(self, bridge: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.bridge = bridge
        self.busy = False
        self.report: Any = None
        self._stop = threading.Event()
        self._close_when_done = False
        title = self.tr("Check integrity")
        self.setWindowTitle(title)
        self.setAccessibleName(title)
        intro = QLabel(self.tr(
            "Sharelog checks that every saved change is intact, that none is missing from "
            "the end, and that every record shown matches its signed changes."), self)
        intro.setWordWrap(True)
        self.deep = QCheckBox(self.tr("Also check every signature (slower)"), self)
        self.deep.setAccessibleName(self.tr("Also check every signature"))
        self.progress = QProgressBar(self)
        self.progress.setAccessibleName(self.tr("Integrity check progress"))
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.outcome = Message(self.tr("Integrity check result"), self)
        self.buttons = QDialogButtonBox(self)
        self.start_button = QPushButton(self.tr("Start check"), self)
        self.start_button.setDefault(True)
        self.repair_button = QPushButton(self.tr("Rebuild from the signed changes"), self)
        self.repair_button.hide()
        self.cancel_button = QPushButton(self.tr("Close"), self)
        self.buttons.addButton(self.start_button, QDialogButtonBox.ButtonRole.ActionRole)
        self.buttons.addButton(self.repair_button, QDialogButtonBox.ButtonRole.ActionRole)
        self.buttons.addButton(self.cancel_button, QDialogButtonBox.ButtonRole.RejectRole)
        for button in (self.start_button, self.repair_button, self.cancel_button):
            button.setAccessibleName(button.text())
        self.start_button.clicked.connect(self.start)
        self.repair_button.clicked.connect(self.repair)
        self.cancel_button.clicked.connect(self._cancel_or_close)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(self.deep)
        layout.addWidget(self.progress)
        layout.addWidget(self.outcome)
        layout.addWidget(self.buttons)
        self._relay = ProgressRelay()  # no parent: the worker's callback keeps it alive
        self._relay.progressed.connect(self._on_progress)
        self.resize(520, self.sizeHint().height())

    # -- running ----------------------------------------------------------------------
    def start(self) -> None:
        if self.busy:
            return
        every_signature = self.deep.isChecked()
        self._begin(self.tr("Checking…"))
        report, stop = self._relay.report, self._stop.is_set
        self.bridge.read(
            lambda service: service.verify_integrity(
                every_signature=every_signature, progress=report, cancelled=stop),
            self._on_checked, self._on_failed)

    def repair(self) -> None:
        if self.busy:
            return
        self._begin(self.tr("Rebuilding what is shown from the signed changes…"))
        relay, stop = self._relay, self._stop.is_set
        total = max(1, self.report.events_checked if self.report is not None else 1)

        def rebuild(service: Any) -> Any:
            return service.rebuild_projection(progress=lambda n: relay.report(n, total),
                                              cancelled=stop)

        self.bridge.write(rebuild, self._on_repaired, self._on_failed,
                          changes=(DECISIONS, FOLLOWUPS))

    def _cancel_or_close(self) -> None:
        if self.busy:
            self.cancel()  # the dialog stays to say the check stopped
        else:
            self.reject()

    def cancel(self) -> None:
        """Stop the running check at its next step; nothing is changed."""
        if self.busy:
            self._stop.set()
            self.outcome.setText(self.tr("Stopping…"))

    def _begin(self, text: str) -> None:
        self._stop.clear()
        self._set_busy(True)
        self.repair_button.hide()
        self.progress.setRange(0, 0)  # busy until the first progress arrives
        self.outcome.setText(text)

    def _set_busy(self, busy: bool) -> None:
        self.busy = busy
        self.start_button.setEnabled(not busy)
        self.deep.setEnabled(not busy)
        self.cancel_button.setText(self.tr("Cancel") if busy else self.tr("Close"))
        self.cancel_button.setAccessibleName(self.cancel_button.text())

    def _on_progress(self, done: int, total: int) -> None:
        if not self.busy or total <= 0:
            return
        self.progress.setRange(0, total)
        self.progress.setValue(min(done, total))

    def _on_checked(self, report: Any) -> None:
        self._set_busy(False)
        self.report = report
        self.progress.setRange(0, 1)
        self.progress.setValue(1)
        self.outcome.setText(report_words(report))
        # Drift alone is repaired from events that are whole; damaged or missing events
        # are not something a rebuild can bring back.
        self.repair_button.setVisible(bool(report.drift) and report.chain_ok)
        self.finished_check.emit(report)
        self._maybe_close()

    def _on_repaired(self, rebuilt: Any) -> None:
        self._set_busy(False)
        self.progress.setRange(0, 1)
        self.progress.setValue(1)
        n = len(rebuilt.repaired)
        self.outcome.setText(_plural(
            n, "Rebuilt %n record from its signed changes. Check again to confirm.",
            "Rebuilt %n records from their signed changes. Check again to confirm.")
            if n else self.tr("Nothing needed rebuilding."))
        self._maybe_close()

    def _on_failed(self, error: BaseException) -> None:
        self._set_busy(False)
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        if isinstance(error, Cancelled):
            self.outcome.setText(self.tr("The check was stopped; nothing was changed."))
            self.finished_check.emit(None)
        else:
            self.outcome.setText(user_message(error))
        self._maybe_close()

    def _maybe_close(self) -> None:
        if self._close_when_done:
            super().reject()

    # -- closing ----------------------------------------------------------------------
    def reject(self) -> None:
        # Closing (or a lock) stops a running check; the dialog goes once it has stopped,
        # so its answer never lands on a widget that is gone.
        if self.busy:
            self.cancel()
            self._close_when_done = True
            self.hide()
            return
        super().reject()


def open_check_integrity(parent: QWidget, bridge: Any) -> IntegrityDialog:
    for existing in parent.findChildren(IntegrityDialog):
        if existing.isVisible():
            existing.raise_()
            existing.activateWindow()
            return existing
    dialog = IntegrityDialog(bridge, parent)
    dialog.finished.connect(dialog.deleteLater)
    dialog.open()
    return dialog
