"""Edit > Preferences…: validated by each Setting's range, saved whole, applied at once."""

from __future__ import annotations

import datetime as dt

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication, QKeySequence
from PySide6.QtWidgets import QApplication, QSpinBox

from app.paths import settings_path
from app.settings import Settings
from tests.conftest import make_share
from tests.ui.shell_support import open_window, unlock, vault_folder, wait_for_rows
from ui.shell.app import configure, dark_palette
from ui.shell.preferences import Preferences, PreferencesDialog, apply_theme, save_preferences

MINUTE_MS = 60 * 1000


@pytest.fixture
def palette_kept(qapp):  # type: ignore[no-untyped-def]
    """A test that changes the colour scheme gives the next test the palette it found."""
    from ui.shell import app as ui_app

    saved, sheet, choice = qapp.palette(), qapp.styleSheet(), ui_app.current_theme()
    yield
    ui_app._THEME["choice"] = choice
    hints = QGuiApplication.styleHints()
    if hasattr(hints, "unsetColorScheme"):
        hints.unsetColorScheme()
    qapp.setPalette(saved)
    qapp.setStyleSheet(sheet)


def _open(qtbot, home, service, **kwargs):
    service.lock()  # the window opens the vault itself
    window = open_window(qtbot, home, **kwargs)
    unlock(qtbot, window)
    return window


def _preferences(qtbot, window) -> PreferencesDialog:
    window.commands.preferences.trigger()

    def shown():
        return [d for d in window.findChildren(PreferencesDialog) if d.isVisible()]

    qtbot.waitUntil(lambda: bool(shown()), timeout=5_000)
    return shown()[0]


def _type(qtbot, spin: QSpinBox, text: str) -> None:
    spin.setFocus()
    spin.selectAll()
    qtbot.keyClick(spin, Qt.Key.Key_Backspace)
    qtbot.keyClicks(spin, text)


def _press(qtbot, dialog, button) -> None:
    """Click OK or Cancel and wait for the dialog to finish (it deletes itself after)."""
    with qtbot.waitSignal(dialog.finished, timeout=5_000):
        qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def test_action_has_preferences_role_and_shortcut_and_needs_the_vault(qtbot, home, service):
    service.lock()
    window = open_window(qtbot, home)
    action = window.commands.preferences
    assert action.menuRole() == action.MenuRole.PreferencesRole
    platform = QKeySequence.keyBindings(QKeySequence.StandardKey.Preferences)
    assert action.shortcut() == (platform[0] if platform else QKeySequence("Ctrl+,"))
    assert not action.isEnabled()
    unlock(qtbot, window)
    assert action.isEnabled()
    window.close()


def test_ok_applies_idle_lock_and_follow_up_days_and_saves_them(qtbot, home, service):
    Settings(extra_holidays=["2027-01-04"]).save(settings_path(vault_folder(home)))
    window = _open(qtbot, home, service)
    assert window.idle.timeout_ms == 5 * MINUTE_MS
    dialog = _preferences(qtbot, window)
    assert dialog.idle_minutes.value() == 5
    assert (dialog.idle_minutes.minimum(), dialog.idle_minutes.maximum()) == (1, 240)
    assert (dialog.followup_days.minimum(), dialog.followup_days.maximum()) == (1, 60)
    _type(qtbot, dialog.idle_minutes, "12")
    _type(qtbot, dialog.followup_days, "10")
    _press(qtbot, dialog, dialog.ok_button)

    assert window.idle.timeout_ms == 12 * MINUTE_MS
    saved = Settings.load(settings_path(vault_folder(home)))
    assert (saved.idle_lock_minutes, saved.followup_working_days, saved.theme) == (12, 10,
                                                                                  "system")
    assert saved.extra_holidays == ["2027-01-04"]

    # A decision recorded now has its follow-up due ten working days after it.
    results = []
    window.bridge.write(lambda s: s.record_decision(make_share(decided_at="2026-11-02T10:30")),
                        results.append, results.append)
    qtbot.waitUntil(lambda: bool(results), timeout=10_000)
    followups = []
    window.bridge.read(lambda s: s.my_followups(), followups.append, followups.append)
    qtbot.waitUntil(lambda: bool(followups), timeout=10_000)
    (followup,) = [f for f in followups[0] if f.record_id == results[0]]
    assert followup.due_date == dt.date(2026, 11, 16)  # Mon 2 Nov + 10 working days
    window.close()


def test_saving_keeps_the_unlock_delay_and_holidays_written_meanwhile(qtbot, home, service):
    window = _open(qtbot, home, service)
    dialog = _preferences(qtbot, window)
    # Wrong passphrases counted by another Sharelog while the dialog was open.
    Settings(failed_unlocks=4, last_failed_unlock=1_700_000_000.5,
             extra_holidays=["2027-02-01"]).save(settings_path(vault_folder(home)))
    _type(qtbot, dialog.idle_minutes, "7")
    _press(qtbot, dialog, dialog.ok_button)
    saved = Settings.load(settings_path(vault_folder(home)))
    assert saved.idle_lock_minutes == 7
    assert (saved.failed_unlocks, saved.last_failed_unlock) == (4, 1_700_000_000.5)
    assert saved.extra_holidays == ["2027-02-01"]
    window.close()


