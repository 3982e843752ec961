"""A record in words: what happened, and every field as the practitioner answered it.

One place for the words the detail pane, the decisions list, the history and the PDF
show, so they never disagree: ``headline`` says what happened ("Decided not to share",
"Asked Hillview Primary School"), ``record_sections`` gives every field as plain-text
rows (the callers escape them), ``value_words`` and ``changes`` the history's words.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from PySide6.QtCore import QCoreApplication

from app import model as m
from app.model import Decision, DecisionRecord, Direction
from app.validation import applies, days_late
from ui.widgets.dates import format_when

CONTEXT = "RecordWords"

Rows = list[tuple[str, str]]


def _t(text: str) -> str:
    return QCoreApplication.translate(CONTEXT, text)


def word(labels: dict[Any, str], key: str) -> str:
    """A stored choice in the words the practitioner saw (the key if unknown)."""
    if not key:
        return ""
    return QCoreApplication.translate("model", labels.get(key, key))


def yes_no(value: bool | None) -> str:
    if value is None:
        return _t("Not answered")
    return _t("Yes") if value else _t("No")


# -- what happened -------------------------------------------------------------------
_HEADLINES: dict[tuple[str, str], tuple[str, str]] = {
    # (direction, decision): (with whom, without a name)
    (Direction.DISCLOSURE, Decision.SHARE): ("Shared with %1", "Shared"),
    (Direction.DISCLOSURE, Decision.SHARE_PARTIAL): ("Shared in part with %1", "Shared in part"),
    (Direction.DISCLOSURE, Decision.NOT_SHARE): ("Decided not to share with %1",
                                                 "Decided not to share"),
    (Direction.REQUEST_MADE, Decision.SHARE): ("Asked %1", "Asked another agency"),
    (Direction.REQUEST_MADE, Decision.SHARE_PARTIAL): (
        "Asked %1, sharing only part", "Asked another agency, sharing only part"),
    (Direction.REQUEST_MADE, Decision.NOT_SHARE): ("Decided not to ask %1",
                                                   "Decided not to ask"),
    (Direction.REQUEST_RECEIVED, Decision.SHARE): ("Request from %1: shared",
                                                   "Request received: shared"),
    (Direction.REQUEST_RECEIVED, Decision.SHARE_PARTIAL): (
        "Request from %1: shared in part", "Request received: shared in part"),
    (Direction.REQUEST_RECEIVED, Decision.NOT_SHARE): ("Request from %1: not shared",
                                                       "Request received: not shared"),
}


def headline(record: DecisionRecord) -> str:
    """What happened, in one line: the pane's title, the PDF's heading for a record."""
    words = _HEADLINES.get((record.direction, record.decision))
    if words is None:
        return _t("Decision not recorded")
    who = record.counterparty.short
    return _t(words[0]).replace("%1", who) if who else _t(words[1])


_KIND_WORDS = {
    Direction.DISCLOSURE.value: "Share decision",
    Direction.REQUEST_RECEIVED.value: "Request received",
    Direction.REQUEST_MADE.value: "Request made",
}
_DECISION_WORDS = {
    Decision.SHARE.value: ("Shared", "Asked"),
    Decision.SHARE_PARTIAL.value: ("Part shared", "Asked (part)"),
    Decision.NOT_SHARE.value: ("Not shared", "Not asked"),
}


def direction_words(direction: str) -> str:
    """The kind of record, for the list's Type column."""
    return _t(_KIND_WORDS[direction]) if direction in _KIND_WORDS else direction


def decision_words(direction: str, decision: str) -> str:
    """What was decided, for the list's Decision column ("Not shared", "Asked")."""
    if decision not in _DECISION_WORDS:
        return decision or _t("Not recorded")
    share, ask = _DECISION_WORDS[decision]
    return _t(ask if direction == Direction.REQUEST_MADE else share)


def longest_column_words() -> dict[str, list[str]]:
    """The longest words each of those columns shows (the list sizes its columns by them)."""
    return {"direction": [direction_words(d) for d in _KIND_WORDS],
            "decision": [_t(w) for pair in _DECISION_WORDS.values() for w in pair]}


