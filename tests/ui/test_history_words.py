"""The history says what a correction changed, in the words the practitioner used."""

from __future__ import annotations

import dataclasses

from app.model import Counterparty, Subject
from tests.conftest import make_share
from ui.decisions.detail_pane import changes


def test_changes_name_the_field_and_its_old_and_new_words():
    before = make_share()
    after = dataclasses.replace(before, consent="refused", consent_reason="risk_of_harm",
                                counterparty=Counterparty(name="A. Smith", organisation="GP"))
    found = {field: (old, new) for field, old, new in changes(before, after)}
    assert found["Consent"] == ("Not sought", "Refused")
    assert found["With"][1] == "A. Smith, GP"
    assert all(old != new for old, new in found.values())


def test_a_change_the_short_words_leave_out_still_shows_which_field():
    before = make_share(subjects=[Subject(name="Alice Example", date_of_birth="2016-04-02",
                                          kind="child")])
    after = dataclasses.replace(
        before, subjects=[Subject(name="Alice Example", date_of_birth="2016-04-03", kind="child")])
    (field, old, new), = changes(before, after)
    assert old == new == "Alice Example"  # the history then says only "Changed People."


def test_long_text_is_shortened_in_the_history():
    before = make_share()
    after = dataclasses.replace(before, reasons="x" * 500)
    (_field, _old, new), = changes(before, after)
    assert len(new) <= 80 and new.endswith("…")