def test_cancel_changes_nothing(qtbot, home, service):
    window = _open(qtbot, home, service)
    path = settings_path(vault_folder(home))
    before = path.read_bytes() if path.exists() else None
    dialog = _preferences(qtbot, window)
    _type(qtbot, dialog.idle_minutes, "30")
    _type(qtbot, dialog.followup_days, "20")
    palette = QApplication.instance().palette()
    dialog.theme.setCurrentIndex(dialog.theme.findData("dark"))
    _press(qtbot, dialog, dialog.cancel_button)
    window.bridge.wait_idle()
    after = path.read_bytes() if path.exists() else None
    assert after == before
    assert window.idle.timeout_ms == 5 * MINUTE_MS
    assert window.bridge.service.followup_working_days == 5
    assert QApplication.instance().palette() == palette
    window.close()


def test_an_out_of_range_value_cannot_be_saved(qtbot, home, service):
    window = _open(qtbot, home, service)
    before = Settings.load(settings_path(vault_folder(home)))
    dialog = _preferences(qtbot, window)
    _type(qtbot, dialog.idle_minutes, "0")
    assert dialog.out_of_range() == ["idle_lock_minutes"]
    assert dialog.idle_error.isVisible()
    assert "from 1 to 240" in dialog.idle_error.text()
    assert not dialog.ok_button.isEnabled()
    dialog.accept()  # Enter, or a shortcut, must not get round the rule either
    assert dialog.isVisible()
    assert Settings.load(settings_path(vault_folder(home))) == before
    assert window.idle.timeout_ms == 5 * MINUTE_MS
    # Fixing it clears the message and lets OK save again.
    _type(qtbot, dialog.idle_minutes, "3")
    assert not dialog.idle_error.isVisible() and dialog.ok_button.isEnabled()
    window.close()


@pytest.mark.parametrize("prefs", [Preferences(0, 5, "system"), Preferences(241, 5, "system"),
                                   Preferences(5, 61, "system"), Preferences(5, 0, "system"),
                                   Preferences(5, 5, "purple")])
def test_save_refuses_values_outside_each_settings_range(home, prefs):
    Settings(idle_lock_minutes=9).save(settings_path(vault_folder(home)))
    before = settings_path(vault_folder(home)).read_bytes()
    with pytest.raises(ValueError):
        save_preferences(vault_folder(home), prefs)
    assert settings_path(vault_folder(home)).read_bytes() == before


def test_colour_scheme_applies_at_once_and_at_the_next_unlock(qtbot, home, service,
                                                              palette_kept):
    configure(QApplication.instance(), "light")  # as ui.shell.app.run does: palette and style sheet
    rid = service.record_decision(make_share())
    window = _open(qtbot, home, service)
    wait_for_rows(qtbot, window, 1)
    window.decisions.select_record(rid)
    qtbot.waitUntil(lambda: "#5f6368" in window.detail.record_view.toHtml())  # light labels
    dialog = _preferences(qtbot, window)
    dialog.theme.setCurrentIndex(dialog.theme.findData("dark"))
    _press(qtbot, dialog, dialog.ok_button)
    window_colour = QApplication.instance().palette().color(dark_palette().ColorRole.Window)
    assert window_colour == dark_palette().color(dark_palette().ColorRole.Window)
    assert Settings.load(settings_path(vault_folder(home))).theme == "dark"
    # What the eye sees: the list and the toolbar changed too, not only the window.
    qtbot.wait(50)
    assert _lightness_range(window.decisions.table.viewport())[0] < 80
    toolbar = window.commands.toolbar
    darkest, brightest = _lightness_range(toolbar.widgetForAction(window.commands.lock))
    assert darkest < 80 and brightest > 180  # light words on a dark button
    # The record shown is written again in the dark scheme's label colour.
    qtbot.waitUntil(lambda: "#9aa0a6" in window.detail.record_view.toHtml(), timeout=5_000)

    # ui/shell/app.py starts every run on the system scheme; unlocking applies the saved one.
    apply_theme("system")
    window.lock()
    unlock(qtbot, window)
    window_colour = QApplication.instance().palette().color(dark_palette().ColorRole.Window)
    assert window_colour == dark_palette().color(dark_palette().ColorRole.Window)
    window.close()


def _lightness_range(widget) -> tuple[int, int]:
    image = widget.grab().toImage()
    values = [image.pixelColor(x, y).lightness()
              for x in range(0, image.width(), 2) for y in range(0, image.height(), 2)]
    return min(values), max(values)


def test_a_fixed_idle_time_is_kept(qtbot, home, service):
    window = _open(qtbot, home, service, idle_ms=90_000)
    dialog = _preferences(qtbot, window)
    _type(qtbot, dialog.idle_minutes, "20")
    _press(qtbot, dialog, dialog.ok_button)
    assert window.idle.timeout_ms == 90_000
    assert Settings.load(settings_path(vault_folder(home))).idle_lock_minutes == 20
    window.close()
