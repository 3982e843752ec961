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
        return [p.message for p in self.problems if p.field == name or p.field.startswith(name + ".")]


def _is_iso_datetime(value: str) -> bool:
    try:
        dt.datetime.fromisoformat(value)
    except ValueError:
        return False
    return True


def _is_iso_date(value: str) -> bool:
    try:
        dt.date.fromisoformat(value)
    except ValueError:
        return False
    return True


def problems_with(record: DecisionRecord) -> list[Problem]:  # noqa: C901 - a checklist
    p: list[Problem] = []

    def need(ok: bool, name: str, message: str) -> None:
        if not ok:
            p.append(Problem(name, message))

    need(record.direction in set(Direction), "direction", "Choose whether this is a share, a request received or a request made.")
    need(record.decision in set(Decision), "decision", "Choose the decision: share, share in part, or do not share.")
    need(record.consent in set(Consent), "consent", "Say whether the person or family agreed: given, refused or not sought.")

    # Subjects
    named = [s for s in record.subjects if s.name.strip() or s.case_ref.strip()]
    need(bool(named), "subjects", "Add the person the information is about (a name or a case reference).")
    for i, s in enumerate(record.subjects):
        if s.kind not in set(SubjectKind):
            p.append(Problem(f"subjects.{i}.kind", "Say whether the person is a child, an adult at risk, or other."))
        if s.date_of_birth and not _is_iso_date(s.date_of_birth):
            p.append(Problem(f"subjects.{i}.date_of_birth", "Write the date of birth as a date (for example 2015-03-01)."))
        if s.date_of_birth and _is_iso_date(s.date_of_birth) and dt.date.fromisoformat(s.date_of_birth) > dt.date.today():
            p.append(Problem(f"subjects.{i}.date_of_birth", "The date of birth is in the future."))

    # The decision flow
    need(bool(record.purpose.strip()), "purpose", "Say what safeguarding concern or enquiry this serves (the purpose).")
    need(bool(record.information.strip()), "information", "Describe the information that is (or would be) shared.")
    need(bool(record.reasons.strip()), "reasons", "Give your reasons for this decision; they are required for every decision.")
    for c in record.categories:
        if c not in CATEGORIES:
            p.append(Problem("categories", "Choose categories from the list."))
            break
    if not record.clear_purpose and record.decision != Decision.NOT_SHARE:
        p.append(Problem("decision", "Without a clear and legitimate purpose the decision must be not to share."))

    need(bool(record.decided_at) and _is_iso_datetime(record.decided_at), "decided_at", "Give the date and time of the decision.")

    # Consent and lawful basis
    consent_given = record.consent == Consent.GIVEN
    if not consent_given:
        need(record.consent_reason in CONSENT_REASONS, "consent_reason", "Consent was not given: say why it was not sought or why you are going ahead without it.")
        need(record.lawful_basis in ART6_BASES, "lawful_basis", "Consent was not given: choose the lawful basis (UK GDPR Article 6) for this decision.")
        if record.decision != Decision.NOT_SHARE and record.direction != Direction.REQUEST_MADE:
            need(record.without_consent_ground in WITHOUT_CONSENT_GROUNDS, "without_consent_ground", "Sharing without consent: say which ground applies (risk of harm, statutory duty, court order or substantial public interest).")
    elif record.lawful_basis:
        need(record.lawful_basis in ART6_BASES, "lawful_basis", "Choose the lawful basis from the list.")
    if record.special_category:
        need(record.art9_condition in ART9_CONDITIONS, "art9_condition", "This is special-category data: choose an Article 9 condition (for safeguarding, usually DPA 2018 Sch 1 para 18).")
    if record.statutory_gateway:
        need(record.statutory_gateway in STATUTORY_GATEWAYS, "statutory_gateway", "Choose the statutory gateway from the list.")

    # Sharing
    if record.is_share:
        need(record.method in METHODS, "method", "Say how the information was shared (secure email, phone, meeting…).")
        need(bool(record.counterparty.name.strip()) or bool(record.counterparty.organisation.strip()), "counterparty", "Say who the information was shared with (a person or an organisation).")
        missing = [label for key, label in SEVEN_TESTS.items() if not record.seven_tests.get(key)]
        if missing:
            p.append(Problem("seven_tests", "Confirm each of the seven tests before sharing; not yet confirmed: " + ", ".join(missing) + "."))
        if record.shared_at:
            need(_is_iso_datetime(record.shared_at), "shared_at", "Give when it was shared as a date and time.")
        need(record.person_informed in PERSON_INFORMED, "person_informed", "Say whether the person or family was told about the share.")
        if record.person_informed == "no":
            need(bool(record.person_informed_reason.strip()), "person_informed_reason", "Say why the person was not told (for example it would increase the risk).")
    elif record.method:
        need(record.method in METHODS, "method", "Choose a method from the list.")
    if record.direction == Direction.REQUEST_MADE:
        need(bool(record.counterparty.name.strip()) or bool(record.counterparty.organisation.strip()), "counterparty", "Say who you asked for information.")
    if record.direction == Direction.REQUEST_RECEIVED:
        need(bool(record.counterparty.name.strip()) or bool(record.counterparty.organisation.strip()), "counterparty", "Say who asked for the information.")

    if record.advice_sought:
        need(record.advice_from in ADVICE_FROM, "advice_from", "You sought advice: say from whom.")
    if record.third_party_identified:
        need(bool(record.third_party_protection.strip()), "third_party_protection", "The information identifies someone else who could come to harm: say what was withheld or redacted to protect them.")

    # Sizes (a bad paste should not make a record nobody can open)
    for name in ("information", "purpose", "reasons", "advice_notes", "third_party_protection", "person_informed_reason"):
        if len(getattr(record, name)) > MAX_TEXT:
            p.append(Problem(name, f"This text is too long (over {MAX_TEXT:,} characters)."))
    for name in ("name", "role", "organisation", "contact"):
        if len(getattr(record.counterparty, name)) > MAX_SHORT:
            p.append(Problem("counterparty", f"The recipient's {name} is too long."))
    return p


def validate(record: DecisionRecord) -> None:
    problems = problems_with(record)
    if problems:
        raise ValidationError(problems)


def require_reason(reason: str, what: str) -> None:
    if not reason.strip():
        raise ValidationError([Problem("reason", f"Give a reason for {what}.")])
