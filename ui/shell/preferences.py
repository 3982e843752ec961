"""Edit > Preferences…: the settings a person should change, saved whole and applied at once.

Only three settings are shown (idle lock, follow-up days, colour scheme). Saving
reads the file again off the UI thread and replaces just those three, so the unlock
delay bookkeeping and the extra holidays are kept exactly as they are.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QApplication,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.paths import settings_path
from app.settings import Settings, describe
from ui.shell.app import apply_colour_scheme, current_theme
from ui.widgets.dialogs import buddy_label, error_label, show_message
from ui.widgets.errors import user_message

THEMES = ("system", "light", "dark")
RANGED = ("idle_lock_minutes", "followup_working_days")


@dataclass(frozen=True)
class Preferences:
    """What the dialog edits; everything else in Settings is left alone."""

    idle_lock_minutes: int
    followup_working_days: int
    theme: str

    def problems(self) -> list[str]:
        """Names of the values outside their Setting's range (empty = all fine)."""
        bad = [name for name in RANGED if not describe(name).in_range(getattr(self, name))]
        if self.theme not in THEMES:
            bad.append("theme")
        return bad


def load_settings(base: Path | None) -> Settings:
    return Settings.load(settings_path(base))


def save_preferences(base: Path | None, prefs: Preferences) -> Settings:
    """Write the three preferences into settings.json atomically, keeping every other value.

    Runs off the UI thread. The file is read again here, not taken from when the dialog
    opened, so a failed unlock counted in between is not lost.
    """
    bad = prefs.problems()
    if bad:
        raise ValueError(f"out of range: {', '.join(bad)}")
    path = settings_path(base)
    updated = dataclasses.replace(Settings.load(path), **dataclasses.asdict(prefs))
    updated.save(path)
    return updated


def idle_timeout_ms(settings: Settings) -> int:
    return max(1, int(settings.idle_lock_minutes)) * 60 * 1000


def apply_theme(theme: str) -> None:
    """Apply a colour scheme now (see ``ui.shell.app.apply_colour_scheme``)."""
    app = QApplication.instance()
    # A new palette restyles every widget (a few hundred ms): only when it changes.
    if isinstance(app, QApplication) and theme != current_theme():
        apply_colour_scheme(app, theme)


def _spin_range(name: str) -> tuple[int, int]:
    spec = describe(name)
    low = spec.minimum if spec.minimum is not None else 0
    high = spec.maximum if spec.maximum is not None else 999
    return low, high


