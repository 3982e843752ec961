"""Every control a person can reach has an accessible name, on each page and in the new dialogs.

The check is the widget's own accessibleName property, as the rest of Sharelog sets it,
not the text a screen reader might fall back to. The line edit inside a combo box or
spin box is skipped: the outer control carries the name.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractSpinBox,
    QComboBox,
    QLineEdit,
    QListView,
    QPlainTextEdit,
    QTableView,
    QTextEdit,
    QTreeView,
    QWidget,
)

from app import demo
from tests.ui.shell_support import open_window, unlock, wait_for_rows
from ui.shell.preferences import PreferencesDialog
from ui.vault.passphrase import ChangePassphraseDialog

CHECKED = (QAbstractButton, QComboBox, QLineEdit, QPlainTextEdit, QTextEdit, QAbstractSpinBox,
           QTableView, QTreeView, QListView)

# Unnamed controls known in files this test's author does not own, as "Class: visible text"
# (none when this was written; add one only with the file and widget it is about).
KNOWN_UNNAMED: frozenset[str] = frozenset()


def _where(widget: QWidget) -> str:
    chain = []
    w: QWidget | None = widget
    while w is not None:
        chain.append(type(w).__name__ + (f"#{w.objectName()}" if w.objectName() else ""))
        w = w.parentWidget()
    return " < ".join(chain)


def unnamed(root: QWidget) -> list[str]:
    """Visible controls under ``root`` with an empty accessible name, described for a reader."""
    found = []
    for w in root.findChildren(QWidget):
        if not isinstance(w, CHECKED) or not w.isVisible():
            continue
        if isinstance(w, QLineEdit) and isinstance(w.parentWidget(),
                                                   QComboBox | QAbstractSpinBox):
            continue
        if w.accessibleName().strip():
            continue
        text = w.text() if isinstance(w, QAbstractButton) else ""
        if f"{type(w).__name__}: {text}" in KNOWN_UNNAMED:
            continue
        found.append(f"{_where(w)} text={text!r}")
    return found


def _choose(combo: QComboBox, key: str) -> None:
    index = combo.findData(key)
    assert index >= 0, key
    combo.setCurrentIndex(index)


def _reveal_form(form) -> None:  # type: ignore[no-untyped-def]
    """Answer so that the questions asked only when they apply are shown too."""
    for box in (form.clear_purpose, form.identifies_person, form.third_party,
                form.advice_sought):
        box.set_value(True)
    _choose(form.decision, "share")
    _choose(form.consent, "not_sought")
    _choose(form.person_informed, "no")
    form.category_list.set_values(["health", "criminal"])  # both conditions are asked
    form.add_subject_button.click()


def test_every_control_on_every_page_and_dialog_has_a_name(qtbot, home, service):
    demo.seed(service, 8)
    service.lock()
    window = open_window(qtbot, home)
    problems: dict[str, list[str]] = {}

    # Unlock screen first: what a person meets before anything else.
    qtbot.waitUntil(lambda: window.vault_screen.stack.currentWidget()
                    is window.vault_screen.unlock_page)
    problems["unlock"] = unnamed(window)
    unlock(qtbot, window)

    # Decisions, with a record open in the detail pane.
    wait_for_rows(qtbot, window)
    window.decisions.select_record(window.decisions.model.record_id(0))
    qtbot.waitUntil(lambda: window.detail.shown_text() != "", timeout=10_000)
    assert window.pages.currentWidget() is window.splitter
    problems["decisions"] = unnamed(window)
    # A toolbar button's name follows its action's words (the overdue count changes them).
    followups_button = window.commands.toolbar.widgetForAction(window.commands.followups)
    assert followups_button.accessibleName() == window.commands.followups.text()

    window.show_followups()
    assert window.pages.currentWidget() is window.followups
    qtbot.waitUntil(lambda: window.bridge.pending == 0, timeout=10_000)
    problems["my follow-ups"] = unnamed(window)

    for direction in ("disclosure", "request_made", "request_received"):
        window.new_decision(direction)
        assert window.pages.currentWidget() is window.form
        qtbot.waitUntil(lambda: window.bridge.pending == 0, timeout=10_000)
        problems[f"form ({direction})"] = unnamed(window)
    _reveal_form(window.form)
    problems["form (every question shown)"] = unnamed(window)
    window.show_decisions()

    window.commands.preferences.trigger()
    qtbot.waitUntil(lambda: any(d.isVisible()
                                for d in window.findChildren(PreferencesDialog)),
                    timeout=5_000)
    (preferences,) = [d for d in window.findChildren(PreferencesDialog) if d.isVisible()]
    problems["preferences"] = unnamed(preferences)
    preferences.reject()

    window.commands.change_passphrase.trigger()
    (change,) = [d for d in window.findChildren(ChangePassphraseDialog) if d.isVisible()]
    qtbot.keyClicks(change.new, "short")  # the messages beside the fields appear too
    qtbot.keyClick(change.confirm, Qt.Key.Key_Return)
    assert change.new_error.isVisible()
    problems["change passphrase"] = unnamed(change)
    change.reject()

    window.close()
    assert {place: found for place, found in problems.items() if found} == {}