# -- every field -------------------------------------------------------------------------
def subject_words(s: m.Subject) -> str:
    parts = [s.name]
    if s.date_of_birth:
        label = _t("due %1") if s.kind == m.SubjectKind.UNBORN else _t("born %1")
        parts.append(label.replace("%1", format_when(s.date_of_birth)))
    elif s.age_band:
        parts.append(_t("age %1").replace("%1", s.age_band))
    parts.append(word(m.SUBJECT_KINDS, s.kind).lower() if s.kind else _t("kind not recorded"))
    if s.case_ref:
        parts.append(_t("case %1").replace("%1", s.case_ref))
    return ", ".join(p for p in parts if p)


def _category_names(keys: list[str]) -> str:
    return ", ".join(word(m.CATEGORIES, c).split(" (")[0].lower() for c in keys)


def special_category_words(record: DecisionRecord) -> str:
    """Whether it is special-category data, from the categories; an old tick-box's answer
    is shown beside it when the two disagree."""
    if record.special_categories:
        text = _t("Yes: %1").replace("%1", _category_names(record.special_categories))
        if record.legacy_special_category is False:
            text += " " + _t("(an earlier version of Sharelog recorded “No”)")
        return text
    if record.legacy_special_category:
        return _t("Yes (recorded so by an earlier version of Sharelog; which kind was not "
                  "recorded)")
    return _t("No")


def _tests_words(tests: dict[str, bool]) -> str:
    if all(tests.get(k) is True for k in m.SEVEN_TESTS):
        return _t("All seven met")
    return ", ".join(f"{word(m.SEVEN_TESTS, k)}: {yes_no(tests.get(k)).lower()}"
                     for k in m.SEVEN_TESTS)


def _recorded(value: str, asked: bool) -> str:
    """A choice as recorded; 'Not recorded' where it applied and is missing (old records)."""
    return value or (_t("Not recorded") if asked else "")


def _answer(value: bool | None, asked: bool) -> str:
    return yes_no(value) if (value is not None or asked) else ""


def _written_words(record: DecisionRecord, written_at: str) -> str:
    if not written_at:
        return ""
    text = format_when(written_at[:16])
    try:
        late = days_late(record.decided_at, dt.datetime.fromisoformat(written_at))
    except ValueError:
        return text
    if late == 1:
        return text + " " + _t("(1 day after the decision)")
    if late > 1:
        return text + " " + _t("(%1 days after the decision)").replace("%1", f"{late:,}")
    return text


