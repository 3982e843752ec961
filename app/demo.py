"""Made-up records for demos, screenshots and benchmarks. Every name is fictional."""

from __future__ import annotations

import datetime as dt
import random

from app.model import (
    ART6_BASES,
    CONSENT_REASONS,
    METHODS,
    SEVEN_TESTS,
    SPECIAL_CONDITION_CHOICES,
    STATUTORY_GATEWAYS,
    Consent,
    Counterparty,
    Decision,
    DecisionRecord,
    Direction,
    Subject,
)
from app.service import Sharelog

FIRST = ("Amara Ben Chloe Daniel Ellie Farah George Hana Isaac Jade Kai Leah Mason Nia Oscar "
         "Priya Quinn Ruby Sami Tara Umar Violet Wes Yasmin Zac").split()
LAST = ("Adeyemi Brown Campbell Davies Evans Fisher Green Hughes Iqbal Jones Khan Lewis Morgan "
        "Nowak Owen Patel Roberts Singh Taylor Walker Wilson Young").split()
ORGS = [
    ("Dr R. Mensah", "GP", "Riverside Medical Centre"),
    ("K. Osei", "Designated safeguarding lead", "Hillview Primary School"),
    ("PC L. Hart", "Officer", "Police Public Protection Unit"),
    ("J. Moreno", "Health visitor", "Community Health Trust"),
    ("S. Clarke", "Housing officer", "Borough Housing Services"),
    ("MASH duty desk", "Duty social worker", "Multi-Agency Safeguarding Hub"),
    ("A. Nkemelu", "Midwife", "City Hospital Maternity"),
    ("T. Barnes", "Probation officer", "Probation Service"),
    ("R. Haddad", "Adult social care worker", "Adult Social Care"),
    ("M. Ferreira", "CAMHS practitioner", "Child and Adolescent Mental Health Services"),
]
CONCERNS = [
    "concerns about neglect raised at a home visit: little food in the house and the children "
    "were unwashed",
    "a disclosure at school of physical chastisement by a parent's partner",
    "missed health appointments and weight loss noted by the health visitor",
    "domestic abuse incident reported by police overnight, children present",
    "an adult with care and support needs reports financial exploitation by a lodger",
    "repeated school absence and a sibling's disclosure of being left alone at night",
    "mother's mental health deteriorating; she has stopped taking medication",
    "housing disrepair with damp and overcrowding affecting a baby's breathing",
]
INFO = [
    "Summary of home visit observations on condition of the home and the children's presentation",
    "Dates of missed appointments and current weight centile",
    "Outline of the disclosure made to the class teacher, in the child's words",
    "Police incident summary and the names of the children present",
    "Bank statements showing withdrawals the person did not recognise",
    "Attendance record for this term and the school's actions so far",
    "Current medication and the date of the last psychiatric review",
    "Photographs of damp in the children's bedroom and the landlord's response",
]
REASONS = [
    "Sharing is necessary to protect the child from significant harm and supports the s47 "
    "enquiry; only the relevant observations are shared.",
    "The GP holds information relevant to the assessment; the request is proportionate.",
    "Seeking agreement would place the child at increased risk; the risk outweighs the duty of "
    "confidence.",
    "The recipient does not need this information for their purpose, so it is not shared.",
    "The person agreed to the share after we discussed it; the housing officer needs it to act.",
]


REQUESTED = [
    "Whether the family is known to the practice and any recent attendances",
    "Attendance and any concerns the school has recorded this term",
    "Police call-outs to the address in the last twelve months",
    "Whether the person has care and support needs known to adult social care",
]
CATEGORY_POOL = ["health", "family", "education", "housing", "criminal", "whereabouts",
                 "finances", "social_care"]
SPECIAL_CONDITIONS = list(SPECIAL_CONDITION_CHOICES)


