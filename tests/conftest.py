"""Every test gets its own data directory and, when it asks, a fresh real vault."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.stores import pg_cluster, pg_template  # noqa: F401 - one cluster for every folder

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

PASSPHRASE = "correct horse battery staple"


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    base = tmp_path / "sharelog-home"
    base.mkdir()
    monkeypatch.setenv("SHARELOG_HOME", str(base))
    return base


@pytest.fixture
def service(home: Path) -> Iterator[object]:
    from app import session

    svc = session.create_vault("Sam Worker", PASSPHRASE, base=home)
    yield svc
    if not svc.is_locked:
        svc.lock()


def make_share(**changes: object) -> object:
    """A valid share decision, every question that applies answered; tests change what
    they need."""
    from app.model import SEVEN_TESTS, Counterparty, DecisionRecord, Subject

    record = DecisionRecord(
        direction="disclosure",
        subjects=[Subject(name="Alice Example", date_of_birth="2016-04-02", kind="child",
                          case_ref="C100200")],
        counterparty=Counterparty(name="Dr R. Mensah", role="GP",
                                  organisation="Riverside Medical Centre"),
        clear_purpose=True,
        identifies_person=True,
        confidential=True,
        information="Observations from the home visit on 3 November",
        categories=["health", "family"],
        fact_or_opinion="fact",
        purpose="Child protection enquiry under s47",
        decision="share",
        decided_at="2026-11-02T10:30",
        reasons="Sharing is needed to protect the child from significant harm.",
        consent="not_sought",
        consent_reason="risk_of_harm",
        lawful_basis="public_task",
        without_consent_ground="risk_of_harm",
        statutory_gateway="ca1989_s47",
        art9_condition="art9_2_g",  # health is special-category data
        sch1_condition="sch1_para18",
        seven_tests={k: True for k in SEVEN_TESTS},
        method="secure_email",
        person_informed="no",
        person_informed_reason="Telling the family would increase the risk.",
        third_party_identified=False,
        advice_sought=False,
    )
    for key, value in changes.items():
        setattr(record, key, value)
    return record


def make_request_made(**changes: object) -> object:
    """A valid request made to another agency (asking, so sharing what is needed to ask)."""
    values: dict[str, object] = {
        "direction": "request_made",
        "requested_information": "Whether the child is known to the practice",
        "without_consent_ground": "",  # asked only of a share out
    }
    values.update(changes)
    return make_share(**values)


@pytest.fixture(scope="session")
def team_templates(tmp_path_factory: pytest.TempPathFactory) -> object:
    """Pat's laptop and tablet and Mo's (a manager's) laptop, each bound to its account,
    made once per run (tests.sync_support); ``team`` copies them for each test."""
    from tests.sync_support import make_templates

    return make_templates(tmp_path_factory.mktemp("team-templates"))


@pytest.fixture
def team(team_templates: object, tmp_path: Path) -> Iterator[object]:
    from tests.sync_support import Team

    made = Team.from_templates(team_templates, tmp_path / "team")  # type: ignore[arg-type]
    yield made
    made.close()