def record_sections(record: DecisionRecord, written_at: str = "") -> list[tuple[str, Rows]]:
    """Every field of a record as (section title, [(label, plain text)]); empty rows left out.

    ``written_at`` is when this version was written (its event's clock): shown beside when
    the decision was made, so a record written late says so. An answer to a question that
    does not apply to this decision (an older version asked a decision not to share for a
    ground to share) is kept, in a last section that says it was not needed.
    """
    ask = applies(record)
    sharing = record.is_share
    request_made = record.direction == Direction.REQUEST_MADE
    received = record.direction == Direction.REQUEST_RECEIVED
    cp = record.counterparty
    if request_made:
        with_label = _t("Asked") if sharing else _t("Would have asked")
        what_label = _t("What they were told in asking")
        how_title, how, when = _t("How they were asked"), _t("Method"), _t("When asked")
    else:
        with_label = (_t("Asked by") if received else _t("Shared with") if sharing
                      else _t("Would have been shared with"))
        what_label = _t("What was shared") if sharing else _t("What would have been shared")
        how_title, how, when = _t("How it was shared"), _t("Method"), _t("When shared")
    sch1_asked = ask["art9_condition"] and bool(m.SCH1_FOR_ART9.get(record.art9_condition,
                                                                     ("?",)))
    # (label, words, the question it answers when that question may not apply)
    sections: list[tuple[str, list[tuple[str, str, str | None]]]] = [
        (_t("About"), [(_t("Person") if len(record.subjects) < 2 else _t("People"),
                        "\n".join(subject_words(s) for s in record.subjects), None)]),
        (_t("Decision"), [
            (_t("Decision"), headline(record), None),
            (_t("Kind of record"), word(m.DIRECTION_LABELS, record.direction), None),
            (_t("Decided"), format_when(record.decided_at), None),
            (_t("Written"), _written_words(record, written_at), None),
            (_t("Reasons"), record.reasons, None),
        ]),
        (_t("With"), [(with_label, cp.display, None), (_t("Contact"), cp.contact, None)]),
        (_t("The questions"), [
            (_t("Clear, legitimate purpose"), yes_no(record.clear_purpose), None),
            (_t("Identifies a person"),
             _answer(record.identifies_person, ask["identifies_person"]), "identifies_person"),
            (_t("Confidential"), _answer(record.confidential, ask["confidential"]),
             "confidential"),
        ]),
        (_t("Information"), [
            (_t("What was asked for"), record.requested_information, "requested_information"),
            (what_label, record.information, None),
            (_t("Categories"), ", ".join(word(m.CATEGORIES, c) for c in record.categories),
             None),
            (_t("Special-category data"), special_category_words(record), None),
            (_t("Criminal offence data"), _t("Yes") if record.is_criminal_offence_data else "",
             None),
            (_t("Fact or opinion"), word(m.FACT_OPINION, record.fact_or_opinion), None),
            (_t("Purpose"), record.purpose, None),
        ]),
        (_t("Consent"), [
            (_t("Consent"), _recorded(word(m.CONSENT_LABELS, record.consent), ask["consent"]),
             "consent"),
            (_t("Why not"), word(m.CONSENT_REASONS, record.consent_reason), "consent_reason"),
            (_t("Ground to share without it"),
             word(m.WITHOUT_CONSENT_GROUNDS, record.without_consent_ground),
             "without_consent_ground"),
        ]),
        (_t("Lawful basis"), [
            (_t("UK GDPR Article 6"), word(m.ART6_BASES, record.lawful_basis), "lawful_basis"),
            (_t("Article 9 condition"), _recorded(word(m.ART9_CONDITIONS, record.art9_condition),
                                                  ask["art9_condition"]), "art9_condition"),
            (_t("DPA 2018 Schedule 1 condition"),
             _recorded(word(m.SCH1_CONDITIONS, record.sch1_condition), sch1_asked),
             "art9_condition"),
            (_t("Criminal offence data condition (Article 10)"),
             _recorded(word(m.SCH1_CONDITIONS, record.art10_condition),
                       ask["art10_condition"]), "art10_condition"),
            (_t("Statutory gateway"), word(m.STATUTORY_GATEWAYS, record.statutory_gateway),
             "statutory_gateway"),
        ]),
        (_t("The seven tests"), [(_t("Tests"), _tests_words(record.seven_tests)
                                  if ask["seven_tests"] or record.seven_tests else "",
                                  "seven_tests")]),
        (how_title, [
            (how, word(m.METHODS, record.method), "method"),
            (when, format_when(record.shared_at), "shared_at"),
        ]),
        (_t("Telling the person"), [
            (_t("Person informed"), word(m.PERSON_INFORMED, record.person_informed),
             "person_informed"),
            (_t("Why not told"), record.person_informed_reason, "person_informed_reason"),
        ]),
        (_t("Others protected"), [
            (_t("Identifies someone else"),
             _answer(record.third_party_identified, ask["third_party_identified"]),
             "third_party_identified"),
            (_t("What was withheld"), record.third_party_protection, "third_party_protection"),
        ]),
        (_t("Advice"), [
            (_t("Advice sought"), yes_no(record.advice_sought), None),
            (_t("From"), word(m.ADVICE_FROM, record.advice_from), "advice_from"),
            (_t("Notes"), record.advice_notes, "advice_notes"),
        ]),
    ]
    out: list[tuple[str, Rows]] = []
    not_needed: Rows = []
    for title, rows in sections:
        shown: Rows = []
        for label, value, question in rows:
            if not value:
                continue
            if question is not None and not ask[question]:
                not_needed.append((label, value))
            else:
                shown.append((label, value))
        if shown:
            out.append((title, shown))
    if not_needed:
        out.append((not_needed_title(), not_needed))
    return out


def not_needed_title() -> str:
    return _t("Also recorded, though this decision did not need it")


