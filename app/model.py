"""The decision record and follow-ups, as plain data (no Qt, no SQL)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, fields
from enum import StrEnum
from typing import Any, NamedTuple


class Direction(StrEnum):
    DISCLOSURE = "disclosure"
    REQUEST_RECEIVED = "request_received"
    REQUEST_MADE = "request_made"


class Decision(StrEnum):
    SHARE = "share"
    SHARE_PARTIAL = "share_partial"
    NOT_SHARE = "not_share"


class Consent(StrEnum):
    GIVEN = "given"
    REFUSED = "refused"
    NOT_SOUGHT = "not_sought"


class SubjectKind(StrEnum):
    CHILD = "child"
    ADULT_AT_RISK = "adult_at_risk"
    OTHER = "other"


class FollowUpState(StrEnum):
    OPEN = "open"
    DONE = "done"
    CANCELLED = "cancelled"


class FollowUpKind(StrEnum):
    CONFIRM_RECEIPT = "confirm_receipt"
    CHASE_RESPONSE = "chase_response"
    OTHER = "other"


class RecordStatus(StrEnum):
    ACTIVE = "active"
    WITHDRAWN = "withdrawn"


# Choices with the words a practitioner sees. Keys are stored; labels are not.
DIRECTION_LABELS = {
    Direction.DISCLOSURE: "We shared (or decided not to share)",
    Direction.REQUEST_RECEIVED: "Request received from another agency",
    Direction.REQUEST_MADE: "Request made to another agency",
}
DECISION_LABELS = {
    Decision.SHARE: "Share",
    Decision.SHARE_PARTIAL: "Share in part",
    Decision.NOT_SHARE: "Do not share",
}
CONSENT_LABELS = {
    Consent.GIVEN: "Given",
    Consent.REFUSED: "Refused",
    Consent.NOT_SOUGHT: "Not sought",
}
CONSENT_REASONS = {
    "risk_of_harm": "Seeking agreement would increase the risk of harm",
    "prejudice_enquiry": "It would prejudice a police or safeguarding enquiry",
    "not_practicable": "Not practicable in the time available",
    "lacks_capacity": "The person lacks capacity to agree",
    "refused_overridden": "Refused, but the risk justifies sharing",
    "other": "Other (explain in the reasons)",
}
CATEGORIES = {
    "health": "Health",
    "criminal": "Criminal",
    "education": "Education",
    "housing": "Housing",
    "family": "Family",
    "other": "Other",
}
ART6_BASES = {
    "public_task": "Art 6(1)(e) public task",
    "legal_obligation": "Art 6(1)(c) legal obligation",
    "vital_interests": "Art 6(1)(d) vital interests",
    "legitimate_interests": "Art 6(1)(f) legitimate interests",
    "consent": "Art 6(1)(a) consent",
    "contract": "Art 6(1)(b) contract",
}
ART9_CONDITIONS = {
    "dpa_sch1_para18": "DPA 2018 Sch 1 para 18: safeguarding of children and individuals at risk",
    "dpa_sch1_para6": "DPA 2018 Sch 1 para 6: statutory and government purposes",
    "dpa_sch1_para10": "DPA 2018 Sch 1 para 10: preventing or detecting unlawful acts",
    "art9_2_c": "Art 9(2)(c) vital interests (person incapable of consent)",
    "art9_2_h": "Art 9(2)(h) health or social care",
    "art9_2_f": "Art 9(2)(f) legal claims or courts",
    "explicit_consent": "Art 9(2)(a) explicit consent",
}
STATUTORY_GATEWAYS = {
    "": "None",
    "ca1989_s47": "Children Act 1989 s47 (enquiries: significant harm)",
    "ca1989_s17": "Children Act 1989 s17 (child in need)",
    "ca2004_s11": "Children Act 2004 s11 (duty to safeguard)",
    "care2014_s42": "Care Act 2014 s42 (safeguarding enquiry)",
    "care2014_s45": "Care Act 2014 s45 (Safeguarding Adults Board request)",
    "care2014_s7": "Care Act 2014 s7 (co-operation)",
    "court_order": "Court order",
    "crime_disorder_s115": "Crime and Disorder Act 1998 s115",
}
WITHOUT_CONSENT_GROUNDS = {
    "risk_of_harm": "Risk of harm to the person or others",
    "statutory_duty": "A statutory duty",
    "court_order": "A court order",
    "public_interest": "Substantial public interest",
}
METHODS = {
    "secure_email": "Secure email",
    "phone": "Phone",
    "meeting": "Meeting",
    "letter": "Letter",
    "secure_portal": "Secure portal",
    "other": "Other",
}
PERSON_INFORMED = {
    "yes": "Yes, they were told",
    "no": "No",
    "not_yet": "Not yet; will be told",
}
ADVICE_FROM = {
    "manager": "Manager",
    "dpo": "Data protection officer",
    "caldicott": "Caldicott guardian",
    "safeguarding_lead": "Safeguarding lead",
    "other": "Other",
}
FACT_OPINION = {"fact": "Fact", "opinion": "Opinion", "both": "Fact and opinion"}
SEVEN_TESTS = {
    "necessary": "Necessary",
    "proportionate": "Proportionate",
    "relevant": "Relevant",
    "adequate": "Adequate",
    "accurate": "Accurate",
    "timely": "Timely",
    "secure": "Secure",
}


@dataclass
class Subject:
    name: str = ""
    date_of_birth: str = ""  # ISO date, or empty when only an age band is known
    age_band: str = ""
    kind: str = SubjectKind.CHILD.value
    case_ref: str = ""


@dataclass
class Counterparty:
    name: str = ""
    role: str = ""
    organisation: str = ""
    contact: str = ""

    @property
    def display(self) -> str:
        parts = [p for p in (self.name, self.role, self.organisation) if p]
        return ", ".join(parts)


@dataclass
class DecisionRecord:
    """What the practitioner fills in. Team, owner and ids are set by the service."""

    direction: str = Direction.DISCLOSURE.value
    subjects: list[Subject] = field(default_factory=list)
    counterparty: Counterparty = field(default_factory=Counterparty)
    # The decision flow, in the order practitioners are trained on.
    clear_purpose: bool = True
    identifies_person: bool = True
    confidential: bool = True
    information: str = ""
    categories: list[str] = field(default_factory=list)
    special_category: bool = False
    fact_or_opinion: str = "fact"
    purpose: str = ""
    decision: str = Decision.SHARE.value
    decided_at: str = ""  # ISO date-time, local naive (as the practitioner sees it)
    reasons: str = ""
    consent: str = Consent.GIVEN.value
    consent_reason: str = ""
    without_consent_ground: str = ""
    lawful_basis: str = ""  # Art 6
    art9_condition: str = ""
    statutory_gateway: str = ""
    seven_tests: dict[str, bool] = field(default_factory=dict)
    method: str = ""
    shared_at: str = ""
    person_informed: str = ""
    person_informed_reason: str = ""
    advice_sought: bool = False
    advice_from: str = ""
    advice_notes: str = ""
    third_party_identified: bool = False
    third_party_protection: str = ""

    def to_dict(self) -> dict[str, Any]:
        """The record as plain data (what ``dataclasses.asdict`` gives, at a tenth of the cost)."""
        data = dict(vars(self))
        data["subjects"] = [dict(vars(s)) for s in self.subjects]
        data["counterparty"] = dict(vars(self.counterparty))
        data["categories"] = list(self.categories)
        data["seven_tests"] = dict(self.seven_tests)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DecisionRecord:
        known = _field_names(cls)
        values = {k: v for k, v in data.items() if k in known}
        values["subjects"] = [
            Subject(**_known(Subject, s)) for s in data.get("subjects", []) or []
        ]
        counterparty = data.get("counterparty") or {}
        values["counterparty"] = Counterparty(**_known(Counterparty, counterparty))
        values["categories"] = list(data.get("categories") or [])
        values["seven_tests"] = dict(data.get("seven_tests") or {})
        return cls(**values)

    @property
    def is_share(self) -> bool:
        return self.decision in (Decision.SHARE, Decision.SHARE_PARTIAL)

    @property
    def subjects_display(self) -> str:
        return "; ".join(s.name or s.case_ref for s in self.subjects if s.name or s.case_ref)

    @property
    def case_refs(self) -> str:
        return " ".join(s.case_ref for s in self.subjects if s.case_ref)


def _known(klass: type, data: dict[str, Any]) -> dict[str, Any]:
    known = _field_names(klass)
    return {k: v for k, v in data.items() if k in known}


_FIELD_NAMES: dict[type, frozenset[str]] = {}


def _field_names(klass: type) -> frozenset[str]:
    # dataclasses.fields() builds its tuple on every call; the integrity check reads
    # every record, so the names are worked out once per class.
    names = _FIELD_NAMES.get(klass)
    if names is None:
        names = _FIELD_NAMES[klass] = frozenset(f.name for f in fields(klass))
    return names


class DecisionSummary(NamedTuple):
    """A row of the decisions list (a named tuple: immutable and quick to build by the thousand)."""

    record_id: str
    decided_at: str
    direction: str
    decision: str
    consent: str
    subjects: str
    case_refs: str
    counterparty: str
    status: str
    version_count: int
    open_followups: int
    overdue_followups: int
    owner_id: str
    has_conflict: bool


@dataclass(frozen=True)
class Version:
    """One version of a record in its history."""

    event_id: str
    number: int
    kind: str  # 'decision.create' | 'decision.correct' | 'decision.withdraw'
    author_id: str
    author_name: str
    device_id: str
    at: str  # wall time from the event's clock, ISO
    reason: str
    record: DecisionRecord | None  # None for a withdrawal


class FollowUp(NamedTuple):
    """One follow-up (a named tuple: immutable and quick to build by the thousand)."""

    followup_id: str
    record_id: str
    owner_id: str
    kind: str
    title: str
    due_date: dt.date
    state: str
    outcome: str | None
    cancel_reason: str | None
    subjects: str = ""
    case_refs: str = ""
    counterparty: str = ""

    def is_overdue(self, today: dt.date) -> bool:
        return self.state == FollowUpState.OPEN and self.due_date < today

    def bucket(self, today: dt.date) -> str:
        return followup_bucket(self.state, self.due_date, today)


def week_end(today: dt.date) -> dt.date:
    """The Sunday that ends today's week."""
    return today + dt.timedelta(days=6 - today.weekday())


def followup_bucket(state: str, due: dt.date, today: dt.date) -> str:
    if state != FollowUpState.OPEN:
        return state
    if due < today:
        return "overdue"
    if due == today:
        return "today"
    if due <= week_end(today):
        return "this_week"
    return "later"


BUCKET_LABELS = {
    "overdue": "Overdue",
    "today": "Due today",
    "this_week": "This week",
    "later": "Later",
    "done": "Done",
    "cancelled": "Cancelled",
}


@dataclass(frozen=True)
class FollowUpChange:
    """One entry of a follow-up's history."""

    event_id: str
    kind: str
    author_id: str
    at: str
    detail: dict[str, Any]


# Rows the decisions list asks for at once (first page of a list or search; then on scroll).
LIST_PAGE_ROWS = 200


@dataclass
class SearchFilters:
    text: str = ""
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    direction: str | None = None
    decision: str | None = None
    consent: str | None = None
    followup_state: str | None = None  # 'open' | 'overdue' | 'done' | 'cancelled' | 'none'
    include_withdrawn: bool = True
    subject_case_ref: str | None = None
    # Keyset paging: only rows after this (decided_at, record_id), in newest-first order.
    before: tuple[str, str] | None = None
    limit: int | None = None
