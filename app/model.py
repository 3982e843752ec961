"""The decision record and follow-ups, as plain data (no Qt, no SQL)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
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
    UNBORN = "unborn"  # a pre-birth assessment: the date of birth is the expected one
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


# Choices with the words a practitioner sees. Keys are stored; labels are not. Within each
# table the labels start with different letters where they can, so typing a letter into a
# drop-down answers it (``ui.form.controls.ChoiceBox``).
DIRECTION_LABELS = {
    Direction.DISCLOSURE: "A decision to share or not to share",
    Direction.REQUEST_RECEIVED: "Request received from another agency",
    Direction.REQUEST_MADE: "Request made to another agency",
}
DECISION_LABELS = {
    Decision.SHARE: "Share",
    Decision.SHARE_PARTIAL: "Partly share (only some of it)",
    Decision.NOT_SHARE: "Do not share",
}
CONSENT_LABELS = {
    Consent.GIVEN: "Given",
    Consent.REFUSED: "Refused",
    Consent.NOT_SOUGHT: "Not sought",
}
CONSENT_REASONS = {
    "risk_of_harm": "Risk of harm: seeking agreement would increase it",
    "prejudice_enquiry": "Prejudice: it would harm a police or safeguarding enquiry",
    "not_practicable": "Not practicable in the time available",
    "lacks_capacity": "Lacks capacity: the person cannot agree",
    "refused_overridden": "Agreement refused, but the risk justifies sharing",
    "other": "Other (explain in the reasons)",
}
# What the information is about. The special categories (UK GDPR Article 9) and criminal
# offence data (Article 10) follow from these; nobody ticks "special category" separately.
CATEGORIES = {
    "health": "Health (physical or mental)",
    "family": "Family and relationships",
    "education": "Education",
    "housing": "Housing",
    "whereabouts": "Address or whereabouts",
    "finances": "Money and benefits",
    "social_care": "Social care",
    "criminal": "Criminal offences (alleged or proven)",
    "racial_ethnic": "Racial or ethnic origin",
    "religion": "Religious or philosophical beliefs",
    "political": "Political opinions",
    "trade_union": "Trade-union membership",
    "genetic": "Genetic data",
    "biometric": "Biometric data (used to identify someone)",
    "sex_life": "Sex life or sexual orientation",
    "other": "Other",
}
SPECIAL_CATEGORIES = frozenset({"health", "racial_ethnic", "religion", "political",
                                "trade_union", "genetic", "biometric", "sex_life"})
CRIMINAL_OFFENCE_CATEGORIES = frozenset({"criminal"})
ART6_BASES = {
    "public_task": "Public task (Art 6(1)(e))",
    "legal_obligation": "Legal obligation (Art 6(1)(c))",
    "vital_interests": "Vital interests (Art 6(1)(d))",
    "legitimate_interests": "Legitimate interests (Art 6(1)(f))",
    "consent": "Consent (Art 6(1)(a))",
    "contract": "Contract (Art 6(1)(b))",
}
# Article 9 conditions for special-category data. Some are met only with a condition of
# DPA 2018 Schedule 1 as well (s10: Art 9(2)(g) with a Part 2 condition, 9(2)(h) with
# para 2); explicit consent, vital interests and legal claims stand alone.
ART9_CONDITIONS = {
    "art9_2_g": "Art 9(2)(g) substantial public interest",
    "art9_2_h": "Art 9(2)(h) health or social care",
    "art9_2_c": "Art 9(2)(c) vital interests (the person cannot consent)",
    "art9_2_f": "Art 9(2)(f) legal claims or courts",
    "art9_2_a": "Art 9(2)(a) explicit consent",
}
SCH1_CONDITIONS = {
    "sch1_para18": "Sch 1 para 18: safeguarding of children and individuals at risk",
    "sch1_para6": "Sch 1 para 6: statutory and government purposes",
    "sch1_para10": "Sch 1 para 10: preventing or detecting unlawful acts",
    "sch1_para11": "Sch 1 para 11: protecting the public against dishonesty",
    "sch1_para17": "Sch 1 para 17: counselling",
    "sch1_para19": "Sch 1 para 19: safeguarding the economic well-being of individuals",
    "sch1_para2": "Sch 1 para 2: health or social care purposes",
    "sch1_para29": "Sch 1 para 29: consent",
    "sch1_para30": "Sch 1 para 30: protecting someone's vital interests",
    "sch1_para33": "Sch 1 para 33: legal claims",
}
# The Schedule 1 conditions each Article 9 condition needs one of (empty: none needed).
SCH1_FOR_ART9: dict[str, tuple[str, ...]] = {
    "art9_2_g": ("sch1_para18", "sch1_para6", "sch1_para10", "sch1_para11", "sch1_para17",
                 "sch1_para19"),
    "art9_2_h": ("sch1_para2",),
    "art9_2_c": (),
    "art9_2_f": (),
    "art9_2_a": (),
}
# Criminal offence data (Article 10, DPA 2018 s10(5)): a condition of Schedule 1 Parts 1-3.
ART10_CONDITIONS = {key: SCH1_CONDITIONS[key] for key in (
    "sch1_para18", "sch1_para10", "sch1_para6", "sch1_para2", "sch1_para11", "sch1_para17",
    "sch1_para19", "sch1_para29", "sch1_para30", "sch1_para33")}
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
    "statutory_duty": "Statutory duty",
    "court_order": "Court order",
    "public_interest": "Public interest (substantial)",
}
METHODS = {
    "secure_email": "Secure email",
    "phone": "Phone",
    "meeting": "Meeting",
    "letter": "Letter",
    "secure_portal": "Web portal (secure)",
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
FACT_OPINION = {"fact": "Fact", "opinion": "Opinion", "both": "Both fact and opinion"}
SUBJECT_KINDS = {
    SubjectKind.CHILD: "Child",
    SubjectKind.UNBORN: "Unborn child (pre-birth assessment)",
    SubjectKind.ADULT_AT_RISK: "Adult at risk",
    SubjectKind.OTHER: "Other",
}
SEVEN_TESTS = {
    "necessary": "Necessary",
    "proportionate": "Proportionate",
    "relevant": "Relevant",
    "adequate": "Adequate",
    "accurate": "Accurate",
    "timely": "Timely",
    "secure": "Secure",
}


# Special-category conditions as the form offers them: each Article 9 condition with the
# Schedule 1 condition it needs, so no one can pick a pair the law does not allow.
SPECIAL_CONDITION_CHOICES: dict[tuple[str, str], str] = {
    ("art9_2_g", "sch1_para18"):
        "Safeguarding of children and individuals at risk (Art 9(2)(g); Sch 1 para 18)",
    ("art9_2_g", "sch1_para6"): "Government and statutory purposes (Art 9(2)(g); Sch 1 para 6)",
    ("art9_2_g", "sch1_para10"):
        "Preventing or detecting unlawful acts (Art 9(2)(g); Sch 1 para 10)",
    ("art9_2_g", "sch1_para11"):
        "Dishonesty or malpractice: protecting the public (Art 9(2)(g); Sch 1 para 11)",
    ("art9_2_g", "sch1_para17"): "Counselling (Art 9(2)(g); Sch 1 para 17)",
    ("art9_2_g", "sch1_para19"):
        "Financial well-being of individuals at risk (Art 9(2)(g); Sch 1 para 19)",
    ("art9_2_h", "sch1_para2"): "Health or social care (Art 9(2)(h); Sch 1 para 2)",
    ("art9_2_c", ""): "Vital interests, when the person cannot consent (Art 9(2)(c))",
    ("art9_2_f", ""): "Legal claims or courts (Art 9(2)(f))",
    ("art9_2_a", ""): "Explicit consent (Art 9(2)(a))",
}

# The shape of a record's plain data. 1: until categories decided special-category data
# (a ``special_category`` tick-box, ``art9_condition`` keys that mixed Article 9 and
# Schedule 1, every judgement pre-answered). ``app.record_data`` upcasts older shapes.
RECORD_VERSION = 2


@dataclass
class Subject:
    name: str = ""
    date_of_birth: str = ""  # ISO date (expected date for an unborn child), or empty
    age_band: str = ""
    kind: str = ""  # a SubjectKind; "" until answered
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

    @property
    def short(self) -> str:
        """The organisation, else the person: how a headline names them."""
        return self.organisation or self.name


@dataclass
class DecisionRecord:
    """What the practitioner fills in. Team, owner and ids are set by the service.

    Nothing is answered for the practitioner: a yes/no judgement is ``None``, a choice
    is "" and a missing seven-tests key is a test not yet answered, until someone
    answers them (``app.validation`` refuses a record until each that applies is).
    """

    direction: str = Direction.DISCLOSURE.value
    subjects: list[Subject] = field(default_factory=list)
    counterparty: Counterparty = field(default_factory=Counterparty)
    # The decision flow, in the order practitioners are trained on.
    clear_purpose: bool | None = None
    identifies_person: bool | None = None
    confidential: bool | None = None
    information: str = ""  # what is (or would be) shared; for a request made, told in asking
    requested_information: str = ""  # requests: what was asked for
    categories: list[str] = field(default_factory=list)
    # Only on records from before categories decided it: what the old tick-box said.
    legacy_special_category: bool | None = None
    fact_or_opinion: str = ""
    purpose: str = ""
    decision: str = ""
    decided_at: str = ""  # ISO date-time, local naive (as the practitioner sees it)
    reasons: str = ""
    consent: str = ""
    consent_reason: str = ""
    without_consent_ground: str = ""
    lawful_basis: str = ""  # Art 6
    art9_condition: str = ""  # special-category data: the Article 9 condition
    sch1_condition: str = ""  # ... and the DPA 2018 Schedule 1 condition it needs
    art10_condition: str = ""  # criminal offence data: its Schedule 1 condition
    statutory_gateway: str = ""
    seven_tests: dict[str, bool] = field(default_factory=dict)
    method: str = ""
    shared_at: str = ""  # when it was shared (a request made: when we asked)
    person_informed: str = ""
    person_informed_reason: str = ""
    advice_sought: bool | None = None
    advice_from: str = ""
    advice_notes: str = ""
    third_party_identified: bool | None = None
    third_party_protection: str = ""

    def to_dict(self) -> dict[str, Any]:
        """The record as plain data: ``dataclasses.asdict`` and the shape's version, at a
        tenth of the cost."""
        data = dict(vars(self))
        data["subjects"] = [dict(vars(s)) for s in self.subjects]
        data["counterparty"] = dict(vars(self.counterparty))
        data["categories"] = list(self.categories)
        data["seven_tests"] = dict(self.seven_tests)
        data["record_version"] = RECORD_VERSION
        return data

    @classmethod
    def from_dict(cls, data: Any) -> DecisionRecord:
        """Stored or received plain data as a record, whatever its shape or age.

        Never raises: old shapes are upcast, and a value of the wrong type or with
        characters that cannot be stored is left unanswered. ``app.record_data.read_record``
        gives the same record with a list of what was wrong, to refuse it instead.
        """
        from app.record_data import read_record  # it builds records: imported late

        return read_record(data)[0]

    @property
    def is_share(self) -> bool:
        """Information goes out: a share, in full or in part (for a request made, asking)."""
        return self.decision in (Decision.SHARE, Decision.SHARE_PARTIAL)

    @property
    def special_categories(self) -> list[str]:
        """The special categories (UK GDPR Article 9) among the record's categories."""
        return [c for c in self.categories if c in SPECIAL_CATEGORIES]

    @property
    def is_special_category(self) -> bool:
        return bool(self.special_categories) or self.legacy_special_category is True

    @property
    def is_criminal_offence_data(self) -> bool:
        return any(c in CRIMINAL_OFFENCE_CATEGORIES for c in self.categories)

    @property
    def subjects_display(self) -> str:
        return "; ".join(s.name or s.case_ref for s in self.subjects if s.name or s.case_ref)

    @property
    def case_refs(self) -> str:
        return " ".join(s.case_ref for s in self.subjects if s.case_ref)


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
    # Its latest versions as shown: a change made from this view names them as the
    # versions its author saw (``parents``).
    heads: tuple[str, ...] = ()
    conflicts: tuple[str, ...] = ()  # fields changed differently by concurrent changes

    @property
    def in_conflict(self) -> bool:
        return bool(self.conflicts)

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
    # Whose records: None for every record held (a manager's Team), else these owners'
    # ids (Mine: every id of this person; one practitioner's).
    owners: tuple[str, ...] | None = None
    # Keyset paging: only rows after this (decided_at, record_id), in newest-first order.
    before: tuple[str, str] | None = None
    limit: int | None = None
