"""A record's plain data at the boundary of ``app/``: old shapes upcast, every value checked.

Whatever the data came from (the form, a draft, an import, an event pulled from the
team's store), ``read_record`` turns it into a ``DecisionRecord`` of the right types and
lists every value it could not take: a wrong type, ``None`` where text belongs, a
string "false" where a yes/no belongs, characters that cannot be stored (a lone
surrogate, a control character), a text over its length limit. It never raises, and
its messages never quote the values. ``check_record`` does the same for a record
built in Python, whose attributes may hold anything.

Old shapes are upcast here and only here (events are immutable, so a record is read
in the shape it was written in): version 1 had a ``special_category`` tick-box that
could disagree with the categories, and ``art9_condition`` keys that named a
Schedule 1 paragraph.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from app.model import (
    CATEGORIES,
    RECORD_VERSION,
    SEVEN_TESTS,
    Counterparty,
    DecisionRecord,
    Direction,
    Subject,
)
from app.problems import Problem

# Every text a person types, with its limit in characters and its name in a message.
# Limits are generous for what each holds and keep a bad paste from making a record
# nobody can open (a 50 MB name was once accepted and copied into every list row).
TEXT_FIELDS: dict[str, tuple[int, str]] = {
    "information": (20_000, "The description of the information"),
    "requested_information": (5_000, "What was asked for"),
    "purpose": (5_000, "The purpose"),
    "reasons": (20_000, "Your reasons"),
    "advice_notes": (2_000, "The advice notes"),
    "person_informed_reason": (2_000, "Why the person was not told"),
    "third_party_protection": (5_000, "What was withheld or redacted"),
}
CHOICE_FIELDS: dict[str, str] = {
    "direction": "The kind of record",
    "fact_or_opinion": "Fact or opinion",
    "decision": "The decision",
    "consent": "Consent",
    "consent_reason": "Why consent was not given",
    "without_consent_ground": "The ground for sharing without consent",
    "lawful_basis": "The lawful basis",
    "art9_condition": "The Article 9 condition",
    "sch1_condition": "The Schedule 1 condition",
    "art10_condition": "The criminal offence data condition",
    "statutory_gateway": "The statutory gateway",
    "method": "How it was shared",
    "person_informed": "Whether the person was told",
    "advice_from": "Whom you sought advice from",
}
DATE_TIME_FIELDS: dict[str, str] = {
    "decided_at": "The date and time of the decision",
    "shared_at": "When it was shared",
}
YES_NO_FIELDS: dict[str, str] = {
    "clear_purpose": "Is there a clear and legitimate purpose?",
    "identifies_person": "Does the information identify a person?",
    "confidential": "Is it confidential?",
    "advice_sought": "Did you seek advice?",
    "third_party_identified": "Does it identify someone else who could come to harm?",
    "legacy_special_category": "Special-category data (as an earlier version recorded it)",
}
SUBJECT_FIELDS: dict[str, tuple[int, str]] = {
    "name": (200, "name"),
    "date_of_birth": (32, "date of birth"),
    "age_band": (30, "age band"),
    "kind": (32, "kind of person"),
    "case_ref": (50, "case reference"),
}
COUNTERPARTY_FIELDS: dict[str, tuple[int, str]] = {
    "name": (200, "name"),
    "role": (200, "role"),
    "organisation": (200, "organisation"),
    "contact": (300, "contact details"),
}
CHOICE_LIMIT = 64  # a stored key, never typed text
MAX_SUBJECTS = 50
WORDS_PER_CHARACTER = 1 / 6.5  # English prose, spaces included: for "about N words"

_ALLOWED_CONTROLS = frozenset("\t\n\r")
_MISSING = object()

# Version 1 ``art9_condition`` keys. The two halves the law pairs are both named, because
# each old key determined them (DPA 2018 s10: a Part 2 paragraph goes with Art 9(2)(g),
# and Art 9(2)(h) is met only with para 2).
_V1_ART9 = {
    "dpa_sch1_para18": ("art9_2_g", "sch1_para18"),
    "dpa_sch1_para6": ("art9_2_g", "sch1_para6"),
    "dpa_sch1_para10": ("art9_2_g", "sch1_para10"),
    "art9_2_c": ("art9_2_c", ""),
    "art9_2_h": ("art9_2_h", "sch1_para2"),
    "art9_2_f": ("art9_2_f", ""),
    "explicit_consent": ("art9_2_a", ""),
}


def upcast(data: dict[str, Any]) -> dict[str, Any]:
    """Plain data of any earlier shape in the current one (the input is never changed; data
    already in the current shape is returned as it is)."""
    version = data.get("record_version", 1)
    if type(version) is int and version >= RECORD_VERSION:
        return data
    out = dict(data)
    # Version 1: the tick-box is kept as what it said, not as what the categories say.
    flag = out.pop("special_category", None)
    out["legacy_special_category"] = flag if type(flag) is bool else None
    old = out.get("art9_condition")
    if isinstance(old, str) and old in _V1_ART9:
        out["art9_condition"], out["sch1_condition"] = _V1_ART9[old]
    out["record_version"] = RECORD_VERSION
    return out


def read_record(data: Any) -> tuple[DecisionRecord, list[Problem]]:
    """Any plain data as a record of the right types, and every value it could not take."""
    problems: list[Problem] = []
    if not isinstance(data, dict):
        return DecisionRecord(), [Problem("record", "The record could not be read.")]
    return _read(upcast(data), problems.append), problems


def check_record(record: Any) -> tuple[DecisionRecord, list[Problem]]:
    """A record built in code, checked like plain data: a clean copy and its problems."""
    if not isinstance(record, DecisionRecord):
        return DecisionRecord(), [Problem("record", "The record could not be read.")]
    raw = {f.name: getattr(record, f.name) for f in dataclasses.fields(DecisionRecord)}
    problems: list[Problem] = []
    return _read(raw, problems.append), problems


def text_problems(value: Any, name: str, limit: int, what: str) -> list[Problem]:
    """What is wrong with one typed text (a reason, an outcome): type, characters, length."""
    problems: list[Problem] = []
    _text(value, name, limit, what, problems.append)
    return problems


# -- reading -----------------------------------------------------------------------
Report = Callable[[Problem], None]


def _get(source: Any, name: str) -> Any:
    if isinstance(source, dict):
        return source.get(name, _MISSING)
    return getattr(source, name, _MISSING)


# (field, limit, what it is in a message, is it a stored choice) for every plain string
_STRINGS = tuple(
    [(name, limit, what, False) for name, (limit, what) in TEXT_FIELDS.items()]
    + [(name, CHOICE_LIMIT, what, True)
       for name, what in {**CHOICE_FIELDS, **DATE_TIME_FIELDS}.items()])


def _read(data: dict[str, Any], report: Report) -> DecisionRecord:
    values: dict[str, Any] = {}
    for name, limit, what, choice in _STRINGS:
        value = data.get(name, "")
        # Most values are fine: check them without a call (records are read by the thousand).
        if type(value) is str and len(value) <= limit and (value.isprintable() or value == ""):
            values[name] = value
        else:
            values[name] = _text(value, name, limit, what, report, choice=choice)
    if not values["direction"]:
        values["direction"] = Direction.DISCLOSURE.value
    for name, question in YES_NO_FIELDS.items():
        value = data.get(name)
        values[name] = value if value is None or type(value) is bool else _yes_no(
            value, name, question, report)
    values["categories"] = _categories(data.get("categories", _MISSING), report)
    values["seven_tests"] = _seven_tests(data.get("seven_tests", _MISSING), report)
    values["subjects"] = _subjects(data.get("subjects", _MISSING), report)
    values["counterparty"] = _counterparty(data.get("counterparty", _MISSING), report)
    return DecisionRecord(**values)


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def _text(value: Any, name: str, limit: int, what: str, report: Report, *,
          choice: bool = False) -> str:
    if value is _MISSING or value is None:
        return ""
    if not isinstance(value, str):
        report(Problem(name, f"{_capital(what)}: choose an answer from the list."
                       if choice else f"{_capital(what)} could not be read: it should be text."))
        return ""
    text = value
    if not _storable(text):
        report(Problem(name, f"{_capital(what)} contains characters that cannot be saved "
                             "(often from a paste): type that part again."))
        text = _make_storable(text)
    if len(text) > limit:
        if choice:
            report(Problem(name, f"{_capital(what)}: choose an answer from the list."))
        else:
            report(Problem(name, too_long(what, limit)))
    return text


def too_long(what: str, limit: int) -> str:
    """The message for a text over its limit, in characters and (when long) words."""
    if limit >= 1000:
        words = round(limit * WORDS_PER_CHARACTER, -2)
        return (f"{_capital(what)} must be under {limit:,} characters "
                f"(about {words:,.0f} words).")
    return f"{_capital(what)} must be under {limit:,} characters."


def _unstorable(char: str) -> bool:
    """A lone surrogate (not Unicode; UTF-8 cannot hold it) or a control character other
    than tab and line breaks: what a bad paste or a damaged file brings in."""
    code = ord(char)
    return ((code < 0x20 and char not in _ALLOWED_CONTROLS) or 0x7F <= code < 0xA0
            or 0xD800 <= code < 0xE000)


def _storable(text: str) -> bool:
    return text.isprintable() or not any(_unstorable(c) for c in text)


def _make_storable(text: str) -> str:
    return "".join("\ufffd" if _unstorable(c) else c for c in text)


def _yes_no(value: Any, name: str, question: str, report: Report) -> bool | None:
    if value is _MISSING or value is None:
        return None
    if type(value) is bool:
        return value
    report(Problem(name, f"The answer to “{question}” should be yes, no or not answered."))
    return None


def _categories(value: Any, report: Report) -> list[str]:
    if value is _MISSING or value is None:
        return []
    if not isinstance(value, list | tuple):
        report(Problem("categories", "The categories could not be read."))
        return []
    out: list[str] = []
    unknown = False
    for item in value:
        if not isinstance(item, str) or len(item) > CHOICE_LIMIT or not _storable(item):
            unknown = True
            continue
        if item not in CATEGORIES:
            unknown = True
        if item not in out:
            out.append(item)
    if unknown:
        report(Problem("categories", "Choose categories from the list."))
    return out


def _seven_tests(value: Any, report: Report) -> dict[str, bool]:
    if value is _MISSING or value is None:
        return {}
    problem = Problem("seven_tests", "The answers to the seven tests could not be read.")
    if not isinstance(value, dict):
        report(problem)
        return {}
    out: dict[str, bool] = {}
    bad = False
    for key, answer in value.items():
        if key not in SEVEN_TESTS or not (answer is None or type(answer) is bool):
            bad = True
        elif answer is not None:  # None: not answered, the same as no key
            out[key] = answer
    if bad:
        report(problem)
    return {k: out[k] for k in SEVEN_TESTS if k in out}


def _subjects(value: Any, report: Report) -> list[Subject]:
    if value is _MISSING or value is None:
        return []
    if not isinstance(value, list | tuple):
        report(Problem("subjects", "The people the information is about could not be read."))
        return []
    if len(value) > MAX_SUBJECTS:
        report(Problem("subjects", f"Record at most {MAX_SUBJECTS} people on one decision."))
    out = []
    for i, item in enumerate(value):
        if not isinstance(item, dict | Subject):
            report(Problem(f"subjects.{i}", f"Person {i + 1} could not be read."))
            continue
        fields = {}
        for key, (limit, what) in SUBJECT_FIELDS.items():
            fields[key] = _text(_get(item, key), f"subjects.{i}.{key}", limit,
                                f"person {i + 1}’s {what}", report)
        out.append(Subject(**fields))
    return out


def _counterparty(value: Any, report: Report) -> Counterparty:
    if value is _MISSING or value is None:
        return Counterparty()
    if not isinstance(value, dict | Counterparty):
        report(Problem("counterparty", "Whom it is with could not be read."))
        return Counterparty()
    fields = {}
    for key, (limit, what) in COUNTERPARTY_FIELDS.items():
        fields[key] = _text(_get(value, key), f"counterparty.{key}", limit,
                            f"the {what} of whom it is with", report)
    return Counterparty(**fields)