class PreferencesDialog(QDialog):
    """OK validates every value against its Setting, saves off the UI thread, then closes.

    ``saved`` carries the Settings that are now on disk; Cancel saves and applies nothing.
    """

    saved = Signal(object)

    def __init__(self, bridge: Any, base: Path | None, settings: Settings,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.bridge = bridge
        self.base = base
        self.saving = False
        title = self.tr("Preferences")
        self.setWindowTitle(title)
        self.setAccessibleName(title)

        self.idle_minutes = self._spin("idle_lock_minutes", settings.idle_lock_minutes,
                                       (self.tr(" idle minute"), self.tr(" idle minutes")),
                                       self.tr("Lock after this many idle minutes"))
        self.followup_days = self._spin("followup_working_days",
                                        settings.followup_working_days,
                                        (self.tr(" working day"), self.tr(" working days")),
                                        self.tr("Follow-ups due after this many working days"))
        self.theme = QComboBox(self)
        for label, value in ((self.tr("Follow the system"), "system"),
                             (self.tr("Light"), "light"), (self.tr("Dark"), "dark")):
            self.theme.addItem(label, value)
        self.theme.setCurrentIndex(max(0, self.theme.findData(settings.theme)))
        self.theme.setAccessibleName(self.tr("Colour scheme"))
        self.idle_error = error_label(self, self.tr("Idle lock problem"))
        self.followup_error = error_label(self, self.tr("Follow-up days problem"))
        self.message = error_label(self, self.tr("Preferences message"))
        self.errors = {"idle_lock_minutes": self.idle_error,
                       "followup_working_days": self.followup_error}
        self.spins = {"idle_lock_minutes": self.idle_minutes,
                      "followup_working_days": self.followup_days}

        form = QFormLayout()
        form.addRow(buddy_label(self, self.tr("&Lock after"), self.idle_minutes), self.idle_minutes)
        form.addRow("", self.idle_error)
        followup_note = QLabel(self.tr("Applies to decisions recorded from now on."), self)
        followup_note.setWordWrap(True)
        form.addRow(buddy_label(self, self.tr("&Follow-ups due after"), self.followup_days),
                    self.followup_days)
        form.addRow("", followup_note)
        form.addRow("", self.followup_error)
        form.addRow(buddy_label(self, self.tr("&Colour scheme"), self.theme), self.theme)

        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self)
        self.ok_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.cancel_button = self.buttons.button(QDialogButtonBox.StandardButton.Cancel)
        for button in self.buttons.buttons():
            button.setAccessibleName(button.text().replace("&", ""))
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.message)
        layout.addWidget(self.buttons)
        for spin in self.spins.values():
            spin.lineEdit().textChanged.connect(self._check_ranges)
        self.idle_minutes.setFocus()

    def _spin(self, name: str, value: int, suffixes: tuple[str, str],
              accessible: str) -> QSpinBox:
        """A number box whose unit reads right for one and for many."""
        spin = QSpinBox(self)
        low, high = _spin_range(name)
        spin.setRange(low, high)
        spin.setValue(value)
        one, many = suffixes

        def unit(n: int) -> None:
            spin.setSuffix(one if n == 1 else many)

        unit(value)
        spin.valueChanged.connect(unit)
        spin.setAccessibleName(accessible)
        spin.setCorrectionMode(QSpinBox.CorrectionMode.CorrectToPreviousValue)
        return spin




    def _check_ranges(self) -> list[str]:
        """Say beside each box whose text is out of range; OK stays off until it is fixed."""
        bad = self.out_of_range()
        for name, label in self.errors.items():
            low, high = _spin_range(name)
            show_message(label, self.tr("Choose a whole number from %1 to %2.")
                             .replace("%1", str(low)).replace("%2", str(high))
                             if name in bad else "")
        self.ok_button.setEnabled(not bad and not self.saving)
        return bad

    def preferences(self) -> Preferences:
        return Preferences(self.idle_minutes.value(), self.followup_days.value(),
                           str(self.theme.currentData()))

    def out_of_range(self) -> list[str]:
        """Settings whose box holds text that is not a number in the Setting's range."""
        bad = []
        for name, spin in self.spins.items():
            if not spin.hasAcceptableInput() or not describe(name).in_range(spin.value()):
                bad.append(name)
        return bad

    def accept(self) -> None:
        if self.saving:
            return
        show_message(self.message, "")
        bad = self._check_ranges()
        if bad:
            self.spins[bad[0]].setFocus()
            self.spins[bad[0]].selectAll()
            return
        prefs = self.preferences()
        self._set_saving(True)
        self.bridge.task(lambda: save_preferences(self.base, prefs), self._on_saved,
                         self._on_error)

    def reject(self) -> None:
        if self.saving:  # the file is being replaced; Cancel now would not undo it
            return
        super().reject()

    def _set_saving(self, saving: bool) -> None:
        self.saving = saving
        self.ok_button.setEnabled(not saving and not self.out_of_range())
        self.cancel_button.setEnabled(not saving)
        for field in (*self.spins.values(), self.theme):
            field.setEnabled(not saving)

    def _on_saved(self, settings: Settings) -> None:
        self._set_saving(False)
        self.saved.emit(settings)
        if self.isVisible():
            super().accept()

    def _on_error(self, exc: BaseException) -> None:
        self._set_saving(False)
        show_message(self.message, user_message(exc))


def open_preferences(parent: QWidget, bridge: Any, base: Path | None,
                     on_saved: Callable[[Settings], None]) -> None:
    """Read the settings off the UI thread, then show the dialog (window-modal, not exec)."""
    def show(settings: Settings) -> None:
        for existing in parent.findChildren(PreferencesDialog):
            if existing.isVisible():
                existing.raise_()
                existing.activateWindow()
                return
        dialog = PreferencesDialog(bridge, base, settings, parent)
        dialog.saved.connect(on_saved)
        dialog.finished.connect(dialog.deleteLater)
        dialog.open()

    def failed(exc: BaseException) -> None:
        show_failure = getattr(parent, "statusBar", None)
        if show_failure is not None:
            show_failure().showMessage(user_message(exc), 5000)

    bridge.task(lambda: load_settings(base), show, failed)