def record_rows(record: DecisionRecord, written_at: str = "") -> Rows:
    """The same, one flat list (the PDF's table); a row the decision did not need says so."""
    out: Rows = []
    for title, rows in record_sections(record, written_at):
        extra = f" ({_t('not needed for this decision')})" if title == not_needed_title() else ""
        out.extend((label + extra, value) for label, value in rows)
    return out


# -- the history's words ----------------------------------------------------------------
FIELD_WORDS = {
    "direction": "Kind of record", "subjects": "People", "counterparty": "With",
    "clear_purpose": "Purpose question", "identifies_person": "Identifies a person",
    "confidential": "Confidential", "information": "Information",
    "requested_information": "What was asked for", "categories": "Categories",
    "legacy_special_category": "Special category (earlier version)",
    "fact_or_opinion": "Fact or opinion", "purpose": "Purpose", "decision": "Decision",
    "decided_at": "Decided", "reasons": "Reasons", "consent": "Consent",
    "consent_reason": "Why no consent", "without_consent_ground": "Ground without consent",
    "lawful_basis": "Article 6", "art9_condition": "Article 9",
    "sch1_condition": "Schedule 1 condition", "art10_condition": "Criminal offence condition",
    "statutory_gateway": "Statutory gateway", "seven_tests": "Seven tests", "method": "Method",
    "shared_at": "When shared", "person_informed": "Person informed",
    "person_informed_reason": "Why not informed", "advice_sought": "Advice",
    "advice_from": "Advice from", "advice_notes": "Advice notes",
    "third_party_identified": "Someone else identified",
    "third_party_protection": "What was withheld",
}
_CHOICE_WORDS: dict[str, dict[Any, str]] = {
    "direction": m.DIRECTION_LABELS, "fact_or_opinion": m.FACT_OPINION,
    "decision": m.DECISION_LABELS, "consent": m.CONSENT_LABELS,
    "consent_reason": m.CONSENT_REASONS, "without_consent_ground": m.WITHOUT_CONSENT_GROUNDS,
    "lawful_basis": m.ART6_BASES, "art9_condition": m.ART9_CONDITIONS,
    "sch1_condition": m.SCH1_CONDITIONS, "art10_condition": m.SCH1_CONDITIONS,
    "statutory_gateway": m.STATUTORY_GATEWAYS, "method": m.METHODS,
    "person_informed": m.PERSON_INFORMED, "advice_from": m.ADVICE_FROM,
}
_YES_NO = frozenset({"clear_purpose", "identifies_person", "confidential", "advice_sought",
                     "third_party_identified", "legacy_special_category"})
_LONGEST_VALUE = 80  # characters of a changed value shown in the history


def value_words(record: DecisionRecord, key: str) -> str:
    """One field of a record as a short line of words (for the history's changes)."""
    value: Any = getattr(record, key, "")
    if key == "subjects":
        text = "; ".join(s.name or s.case_ref for s in value)
    elif key == "counterparty":
        text = value.display
    elif key == "categories":
        text = ", ".join(word(m.CATEGORIES, c) for c in value)
    elif key == "seven_tests":
        text = _t("%1 of %2 met").replace(
            "%1", str(sum(1 for k in m.SEVEN_TESTS if value.get(k) is True))).replace(
            "%2", str(len(m.SEVEN_TESTS)))
    elif key in _YES_NO:
        text = yes_no(value)
    elif key in ("decided_at", "shared_at"):
        text = format_when(value)
    elif key in _CHOICE_WORDS:
        text = word(_CHOICE_WORDS[key], value)
    else:
        text = " ".join(str(value).split())
    if len(text) > _LONGEST_VALUE:
        text = text[:_LONGEST_VALUE - 1].rstrip() + "…"
    return text or _t("(none)")


def changes(before: DecisionRecord | None,
            after: DecisionRecord | None) -> list[tuple[str, str, str]]:
    """(field, old words, new words) for every field a correction changed."""
    if before is None or after is None:
        return []
    old, new = before.to_dict(), after.to_dict()
    return [(_t(FIELD_WORDS.get(k, k)), value_words(before, k), value_words(after, k))
            for k in new if k in FIELD_WORDS and old.get(k) != new.get(k)]
