"""Validation: a record that fails is not saved, and every problem is named at once."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.model import SEVEN_TESTS, Counterparty, Subject
from app.validation import ValidationError, problems_with, validate
from tests.conftest import make_share


def fields_of(record: object) -> set[str]:
    return {p.field for p in problems_with(record)}  # type: ignore[arg-type]


def test_a_complete_share_is_valid() -> None:
    assert problems_with(make_share()) == []


def test_reasons_are_always_required() -> None:
    for decision in ("share", "share_partial", "not_share"):
        assert "reasons" in fields_of(make_share(decision=decision, reasons="   "))


def test_consent_not_given_needs_its_reason_and_a_lawful_basis() -> None:
    record = make_share(consent="refused", consent_reason="", lawful_basis="",
                        without_consent_ground="")
    with pytest.raises(ValidationError) as err:
        validate(record)
    fields = {p.field for p in err.value.problems}
    assert {"consent_reason", "lawful_basis", "without_consent_ground"} <= fields
    assert "lawful basis" in str(err.value)
    assert err.value.for_field("consent_reason")


def test_consent_given_needs_no_consent_reason() -> None:
    assert problems_with(make_share(consent="given", consent_reason="", lawful_basis="",
                                    without_consent_ground="")) == []


def test_special_category_needs_an_article_9_condition() -> None:
    assert "art9_condition" in fields_of(make_share(special_category=True))
    assert problems_with(make_share(special_category=True,
                                    art9_condition="dpa_sch1_para18")) == []


def test_a_share_needs_method_counterparty_and_the_seven_tests() -> None:
    record = make_share(method="", counterparty=Counterparty(), seven_tests={"necessary": True})
    fields = fields_of(record)
    assert {"method", "counterparty", "seven_tests"} <= fields
    msg = [p.message for p in problems_with(record) if p.field == "seven_tests"][0]
    assert "Proportionate" in msg and "Necessary" not in msg


def test_not_sharing_needs_no_method() -> None:
    record = make_share(decision="not_share", method="", seven_tests={}, person_informed="",
                        without_consent_ground="")
    assert problems_with(record) == []


def test_no_clear_purpose_means_do_not_share() -> None:
    assert "decision" in fields_of(make_share(clear_purpose=False))
    assert problems_with(make_share(clear_purpose=False, decision="not_share", method="",
                                    without_consent_ground="")) == []


def test_a_subject_is_required_and_dates_must_be_dates() -> None:
    assert "subjects" in fields_of(make_share(subjects=[]))
    bad = make_share(subjects=[Subject(name="A", date_of_birth="3rd May")])
    assert "subjects.0.date_of_birth" in fields_of(bad)
    future = make_share(subjects=[Subject(name="A", date_of_birth="2999-01-01")])
    assert "subjects.0.date_of_birth" in fields_of(future)


def test_advice_third_parties_and_person_informed_need_their_details() -> None:
    assert "advice_from" in fields_of(make_share(advice_sought=True))
    assert "third_party_protection" in fields_of(make_share(third_party_identified=True))
    assert "person_informed_reason" in fields_of(make_share(person_informed_reason=""))


def test_a_request_made_needs_whom_we_asked() -> None:
    record = make_share(direction="request_made", counterparty=Counterparty())
    assert "counterparty" in fields_of(record)


def test_invalid_records_are_not_saved(service: object) -> None:
    with pytest.raises(ValidationError):
        service.record_decision(make_share(reasons=""))  # type: ignore[attr-defined]
    assert service.decision_count() == 0  # type: ignore[attr-defined]
    assert service.pending_sync_count() == 0  # type: ignore[attr-defined]


@settings(max_examples=200, deadline=None)
@given(
    consent=st.sampled_from(["given", "refused", "not_sought"]),
    decision=st.sampled_from(["share", "share_partial", "not_share"]),
    special=st.booleans(),
    reasons=st.sampled_from(["", "  ", "Because of risk"]),
    lawful=st.sampled_from(["", "public_task"]),
    art9=st.sampled_from(["", "dpa_sch1_para18"]),
    method=st.sampled_from(["", "phone"]),
    tests=st.sets(st.sampled_from(sorted(SEVEN_TESTS))),
)
def test_the_rules_hold_for_any_combination(consent: str, decision: str, special: bool,
                                            reasons: str, lawful: str, art9: str, method: str,
                                            tests: set[str]) -> None:
    record = make_share(consent=consent, decision=decision, special_category=special,
                        reasons=reasons, lawful_basis=lawful, art9_condition=art9,
                        method=method, seven_tests={t: True for t in tests})
    fields = fields_of(record)
    assert ("reasons" in fields) == (not reasons.strip())
    if consent != "given":
        assert ("lawful_basis" in fields) == (not lawful)
    if special:
        assert ("art9_condition" in fields) == (not art9)
    if decision != "not_share":
        assert ("method" in fields) == (not method)
        assert ("seven_tests" in fields) == (len(tests) < 7)
    else:
        assert "method" not in fields and "seven_tests" not in fields
