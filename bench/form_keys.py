"""A typical share recorded by keystrokes alone, counting the keys that are not typed text.

One script for the test (tests/ui/test_form_keyboard.py) and the benchmark
(``bench/bench_form.py``, ``form_share_nontext_keys`` in bench/results.json): key events
go through QTest into the real form, to whatever has the keyboard focus, as a person at
the keyboard would. Every step says where the cursor should be, so a change to the
form's path fails the script instead of quietly costing keys.

A key counts as typed text when it is a character typed into a text box or a date box;
every other key counts: Tab, Space, arrows, Ctrl+S, and the letters that answer a
drop-down or a yes/no question.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QAbstractSpinBox, QApplication, QLineEdit, QPlainTextEdit, QWidget

TEXT_ENTRY = (QLineEdit, QPlainTextEdit, QAbstractSpinBox)


@dataclass
class KeyCount:
    text: int = 0  # characters typed into text boxes
    other: Counter[str] = field(default_factory=Counter)  # every other key, by name

    @property
    def nontext(self) -> int:
        return sum(self.other.values())

    @property
    def tabs(self) -> int:
        return self.other["Tab"]


class Keyboard:
    """Sends keys to whatever has focus and counts them."""

    def __init__(self) -> None:
        self.count = KeyCount()

    @property
    def focus(self) -> QWidget:
        widget = QApplication.focusWidget()
        if widget is None:
            raise AssertionError("nothing has keyboard focus")
        return widget

    def expect(self, widget: QWidget) -> None:
        if self.focus is not widget:
            raise AssertionError(f"the cursor is in {self.focus.accessibleName()!r}, "
                                 f"not {widget.accessibleName()!r}")

    def press(self, key: Qt.Key, modifier: Qt.KeyboardModifier = Qt.KeyboardModifier.NoModifier,
              name: str = "") -> None:
        self.count.other[name or key.name.removeprefix("Key_")] += 1
        QTest.keyClick(self.focus, key, modifier)

    def type(self, text: str) -> None:
        """Text typed where the cursor is: text in a text box, keys anywhere else."""
        if isinstance(self.focus, TEXT_ENTRY):
            self.count.text += len(text)
            QTest.keyClicks(self.focus, text)
        else:
            for char in text:
                self.count.other[f"letter {char}"] += 1
                QTest.keyClicks(self.focus, char)

    def tab(self) -> None:
        self.press(Qt.Key.Key_Tab)


def record_typical_share(form: Any, keys: Keyboard) -> KeyCount:
    """Fill a new share in ``form`` (a ``ui.form.decision_form.DecisionForm``) and press Ctrl+S.

    The share: a child protection enquiry, health information about one child, shared
    with a GP by secure email without seeking consent (risk of harm), on the
    safeguarding condition of Schedule 1, every test met, the family told. The caller
    waits for ``form.saved``.
    """
    form.start_new("disclosure")
    keys.expect(form.purpose)  # the form opens in its first question
    keys.type("Child protection enquiry under s47")
    keys.tab()
    keys.expect(form.clear_purpose)
    keys.type("y")  # a clear and legitimate purpose; the cursor moves on by itself
    keys.expect(form.information)
    keys.type("Observations from the home visit")
    keys.tab()
    keys.expect(form.category_list)
    keys.type("h")  # picks Health...
    keys.press(Qt.Key.Key_Space)  # ...and ticks it
    keys.tab()
    keys.expect(form.fact_opinion)
    keys.type("f")
    keys.expect(form.identifies_person)
    keys.type("y")
    person = form.subject_editors[0]
    keys.expect(person.name)
    keys.type("Alice Example")
    keys.tab()
    keys.expect(person.dob)
    keys.type("2016-04-02")
    keys.tab()  # no age band is asked once a date of birth is given
    keys.expect(person.kind)
    keys.type("c")  # child
    keys.expect(person.case_ref)
    keys.type("C100200")
    keys.tab()
    keys.expect(form.confidential)
    keys.type("y")
    keys.expect(form.consent)
    keys.type("n")  # not sought
    keys.expect(form.decision)
    keys.type("s")  # share
    keys.expect(form.cp_name)
    keys.type("Dr R. Mensah")
    keys.tab()
    keys.type("GP")
    keys.tab()
    keys.type("Riverside Medical Centre")
    keys.tab()
    keys.expect(form.cp_contact)
    keys.tab()
    keys.expect(form.consent_reason)
    keys.type("r")  # risk of harm
    keys.expect(form.without_consent_ground)
    keys.type("r")  # risk of harm
    keys.expect(form.lawful_basis)
    keys.type("p")  # public task
    keys.expect(form.special_condition)
    keys.type("s")  # safeguarding of children and individuals at risk (Sch 1 para 18)
    keys.expect(form.method)
    keys.type("s")  # secure email
    keys.expect(form.person_informed)
    keys.type("y")
    keys.expect(form.test_boxes["necessary"])
    keys.type("a")  # yes to all seven tests
    keys.expect(form.third_party)
    keys.type("n")
    keys.expect(form.advice_sought)
    keys.type("n")
    keys.expect(form.reasons)
    keys.type("Needed to protect the child from significant harm.")
    keys.press(Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier, name="Ctrl+S")
    return keys.count
