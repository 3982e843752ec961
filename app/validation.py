"""The rules a decision record must meet before it is saved.

Every problem is reported at once, against the field it belongs to, in words a
practitioner understands. A record that fails is not saved.

``applies`` says which questions a record's answers make relevant; the form shows
exactly those and these rules ask only for those, so a message never speaks of a
question that is not on screen. "Now" is passed in (the service's clock), never read
here, so tests and demos can fix it.
"""

from __future__ import annotations

import calendar
import datetime as dt
from typing import Any

from app.model import (
    ADVICE_FROM,
    ART6_BASES,
    ART9_CONDITIONS,
    ART10_CONDITIONS,
    CATEGORIES,
    CONSENT_REASONS,
    FACT_OPINION,
    METHODS,
    PERSON_INFORMED,
    SCH1_FOR_ART9,
    SEVEN_TESTS,
    STATUTORY_GATEWAYS,
    WITHOUT_CONSENT_GROUNDS,
    Consent,
    Decision,
    DecisionRecord,
    Direction,
    SubjectKind,
)
from app.problems import Problem, ValidationError
from app.record_data import check_record, text_problems

__all__ = ["Problem", "ValidationError", "applies", "days_late", "problems_with",
           "require_reason", "validate"]

# How far ahead of "now" a time may be: two devices' clocks rarely agree to the second.
CLOCK_SLACK = dt.timedelta(minutes=5)
# A decision recorded more than this long after it was made is allowed, but confirmed.
LATE_AFTER_DAYS = 30
EARLIEST_DECISION = dt.date(2000, 1, 1)
EARLIEST_BIRTH = dt.date(1900, 1, 1)
# An unborn child's expected date of birth: up to ten months after the decision, and not
# long before it (a baby is rarely born a month after the date it was expected).
UNBORN_MONTHS_AHEAD = 10
UNBORN_DAYS_OVERDUE = 31

MESSAGES = {
    "direction": "Choose whether this is a share, a request received or a request made.",
    "decision": "Choose the decision: share, share in part, or do not share.",
    "decision_request_made": "Choose the decision: ask, ask sharing only part, or do not ask.",
    "clear_purpose": "Say whether there is a clear and legitimate purpose for sharing.",
    "identifies_person": "Say whether the information identifies a person.",
    "confidential": "Say whether the information is confidential.",
    "consent": "Say whether the person or family agreed: given, refused or not sought.",
    "fact_or_opinion": "Say whether the information is fact, opinion or both.",
    "subjects": "Add the person the information is about (a name or a case reference).",
    "subject_kind": "Say whether the person is a child, an unborn child, an adult at risk, "
                    "or other.",
    "dob_format": "Write the date of birth as a date (for example 2015-03-01).",
    "dob_future": "The date of birth is in the future.",
    "dob_too_old": "The date of birth is before 1900: check the year.",
    "dob_after_decision": "The date of birth is after the decision. For a pre-birth "
                          "assessment, choose “Unborn child” and give the expected date "
                          "of birth.",
    "edd_too_late": "The expected date of birth is more than ten months after the decision.",
    "edd_too_early": "The expected date of birth is over a month before the decision: if "
                     "the child has been born, choose “Child” and give the date of birth.",
    "purpose": "Say what safeguarding concern or enquiry this serves (the purpose).",
    "information": "Describe the information that is (or would be) shared.",
    "information_request_made": "Say what you tell them in asking (at least who it is about).",
    "requested_request_made": "Say what you asked for.",
    "requested_request_received": "Say what they asked for.",
    "reasons": "Give your reasons for this decision; they are required for every decision.",
    "categories": "Choose at least one category (Other if none fits).",
    "categories_list": "Choose categories from the list.",
    "no_purpose": "Without a clear and legitimate purpose the decision must be not to share.",
    "decided_at": "Give the date and time of the decision.",
    "decided_future": "The decision is dated in the future: give when it was made.",
    "decided_too_old": "The decision is dated before 2000: check the year.",
    "consent_reason": "Consent was not given: say why it was not sought or why you are going "
                      "ahead without it.",
    "lawful_basis": "Consent was not given: choose the lawful basis (UK GDPR Article 6) for "
                    "this decision.",
    "lawful_basis_list": "Choose the lawful basis from the list.",
    "without_consent_ground": "Sharing without consent: say which ground applies (risk of "
                              "harm, statutory duty, court order or substantial public "
                              "interest).",
    "art9_condition": "This is special-category data ({what}): choose the Article 9 "
                      "condition and its DPA 2018 Schedule 1 condition (for safeguarding, "
                      "usually Sch 1 para 18).",
    "art9_unstated": "An earlier version recorded this as special-category data: choose "
                     "the Article 9 condition and its DPA 2018 Schedule 1 condition.",
    "sch1_condition": "Choose the DPA 2018 Schedule 1 condition that goes with this "
                      "Article 9 condition.",
    "art10_condition": "This is criminal offence data: choose the DPA 2018 Schedule 1 "
                       "condition that allows sharing it (UK GDPR Article 10).",
    "statutory_gateway": "Choose the statutory gateway from the list.",
    "method": "Say how the information was shared (secure email, phone, meeting…).",
    "method_request_made": "Say how you asked (secure email, phone, meeting…).",
    "counterparty_share": "Say who the information was shared with (a person or an "
                          "organisation).",
    "counterparty_request_made": "Say who you asked for information.",
    "counterparty_request_received": "Say who asked for the information.",
    "seven_tests": "Answer each of the seven tests; not yet answered: {}.",
    "seven_tests_failed": "A share must meet all seven tests; not met: {}. Share only part, "
                          "or decide not to share.",
    "shared_at": "Give when it was shared as a date and time.",
    "shared_before_decision": "It is dated before the decision was made: check both dates.",
    "shared_future": "It is dated in the future: give when it happened.",
    "person_informed": "Say whether the person or family was told about the share.",
    "person_informed_reason": "Say why the person was not told (for example it would "
                              "increase the risk).",
    "advice_sought": "Say whether you sought advice.",
    "advice_from": "You sought advice: say from whom.",
    "third_party_identified": "Say whether the information identifies someone else (for "
                              "example a referrer) who could come to harm.",
    "third_party_protection": "The information identifies someone else who could come to "
                              "harm: say what was withheld or redacted to protect them.",
}