def fake_record(rng: random.Random, decided: dt.datetime) -> DecisionRecord:
    """A record that passes ``app.validation`` as of ``decided`` (or any later time)."""
    direction = rng.choices(list(Direction), weights=(6, 2, 2))[0]
    decision = rng.choices(list(Decision), weights=(6, 2, 2))[0]
    consent = rng.choices(list(Consent), weights=(4, 2, 4))[0]
    n_subjects = rng.choices((1, 2, 3), weights=(6, 3, 1))[0]
    surname = rng.choice(LAST)
    subjects = []
    for _ in range(n_subjects):
        child = rng.random() < 0.8
        age_days = rng.randint(30, 17 * 365) if child else rng.randint(19 * 365, 90 * 365)
        dob = decided.date() - dt.timedelta(days=age_days)
        subjects.append(Subject(
            name=f"{rng.choice(FIRST)} {surname}",
            date_of_birth=dob.isoformat(),
            kind="child" if child else "adult_at_risk",
            case_ref=f"C{rng.randint(100000, 999999)}",
        ))
    name, role, org = rng.choice(ORGS)
    record = DecisionRecord(
        direction=direction.value,
        subjects=subjects,
        counterparty=Counterparty(name=name, role=role, organisation=org,
                                  contact=f"{name.split()[-1].lower()}@example.org"),
        clear_purpose=True,
        identifies_person=True,
        confidential=rng.random() < 0.9,
        information=rng.choice(INFO),
        categories=rng.sample(CATEGORY_POOL, k=rng.randint(1, 3)),
        fact_or_opinion=rng.choice(("fact", "opinion", "both")),
        purpose=rng.choice(CONCERNS),
        decision=decision.value,
        decided_at=decided.isoformat(timespec="minutes"),
        reasons=rng.choice(REASONS),
        consent=consent.value,
        advice_sought=False,
    )
    if direction != Direction.DISCLOSURE:
        record.requested_information = rng.choice(REQUESTED)
    if record.is_share:
        _fill_share(rng, record)
    if rng.random() < 0.2:
        record.advice_sought = True
        record.advice_from = rng.choice(["manager", "dpo", "caldicott"])
    return record


def _fill_share(rng: random.Random, record: DecisionRecord) -> None:
    """What a share needs: a lawful basis, conditions, method and the seven tests."""
    if record.consent != Consent.GIVEN:
        record.consent_reason = rng.choice(list(CONSENT_REASONS))
        record.lawful_basis = rng.choice(["public_task", "legal_obligation", "vital_interests"])
        if record.direction != Direction.REQUEST_MADE:
            record.without_consent_ground = rng.choice(
                ["risk_of_harm", "statutory_duty", "public_interest"])
        record.statutory_gateway = rng.choice(list(STATUTORY_GATEWAYS)[1:])
    else:
        record.lawful_basis = rng.choice(list(ART6_BASES))
    if record.is_special_category:
        # Mostly the safeguarding condition, as in practice.
        pair = SPECIAL_CONDITIONS[0] if rng.random() < 0.7 else rng.choice(SPECIAL_CONDITIONS)
        record.art9_condition, record.sch1_condition = pair
    if record.is_criminal_offence_data:
        record.art10_condition = rng.choice(["sch1_para18", "sch1_para10"])
    record.seven_tests = {k: True for k in SEVEN_TESTS}
    record.method = rng.choice(list(METHODS))
    record.shared_at = record.decided_at
    record.person_informed = rng.choice(("yes", "no", "not_yet"))
    if record.person_informed == "no":
        record.person_informed_reason = "Telling the family would increase the risk to the child."
    record.third_party_identified = rng.random() < 0.15
    if record.third_party_identified:
        record.third_party_protection = "The referrer's name and contact details were removed."


def seed(service: Sharelog, count: int, *, seed_value: int = 7, days_back: int = 90,
         batch: int = 1000, end: dt.datetime | None = None) -> list[str]:
    """Record ``count`` fictional decisions through the real services."""
    rng = random.Random(seed_value)
    end = end or dt.datetime.now().replace(second=0, microsecond=0)
    ids: list[str] = []
    done = 0
    while done < count:
        n = min(batch, count - done)
        with service.bulk() as writer:
            for _ in range(n):
                when = end - dt.timedelta(minutes=rng.randint(0, days_back * 24 * 60))
                ids.append(writer.record_decision(fake_record(rng, when), validated=False))
        done += n
    return ids
