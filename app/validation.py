"""The rules a decision record must meet before it is saved.

Every problem is reported at once, against the field it belongs to, in words a
practitioner understands. A record that fails is not saved.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from app.model import (
    ADVICE_FROM,
    ART6_BASES,
    ART9_CONDITIONS,
    CATEGORIES,
    CONSENT_REASONS,
    METHODS,
    PERSON_INFORMED,
    SEVEN_TESTS,
    STATUTORY_GATEWAYS,
    WITHOUT_CONSENT_GROUNDS,
    Consent,
    Decision,
    DecisionRecord,
    Direction,
    SubjectKind,
)

MAX_TEXT = 20_000
MAX_SHORT = 300


@dataclass(frozen=True)
class Problem:
    field: str
    message: str


class ValidationError(Exception):
    """One error that lists every problem with a record."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        lines = "\n".join(f"- {p.message}" for p in problems)
        super().__init__(f"This record can't be saved yet:\n{lines}")

    def for_field(self, name: str) -> list[str]:
        return [p.message for p in self.problems
                if p.field == name or p.field.startswith(name + ".")]


def _is_iso_datetime(value: str) -> bool:
    try:
        dt.datetime.fromisoformat(value)
    except ValueError:
        return False
    return True


MESSAGES = {
    "direction": "Choose whether this is a share, a request received or a request made.",
    "decision": "Choose the decision: share, share in part, or do not share.",
    "consent": "Say whether the person or family agreed: given, refused or not sought.",
    "subjects": "Add the person the information is about (a name or a case reference).",
    "subject_kind": "Say whether the person is a child, an adult at risk, or other.",
    "dob_format": "Write the date of birth as a date (for example 2015-03-01).",
    "dob_future": "The date of birth is in the future.",
    "purpose": "Say what safeguarding concern or enquiry this serves (the purpose).",
    "information": "Describe the information that is (or would be) shared.",
    "reasons": "Give your reasons for this decision; they are required for every decision.",
    "categories": "Choose categories from the list.",
    "no_purpose": "Without a clear and legitimate purpose the decision must be not to share.",
    "decided_at": "Give the date and time of the decision.",
    "consent_reason": "Consent was not given: say why it was not sought or why you are going "
                      "ahead without it.",
    "lawful_basis": "Consent was not given: choose the lawful basis (UK GDPR Article 6) for "
                    "this decision.",
    "lawful_basis_list": "Choose the lawful basis from the list.",
    "without_consent_ground": "Sharing without consent: say which ground applies (risk of "
                              "harm, statutory duty, court order or substantial public "
                              "interest).",
    "art9_condition": "This is special-category data: choose an Article 9 condition (for "
                      "safeguarding, usually DPA 2018 Sch 1 para 18).",
    "statutory_gateway": "Choose the statutory gateway from the list.",
    "method": "Say how the information was shared (secure email, phone, meeting…).",
    "method_list": "Choose a method from the list.",
    "counterparty_share": "Say who the information was shared with (a person or an "
                          "organisation).",
    "counterparty_request_made": "Say who you asked for information.",
    "counterparty_request_received": "Say who asked for the information.",
    "seven_tests": "Confirm each of the seven tests before sharing; not yet confirmed: {}.",
    "shared_at": "Give when it was shared as a date and time.",
    "person_informed": "Say whether the person or family was told about the share.",
    "person_informed_reason": "Say why the person was not told (for example it would "
                              "increase the risk).",
    "advice_from": "You sought advice: say from whom.",
    "third_party_protection": "The information identifies someone else who could come to "
                              "harm: say what was withheld or redacted to protect them.",
    "too_long": "This text is too long (over {:,} characters).",
    "too_long_short": "The recipient's {} is too long.",
}

LONG_TEXT_FIELDS = ("information", "purpose", "reasons", "advice_notes",
                    "third_party_protection", "person_informed_reason")