# -- what applies ----------------------------------------------------------------------
def applies(record: DecisionRecord) -> dict[str, bool]:
    """Which of the questions that depend on other answers apply to this record.

    An unanswered question makes nothing follow from it: its follow-on questions wait
    until it is answered. Questions not named here always apply.
    """
    no_purpose = record.clear_purpose is False
    personal = not no_purpose and record.identifies_person is True
    sharing = record.is_share and not no_purpose
    not_given = record.consent in (Consent.REFUSED, Consent.NOT_SOUGHT)
    request = record.direction in (Direction.REQUEST_MADE, Direction.REQUEST_RECEIVED)
    return {
        "decision": not no_purpose,
        "identifies_person": not no_purpose,
        "confidential": personal,
        "consent": personal,
        "requested_information": request,
        "consent_reason": sharing and personal and not_given,
        "without_consent_ground": (sharing and personal and not_given
                                   and record.direction != Direction.REQUEST_MADE),
        "lawful_basis": sharing and personal,
        "statutory_gateway": sharing,
        "art9_condition": sharing and personal and record.is_special_category,
        "art10_condition": sharing and personal and record.is_criminal_offence_data,
        "method": sharing,
        "shared_at": sharing,
        "person_informed": sharing,
        "person_informed_reason": sharing and record.person_informed == "no",
        "seven_tests": sharing,
        "third_party_identified": sharing,
        "third_party_protection": sharing and record.third_party_identified is True,
        "advice_from": record.advice_sought is True,
        "advice_notes": record.advice_sought is True,
    }


# -- dates -----------------------------------------------------------------------------
def _parse_datetime(value: str) -> dt.datetime | None:
    try:
        when = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    return when if when.tzinfo is None else None  # local time, as the practitioner sees it


