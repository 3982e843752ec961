"""Validation: a record that fails is not saved, and every problem is named at once."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.model import (
    CATEGORIES,
    SCH1_FOR_ART9,
    SEVEN_TESTS,
    SPECIAL_CATEGORIES,
    SPECIAL_CONDITION_CHOICES,
    Counterparty,
    DecisionRecord,
    Subject,
)
from app.validation import ValidationError, applies, problems_with, validate
from tests.conftest import make_request_made, make_share

NOW = dt.datetime(2026, 12, 1, 14, 0)


def fields_of(record: object, now: dt.datetime = NOW) -> set[str]:
    return {p.field for p in problems_with(record, now=now)}  # type: ignore[arg-type]


def messages_of(record: object, now: dt.datetime = NOW) -> list[str]:
    return [p.message for p in problems_with(record, now=now)]  # type: ignore[arg-type]


def test_a_complete_share_is_valid() -> None:
    assert problems_with(make_share(), now=NOW) == []  # type: ignore[arg-type]


def test_reasons_are_always_required() -> None:
    for decision in ("share", "share_partial", "not_share"):
        assert "reasons" in fields_of(make_share(decision=decision, reasons="   "))


def test_consent_not_given_needs_its_reason_and_a_lawful_basis() -> None:
    record = make_share(consent="refused", consent_reason="", lawful_basis="",
                        without_consent_ground="")
    with pytest.raises(ValidationError) as err:
        validate(record, now=NOW)  # type: ignore[arg-type]
    fields = {p.field for p in err.value.problems}
    assert {"consent_reason", "lawful_basis", "without_consent_ground"} <= fields
    assert "lawful basis" in str(err.value)
    assert err.value.for_field("consent_reason")


def test_consent_given_needs_no_consent_reason() -> None:
    assert problems_with(make_share(consent="given", consent_reason="", lawful_basis="",  # type: ignore[arg-type]
                                    without_consent_ground=""), now=NOW) == []


# -- 1. special-category data follows from what the information is --------------------
def test_health_is_special_category_data_and_needs_both_conditions() -> None:
    bare = make_share(categories=["health"], art9_condition="", sch1_condition="")
    assert bare.is_special_category  # type: ignore[attr-defined]
    assert "art9_condition" in fields_of(bare)
    message = next(m for m in messages_of(bare) if "Article 9" in m)
    assert "health" in message and "Schedule 1" in message
    # Article 9(2)(g) is met only with a Part 2 condition of Schedule 1 beside it.
    assert fields_of(make_share(categories=["health"], art9_condition="art9_2_g",
                                sch1_condition="")) == {"sch1_condition"}
    assert fields_of(make_share(categories=["health"], art9_condition="art9_2_g",
                                sch1_condition="sch1_para2")) == {"sch1_condition"}
    assert fields_of(make_share(categories=["health"], art9_condition="art9_2_g",
                                sch1_condition="sch1_para18")) == set()
    # Explicit consent stands alone.
    assert fields_of(make_share(categories=["health"], art9_condition="art9_2_a",
                                sch1_condition="")) == set()


@pytest.mark.parametrize("category", sorted(SPECIAL_CATEGORIES))
def test_every_special_category_needs_an_article_9_condition(category: str) -> None:
    record = make_share(categories=[category], art9_condition="", sch1_condition="")
    assert "art9_condition" in fields_of(record)


def test_other_categories_need_no_article_9_condition() -> None:
    assert fields_of(make_share(categories=["education", "housing", "family"],
                                art9_condition="", sch1_condition="")) == set()


def test_criminal_offence_data_needs_its_own_schedule_1_condition() -> None:
    record = make_share(categories=["criminal"], art9_condition="", sch1_condition="")
    assert fields_of(record) == {"art10_condition"}
    assert "criminal offence data" in messages_of(record)[0]
    assert fields_of(make_share(categories=["criminal"], art10_condition="sch1_para18",
                                art9_condition="", sch1_condition="")) == set()
    both = make_share(categories=["criminal", "health"], art9_condition="", sch1_condition="")
    assert fields_of(both) == {"art9_condition", "art10_condition"}


def test_the_categories_cover_what_practitioners_record() -> None:
    core = {"health", "criminal", "education", "housing", "family", "other"}
    assert core <= set(CATEGORIES)
    assert {"health", "racial_ethnic", "religion", "political", "trade_union", "genetic",
            "biometric", "sex_life"} == SPECIAL_CATEGORIES <= set(CATEGORIES)
    assert "categories" in fields_of(make_share(categories=[]))


def test_every_condition_the_form_offers_is_a_pair_the_law_allows() -> None:
    for art9, sch1 in SPECIAL_CONDITION_CHOICES:
        assert sch1 in SCH1_FOR_ART9[art9] or (not SCH1_FOR_ART9[art9] and sch1 == "")
        assert fields_of(make_share(art9_condition=art9, sch1_condition=sch1)) == set()


# -- 2. dates that cannot be true --------------------------------------------------------
def test_a_decision_in_the_future_is_refused_beyond_clock_slack() -> None:
    assert fields_of(make_share(decided_at="2026-12-01T14:04")) == set()
    assert fields_of(make_share(decided_at="2026-12-01T14:06")) == {"decided_at"}
    assert "future" in messages_of(make_share(decided_at="2027-01-05T09:00"))[0]
    assert "decided_at" in fields_of(make_share(decided_at="1999-12-31T09:00"))


def test_a_decision_before_the_person_was_born_is_refused() -> None:
    record = make_share(decided_at="1990-06-01T10:00", subjects=[
        Subject(name="Alice Example", date_of_birth="2015-03-01", kind="child")])
    assert "subjects.0.date_of_birth" in fields_of(record)
    assert any("after the decision" in m for m in messages_of(record))
    born_later = make_share(decided_at="2026-05-01T10:00", subjects=[
        Subject(name="Alice Example", date_of_birth="2026-06-01", kind="child")])
    assert fields_of(born_later) == {"subjects.0.date_of_birth"}
    assert "subjects.0.date_of_birth" in fields_of(make_share(subjects=[
        Subject(name="A", date_of_birth="1850-01-01", kind="adult_at_risk")]))


def test_an_unborn_child_may_be_due_up_to_ten_months_after_the_decision() -> None:
    def unborn(due: str) -> DecisionRecord:
        return make_share(decided_at="2026-11-02T10:30", subjects=[  # type: ignore[return-value]
            Subject(name="Baby Example", date_of_birth=due, kind="unborn")])

    assert fields_of(unborn("2027-03-15")) == set()
    assert fields_of(unborn("2027-09-02")) == set()  # ten months to the day
    assert fields_of(unborn("2027-09-03")) == {"subjects.0.date_of_birth"}
    assert fields_of(unborn("2026-10-20")) == set()  # a baby overdue by a fortnight
    assert fields_of(unborn("2026-08-01")) == {"subjects.0.date_of_birth"}


def test_a_share_before_its_decision_or_in_the_future_is_refused() -> None:
    assert fields_of(make_share(shared_at="2026-11-02T11:00")) == set()
    assert fields_of(make_share(shared_at="2026-11-01T11:00")) == {"shared_at"}
    assert fields_of(make_share(shared_at="2026-12-24T11:00")) == {"shared_at"}
    assert "before the decision" in messages_of(make_share(shared_at="2026-11-01T11:00"))[0]


def test_a_time_zone_or_nonsense_date_is_refused_with_a_message() -> None:
    for value in ("2026-11-02T10:30+05:00", "yesterday", "2026-13-40T10:00", "99999-01-01"):
        assert fields_of(make_share(decided_at=value)) == {"decided_at"}, value


# -- 3. the flow follows the decision ----------------------------------------------------
def test_not_to_share_asks_nothing_only_a_share_needs() -> None:
    record = make_share(decision="not_share", consent="refused", consent_reason="",
                        lawful_basis="", without_consent_ground="", art9_condition="",
                        sch1_condition="", method="", seven_tests={}, person_informed="",
                        person_informed_reason="", third_party_identified=None,
                        counterparty=Counterparty())
    assert problems_with(record, now=NOW) == []  # type: ignore[arg-type]
    asked = applies(record)  # type: ignore[arg-type]
    for name in ("consent_reason", "lawful_basis", "without_consent_ground", "art9_condition",
                 "method", "shared_at", "seven_tests", "person_informed",
                 "third_party_identified"):
        assert not asked[name], name


def test_a_request_made_records_what_was_asked_for_and_of_whom() -> None:
    assert problems_with(make_request_made(), now=NOW) == []  # type: ignore[arg-type]
    fields = fields_of(make_request_made(requested_information="", counterparty=Counterparty()))
    assert fields == {"requested_information", "counterparty"}
    assert "Say what you asked for." in messages_of(make_request_made(requested_information=""))
    # Deciding not to ask is recorded too, without the questions of asking.
    assert fields_of(make_request_made(decision="not_share", method="", seven_tests={})) == set()


def test_no_clear_purpose_means_do_not_share() -> None:
    assert "decision" in fields_of(make_share(clear_purpose=False))
    assert problems_with(make_share(clear_purpose=False, decision="not_share", method="",  # type: ignore[arg-type]
                                    without_consent_ground=""), now=NOW) == []


def test_not_identifying_anyone_asks_no_consent_or_lawful_basis() -> None:
    record = make_share(identifies_person=False, confidential=None, consent="",
                        consent_reason="", lawful_basis="", without_consent_ground="",
                        art9_condition="", sch1_condition="")
    assert problems_with(record, now=NOW) == []  # type: ignore[arg-type]


# -- 4. nothing professional is pre-answered ---------------------------------------------
def test_a_new_record_starts_with_every_judgement_unanswered() -> None:
    record = DecisionRecord()
    assert (record.clear_purpose, record.identifies_person, record.confidential) == (
        None, None, None)
    assert (record.decision, record.consent, record.fact_or_opinion) == ("", "", "")
    assert (record.advice_sought, record.third_party_identified) == (None, None)
    assert record.seven_tests == {}
    assert Subject().kind == ""


@pytest.mark.parametrize("name", ["clear_purpose", "identifies_person", "confidential",
                                  "advice_sought", "third_party_identified"])
def test_an_unanswered_judgement_is_refused(name: str) -> None:
    assert name in fields_of(make_share(**{name: None}))


def test_the_decision_consent_and_each_test_must_be_answered() -> None:
    assert "decision" in fields_of(make_share(decision=""))
    assert "consent" in fields_of(make_share(consent=""))
    assert "fact_or_opinion" in fields_of(make_share(fact_or_opinion=""))
    six = {k: True for k in list(SEVEN_TESTS)[:6]}
    (message,) = [m for m in messages_of(make_share(seven_tests=six)) if "seven tests" in m]
    assert "Secure" in message and "Necessary" not in message
    failed = make_share(seven_tests={**six, "secure": False})
    assert any("not met: Secure" in m for m in messages_of(failed))
    assert "subjects.0.kind" in fields_of(make_share(subjects=[Subject(name="A")]))


def test_a_share_needs_method_counterparty_and_the_seven_tests() -> None:
    record = make_share(method="", counterparty=Counterparty(), seven_tests={"necessary": True})
    fields = fields_of(record)
    assert {"method", "counterparty", "seven_tests"} <= fields
    msg = [p.message for p in problems_with(record, now=NOW) if p.field == "seven_tests"][0]  # type: ignore[arg-type]
    assert "Proportionate" in msg and "Necessary" not in msg


def test_not_sharing_needs_no_method() -> None:
    record = make_share(decision="not_share", method="", seven_tests={}, person_informed="",
                        without_consent_ground="")
    assert problems_with(record, now=NOW) == []  # type: ignore[arg-type]


def test_a_subject_is_required_and_dates_must_be_dates() -> None:
    assert "subjects" in fields_of(make_share(subjects=[]))
    bad = make_share(subjects=[Subject(name="A", date_of_birth="3rd May", kind="child")])
    assert "subjects.0.date_of_birth" in fields_of(bad)
    future = make_share(subjects=[Subject(name="A", date_of_birth="2999-01-01", kind="child")])
    assert "subjects.0.date_of_birth" in fields_of(future)


def test_advice_third_parties_and_person_informed_need_their_details() -> None:
    assert "advice_from" in fields_of(make_share(advice_sought=True))
    assert "third_party_protection" in fields_of(make_share(third_party_identified=True))
    assert "person_informed_reason" in fields_of(make_share(person_informed_reason=""))


def test_invalid_records_are_not_saved(service: object) -> None:
    with pytest.raises(ValidationError):
        service.record_decision(make_share(reasons=""))  # type: ignore[attr-defined]
    assert service.decision_count() == 0  # type: ignore[attr-defined]
    assert service.pending_sync_count() == 0  # type: ignore[attr-defined]


# -- 5. every value is checked at the boundary -------------------------------------------
MARKER = "Zqx-secret-marker"


def test_wrong_types_give_one_error_listing_every_problem() -> None:
    record = make_share(
        clear_purpose="false", confidential=1, reasons=None, information=42,
        subjects=[Subject(name=MARKER + "\ud800", kind="child")],
        counterparty=Counterparty(name=MARKER * 20),
        categories="health", seven_tests=["necessary"], decided_at=20261102,
    )
    with pytest.raises(ValidationError) as err:
        validate(record, now=NOW)  # type: ignore[arg-type]
    fields = {p.field for p in err.value.problems}
    assert {"clear_purpose", "confidential", "reasons", "information", "subjects.0.name",
            "counterparty.name", "categories", "seven_tests", "decided_at"} <= fields
    assert "yes, no or not answered" in " ".join(err.value.for_field("clear_purpose"))
    assert MARKER not in str(err.value) and MARKER not in repr(err.value)
    assert MARKER not in repr(err.value.problems)


def test_every_text_has_a_limit_in_words_a_practitioner_understands() -> None:
    huge = "x" * (50 * 1024 * 1024)
    record = make_share(subjects=[Subject(name=huge, kind="child")], reasons="y" * 20_001)
    messages = {p.field: p.message for p in problems_with(record, now=NOW)}  # type: ignore[arg-type]
    assert messages["subjects.0.name"] == "Person 1’s name must be under 200 characters."
    assert messages["reasons"] == (
        "Your reasons must be under 20,000 characters (about 3,100 words).")
    for name in ("information", "purpose", "advice_notes", "third_party_protection",
                 "person_informed_reason", "requested_information"):
        assert name in fields_of(make_share(**{name: "z" * 20_001})), name
    for name in ("name", "role", "organisation", "contact"):
        cp = Counterparty(**{name: "z" * 301})
        assert f"counterparty.{name}" in fields_of(make_share(counterparty=cp)), name
    assert "subjects.0.case_ref" in fields_of(make_share(
        subjects=[Subject(name="A", kind="child", case_ref="C" * 51)]))


def test_control_characters_and_lone_surrogates_are_refused() -> None:
    for text in ("ok\x00", "bad \ud83d half", "esc\x1b[2J"):
        assert "reasons" in fields_of(make_share(reasons=text)), repr(text)
    assert fields_of(make_share(reasons="Line one\nline two\ttabbed, “quoted” ünïcode 🙂")) == set()


def test_a_hostile_record_is_refused_by_the_service_and_nothing_is_saved(service: object) -> None:
    bad = make_share(subjects=None, counterparty="nobody", seven_tests=None,
                     advice_sought="no", reasons="\udcff")
    with pytest.raises(ValidationError):
        service.record_decision(bad)  # type: ignore[attr-defined]
    for days in (-3, 0, 10_000, True, "5", 2.5):
        with pytest.raises(ValidationError):
            service.record_decision(make_share(), followup_days=days)  # type: ignore[attr-defined]
    assert service.decision_count() == 0  # type: ignore[attr-defined]


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True)
    | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=20,
)
FIELD_NAMES = [f.name for f in dataclasses.fields(DecisionRecord)] + [
    "special_category", "record_version"]


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(FIELD_NAMES), JSON, max_size=12) | JSON)
def test_from_dict_never_crashes_on_hostile_data(data: object) -> None:
    record = DecisionRecord.from_dict(data)
    # Whatever came in, the record can be stored, validated and read back.
    assert DecisionRecord.from_dict(record.to_dict()) == record
    problems_with(record, now=NOW)


@settings(max_examples=200, deadline=None)
@given(st.fixed_dictionaries({}, optional={name: JSON for name in FIELD_NAMES[:-2]}))
def test_validation_only_ever_raises_validation_error(values: dict[str, object]) -> None:
    record = make_share()
    for key, value in values.items():
        setattr(record, key, value)
    try:
        validate(record, now=NOW)  # type: ignore[arg-type]
    except ValidationError as err:
        assert err.problems


@settings(max_examples=200, deadline=None)
@given(
    consent=st.sampled_from(["given", "refused", "not_sought"]),
    decision=st.sampled_from(["share", "share_partial", "not_share"]),
    categories=st.lists(st.sampled_from(sorted(CATEGORIES)), min_size=1, max_size=3),
    reasons=st.sampled_from(["", "  ", "Because of risk"]),
    lawful=st.sampled_from(["", "public_task"]),
    pair=st.sampled_from([("", ""), ("art9_2_g", "sch1_para18"), ("art9_2_g", "")]),
    method=st.sampled_from(["", "phone"]),
    tests=st.sets(st.sampled_from(sorted(SEVEN_TESTS))),
)
def test_the_rules_hold_for_any_combination(consent: str, decision: str, categories: list[str],
                                            reasons: str, lawful: str, pair: tuple[str, str],
                                            method: str, tests: set[str]) -> None:
    record = make_share(consent=consent, decision=decision, categories=categories,
                        reasons=reasons, lawful_basis=lawful, art9_condition=pair[0],
                        sch1_condition=pair[1], art10_condition="sch1_para10", method=method,
                        seven_tests={t: True for t in tests})
    fields = fields_of(record)
    sharing = decision != "not_share"
    special = bool(set(categories) & SPECIAL_CATEGORIES)
    assert ("reasons" in fields) == (not reasons.strip())
    assert ("lawful_basis" in fields) == (sharing and consent != "given" and not lawful)
    assert ("art9_condition" in fields) == (sharing and special and not pair[0])
    assert ("sch1_condition" in fields) == (sharing and special and pair == ("art9_2_g", ""))
    assert ("method" in fields) == (sharing and not method)
    assert ("seven_tests" in fields) == (sharing and len(tests) < 7)