def problems_with(record: DecisionRecord) -> list[Problem]:
    """Every problem with a record, each against its field (empty when it can be saved)."""
    p: list[Problem] = []
    m = MESSAGES

    def need(ok: bool, name: str, message: str | None = None) -> None:
        if not ok:
            p.append(Problem(name, message or m[name]))

    need(record.direction in set(Direction), "direction")
    need(record.decision in set(Decision), "decision")
    need(record.consent in set(Consent), "consent")

    # Subjects
    named = [s for s in record.subjects if s.name.strip() or s.case_ref.strip()]
    need(bool(named), "subjects")
    today = dt.date.today()
    for i, s in enumerate(record.subjects):
        need(s.kind in set(SubjectKind), f"subjects.{i}.kind", m["subject_kind"])
        if s.date_of_birth:
            dob = _parse_date(s.date_of_birth)
            need(dob is not None, f"subjects.{i}.date_of_birth", m["dob_format"])
            need(dob is None or dob <= today, f"subjects.{i}.date_of_birth", m["dob_future"])

    # The decision flow
    need(bool(record.purpose.strip()), "purpose")
    need(bool(record.information.strip()), "information")
    need(bool(record.reasons.strip()), "reasons")
    need(all(c in CATEGORIES for c in record.categories), "categories")
    need(record.clear_purpose or record.decision == Decision.NOT_SHARE, "decision",
         m["no_purpose"])
    need(bool(record.decided_at) and _is_iso_datetime(record.decided_at), "decided_at")

    # Consent and lawful basis
    if record.consent != Consent.GIVEN:
        need(record.consent_reason in CONSENT_REASONS, "consent_reason")
        need(record.lawful_basis in ART6_BASES, "lawful_basis")
        if record.decision != Decision.NOT_SHARE and record.direction != Direction.REQUEST_MADE:
            need(record.without_consent_ground in WITHOUT_CONSENT_GROUNDS,
                 "without_consent_ground")
    elif record.lawful_basis:
        need(record.lawful_basis in ART6_BASES, "lawful_basis", m["lawful_basis_list"])
    if record.special_category:
        need(record.art9_condition in ART9_CONDITIONS, "art9_condition")
    if record.statutory_gateway:
        need(record.statutory_gateway in STATUTORY_GATEWAYS, "statutory_gateway")

    # Sharing and counterparty
    has_counterparty = bool(record.counterparty.name.strip()
                            or record.counterparty.organisation.strip())
    if record.is_share:
        need(record.method in METHODS, "method")
        need(has_counterparty, "counterparty", m["counterparty_share"])
        missing = [label for key, label in SEVEN_TESTS.items() if not record.seven_tests.get(key)]
        need(not missing, "seven_tests", m["seven_tests"].format(", ".join(missing)))
        need(not record.shared_at or _is_iso_datetime(record.shared_at), "shared_at")
        need(record.person_informed in PERSON_INFORMED, "person_informed")
        if record.person_informed == "no":
            need(bool(record.person_informed_reason.strip()), "person_informed_reason")
    elif record.method:
        need(record.method in METHODS, "method", m["method_list"])
    if record.direction == Direction.REQUEST_MADE:
        need(has_counterparty, "counterparty", m["counterparty_request_made"])
    elif record.direction == Direction.REQUEST_RECEIVED:
        need(has_counterparty, "counterparty", m["counterparty_request_received"])

    if record.advice_sought:
        need(record.advice_from in ADVICE_FROM, "advice_from")
    if record.third_party_identified:
        need(bool(record.third_party_protection.strip()), "third_party_protection")

    # Sizes (a bad paste should not make a record nobody can open)
    for name in LONG_TEXT_FIELDS:
        need(len(getattr(record, name)) <= MAX_TEXT, name, m["too_long"].format(MAX_TEXT))
    for name in ("name", "role", "organisation", "contact"):
        need(len(getattr(record.counterparty, name)) <= MAX_SHORT, "counterparty",
             m["too_long_short"].format(name))
    return p


def _parse_date(value: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        return None


def validate(record: DecisionRecord) -> None:
    problems = problems_with(record)
    if problems:
        raise ValidationError(problems)


def require_reason(reason: str, what: str) -> None:
    if not reason.strip():
        raise ValidationError([Problem("reason", f"Give a reason for {what}.")])