def _parse_date(value: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        return None


def add_months(day: dt.date, months: int) -> dt.date:
    month0 = day.month - 1 + months
    year, month = day.year + month0 // 12, month0 % 12 + 1
    return day.replace(year=year, month=month,
                       day=min(day.day, calendar.monthrange(year, month)[1]))


def days_late(decided_at: str, written: dt.datetime) -> int:
    """Whole days between the decision and its writing down (0 when not parseable)."""
    decided = _parse_datetime(decided_at)
    if decided is None:
        return 0
    return max(0, (written.date() - decided.date()).days)


def is_recorded_late(decided_at: str, written: dt.datetime) -> bool:
    return days_late(decided_at, written) > LATE_AFTER_DAYS


# -- the rules ---------------------------------------------------------------------------
def problems_with(record: DecisionRecord, *, now: dt.datetime | None = None) -> list[Problem]:
    """Every problem with a record, each against its field (empty when it can be saved).

    ``now`` is the clock the rules measure against (the service's); the system clock
    when it is not given.
    """
    clean, problems = check_record(record)
    unreadable = {p.field for p in problems}
    rules = _rule_problems(clean, now or dt.datetime.now())
    # A value that could not be read is reported once, as unreadable.
    problems += [p for p in rules if p.field not in unreadable]
    return problems


def _rule_problems(record: DecisionRecord, now: dt.datetime) -> list[Problem]:
    p: list[Problem] = []
    m = MESSAGES
    ask = applies(record)
    request_made = record.direction == Direction.REQUEST_MADE

    def need(ok: bool, name: str, message: str | None = None) -> None:
        if not ok:
            p.append(Problem(name, message or m[name]))

    need(record.direction in set(Direction), "direction")

    # 1. Purpose
    need(bool(record.purpose.strip()), "purpose")
    need(record.clear_purpose is not None, "clear_purpose")
    if ask["decision"]:
        need(record.decision in set(Decision), "decision",
             m["decision_request_made"] if request_made else None)
    else:
        need(record.decision == Decision.NOT_SHARE, "decision", m["no_purpose"])

    # 2. The information and who it is about
    need(bool(record.information.strip()), "information",
         m["information_request_made"] if request_made else None)
    if ask["requested_information"]:
        need(bool(record.requested_information.strip()), "requested_information",
             m["requested_request_made" if request_made else "requested_request_received"])
    need(bool(record.categories), "categories")
    need(all(c in CATEGORIES for c in record.categories), "categories", m["categories_list"])
    need(record.fact_or_opinion in FACT_OPINION, "fact_or_opinion")
    if ask["identifies_person"]:
        need(record.identifies_person is not None, "identifies_person")
    decided = _decided(record, now, need)
    _subject_problems(record, decided, now, need)

    # 3-4. Confidentiality and consent
    if ask["confidential"]:
        need(record.confidential is not None, "confidential")
    if ask["consent"]:
        need(record.consent in set(Consent), "consent")

    # 5. Lawful basis, for what is shared
    if ask["consent_reason"]:
        need(record.consent_reason in CONSENT_REASONS, "consent_reason")
    if ask["without_consent_ground"]:
        need(record.without_consent_ground in WITHOUT_CONSENT_GROUNDS,
             "without_consent_ground")
    if ask["lawful_basis"]:
        if ask["consent_reason"]:
            need(record.lawful_basis in ART6_BASES, "lawful_basis")
        elif record.lawful_basis:
            need(record.lawful_basis in ART6_BASES, "lawful_basis", m["lawful_basis_list"])
    if ask["statutory_gateway"] and record.statutory_gateway:
        need(record.statutory_gateway in STATUTORY_GATEWAYS, "statutory_gateway")
    if ask["art9_condition"]:
        _special_problems(record, need)
    if ask["art10_condition"]:
        need(record.art10_condition in ART10_CONDITIONS, "art10_condition")

    # 6. Share only what is needed, with the right person, securely
    has_counterparty = bool(record.counterparty.name.strip()
                            or record.counterparty.organisation.strip())
    if ask["method"]:
        need(record.method in METHODS, "method", m["method_request_made"] if request_made
             else None)
        if record.direction == Direction.DISCLOSURE:
            need(has_counterparty, "counterparty", m["counterparty_share"])
        _seven_tests_problems(record, need)
        need(record.person_informed in PERSON_INFORMED, "person_informed")
        if ask["person_informed_reason"]:
            need(bool(record.person_informed_reason.strip()), "person_informed_reason")
        need(record.third_party_identified is not None, "third_party_identified")
        if ask["third_party_protection"]:
            need(bool(record.third_party_protection.strip()), "third_party_protection")
    if ask["shared_at"] and record.shared_at:
        _shared_at_problems(record, decided, now, need)
    if request_made:
        need(has_counterparty, "counterparty", m["counterparty_request_made"])
    elif record.direction == Direction.REQUEST_RECEIVED:
        need(has_counterparty, "counterparty", m["counterparty_request_received"])

    # 7. Reasons and advice
    need(bool(record.reasons.strip()), "reasons")
    need(record.advice_sought is not None, "advice_sought")
    if ask["advice_from"]:
        need(record.advice_from in ADVICE_FROM, "advice_from")
    return p


Need = Any  # the ``need`` helper of _rule_problems


def _decided(record: DecisionRecord, now: dt.datetime, need: Need) -> dt.datetime | None:
    decided = _parse_datetime(record.decided_at) if record.decided_at else None
    need(decided is not None, "decided_at")
    if decided is None:
        return None
    need(decided <= now + CLOCK_SLACK, "decided_at", MESSAGES["decided_future"])
    need(decided.date() >= EARLIEST_DECISION, "decided_at", MESSAGES["decided_too_old"])
    return decided


def _subject_problems(record: DecisionRecord, decided: dt.datetime | None, now: dt.datetime,
                      need: Need) -> None:
    m = MESSAGES
    named = [s for s in record.subjects if s.name.strip() or s.case_ref.strip()]
    need(bool(named), "subjects")
    today = now.date()
    for i, s in enumerate(record.subjects):
        field = f"subjects.{i}.date_of_birth"
        need(s.kind in set(SubjectKind), f"subjects.{i}.kind", m["subject_kind"])
        if not s.date_of_birth:
            continue
        dob = _parse_date(s.date_of_birth)
        need(dob is not None, field, m["dob_format"])
        if dob is None:
            continue
        if s.kind == SubjectKind.UNBORN:
            if decided is not None:
                day = decided.date()
                need(dob <= add_months(day, UNBORN_MONTHS_AHEAD), field, m["edd_too_late"])
                need(dob >= day - dt.timedelta(days=UNBORN_DAYS_OVERDUE), field,
                     m["edd_too_early"])
            continue
        need(dob >= EARLIEST_BIRTH, field, m["dob_too_old"])
        if dob > today:
            need(False, field, m["dob_future"])
        elif decided is not None:
            need(dob <= decided.date(), field, m["dob_after_decision"])


def _special_problems(record: DecisionRecord, need: Need) -> None:
    m = MESSAGES
    if record.special_categories:
        words = ", ".join(CATEGORIES[c].split(" (")[0].lower() for c in record.special_categories)
        message = m["art9_condition"].format(what=words)
    else:
        message = m["art9_unstated"]
    need(record.art9_condition in ART9_CONDITIONS, "art9_condition", message)
    allowed = SCH1_FOR_ART9.get(record.art9_condition, ())
    if allowed:
        need(record.sch1_condition in allowed, "sch1_condition")


def _seven_tests_problems(record: DecisionRecord, need: Need) -> None:
    tests = record.seven_tests
    unanswered = [label for key, label in SEVEN_TESTS.items() if key not in tests]
    failed = [label for key, label in SEVEN_TESTS.items() if tests.get(key) is False]
    need(not unanswered, "seven_tests", MESSAGES["seven_tests"].format(", ".join(unanswered)))
    need(not failed, "seven_tests",
         MESSAGES["seven_tests_failed"].format(", ".join(failed)))


def _shared_at_problems(record: DecisionRecord, decided: dt.datetime | None, now: dt.datetime,
                        need: Need) -> None:
    shared = _parse_datetime(record.shared_at)
    need(shared is not None, "shared_at")
    if shared is None:
        return
    need(shared <= now + CLOCK_SLACK, "shared_at", MESSAGES["shared_future"])
    if decided is not None:
        need(shared >= decided, "shared_at", MESSAGES["shared_before_decision"])


def validate(record: DecisionRecord, *, now: dt.datetime | None = None) -> None:
    problems = problems_with(record, now=now)
    if problems:
        raise ValidationError(problems)


REASON_LIMIT = 5_000


def require_reason(reason: object, what: str) -> None:
    """A reason (a correction's, a withdrawal's, a follow-up's outcome) is given, and is text
    that can be stored."""
    problems = text_problems(reason, "reason", REASON_LIMIT, "The reason")
    if not problems and not (isinstance(reason, str) and reason.strip()):
        problems = [Problem("reason", f"Give a reason for {what}.")]
    if problems:
        raise ValidationError(problems)
