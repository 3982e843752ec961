"""The record in words: every heading, column and PDF line says what actually happened."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.model import Counterparty, DecisionRecord
from tests.conftest import make_request_made, make_share
from ui.decisions import export_pdf
from ui.decisions.detail_pane import pane_title, record_html
from ui.decisions.model import DecisionsModel
from ui.decisions.record_words import decision_words, direction_words, headline, record_rows

V1 = json.loads((Path(__file__).parents[1] / "data" / "record_v1_payloads.json")
                .read_text("utf-8"))
HILLVIEW = Counterparty(name="K. Osei", organisation="Hillview Primary School")


@pytest.mark.parametrize(("record", "words"), [
    (make_share(), "Shared with Riverside Medical Centre"),
    (make_share(decision="share_partial"), "Shared in part with Riverside Medical Centre"),
    (make_share(decision="not_share", counterparty=Counterparty()), "Decided not to share"),
    (make_request_made(counterparty=HILLVIEW), "Asked Hillview Primary School"),
    (make_request_made(decision="not_share", counterparty=HILLVIEW),
     "Decided not to ask Hillview Primary School"),
    (make_share(direction="request_received", counterparty=HILLVIEW),
     "Request from Hillview Primary School: shared"),
    (make_share(direction="request_received", decision="not_share", counterparty=HILLVIEW),
     "Request from Hillview Primary School: not shared"),
    (make_share(counterparty=Counterparty(name="Dr R. Mensah")), "Shared with Dr R. Mensah"),
    (make_share(decision=""), "Decision not recorded"),
])
def test_headline_says_what_happened(qapp, record: DecisionRecord, words: str) -> None:
    assert headline(record) == words


def test_the_pane_title_is_the_headline_never_do_not_share_shared_out(qapp) -> None:
    record = make_share(decision="not_share")
    assert pane_title(record, False) == "Decided not to share with Riverside Medical Centre"
    assert pane_title(record, True).endswith("· Withdrawn")
    for direction in ("disclosure", "request_received", "request_made"):
        for decision in ("share", "share_partial", "not_share"):
            words = " ".join((direction_words(direction), decision_words(direction, decision),
                              headline(make_share(direction=direction, decision=decision))))
            assert "Shared out" not in words and "Do not share" not in words
            if direction == "request_made":
                assert "Share" not in words and "shared" not in words.lower()


def test_list_columns_say_what_happened(qapp) -> None:
    model = DecisionsModel(bridge=None)
    assert model._direction_words["disclosure"] == "Share decision"
    assert model._decision_words[("disclosure", "not_share")] == "Not shared"
    assert model._decision_words[("request_made", "share")] == "Asked"


def test_a_request_made_is_worded_as_asking_in_every_line(qapp) -> None:
    record = make_request_made(counterparty=HILLVIEW, shared_at="2026-11-02T10:45")
    rows = dict(record_rows(record, "2026-11-02T11:00:05"))
    assert rows["Decision"] == "Asked Hillview Primary School"
    assert rows["What was asked for"] == "Whether the child is known to the practice"
    assert "When asked" in rows and "When shared" not in rows
    assert "Shared with" not in rows and rows["Asked"].endswith("Hillview Primary School")


def test_a_not_to_share_record_shows_no_share_only_lines(qapp) -> None:
    record = make_share(decision="not_share", method="", seven_tests={}, person_informed="",
                        person_informed_reason="", lawful_basis="", consent_reason="",
                        without_consent_ground="", art9_condition="", sch1_condition="",
                        third_party_identified=None)
    rows = dict(record_rows(record))
    assert rows["Decision"] == "Decided not to share with Riverside Medical Centre"
    for label in ("Method", "When shared", "Tests", "Person informed", "Article 9 condition",
                  "UK GDPR Article 6", "Identifies someone else"):
        assert label not in rows, label
    assert rows["Would have been shared with"].startswith("Dr R. Mensah")
    assert rows["Special-category data"] == "Yes: health"  # what it is, shared or not


def test_the_pdf_rows_are_the_panes_words_with_when_written(qapp) -> None:
    record = make_share(decided_at="2026-09-01T10:00")
    rows = dict(export_pdf._record_rows(record, "2026-11-02T11:00:05"))
    assert rows == dict(record_rows(record, "2026-11-02T11:00:05"))
    assert rows["Decided"] == "1 Sep 2026 10:00"
    assert rows["Written"] == "2 Nov 2026 11:00 (62 days after the decision)"
    assert rows["Special-category data"] == "Yes: health"
    assert rows["Article 9 condition"] == "Art 9(2)(g) substantial public interest"
    assert rows["DPA 2018 Schedule 1 condition"].startswith("Sch 1 para 18")
    html = record_html(record, "2026-11-02T11:00:05")
    assert "62 days after the decision" in html


def test_an_old_record_marked_not_special_is_shown_honestly(qapp) -> None:
    record = DecisionRecord.from_dict(V1["share_health_marked_no"])
    rows = dict(record_rows(record))
    assert rows["Special-category data"] == (
        "Yes: health (an earlier version of Sharelog recorded “No”)")
    assert rows["Article 9 condition"] == "Not recorded"
    assert rows["DPA 2018 Schedule 1 condition"] == "Not recorded"


def test_an_old_record_marked_special_without_a_kind_is_shown_honestly(qapp) -> None:
    record = DecisionRecord.from_dict(V1["share_family_marked_special_9_2_h"])
    rows = dict(record_rows(record))
    assert rows["Special-category data"].startswith("Yes (recorded so by an earlier version")
    assert rows["Article 9 condition"] == "Art 9(2)(h) health or social care"
    old_request = DecisionRecord.from_dict(V1["request_made_criminal"])
    assert dict(record_rows(old_request))["Criminal offence data condition (Article 10)"] == (
        "Not recorded")


def test_the_exported_pdf_says_what_happened_and_when_it_was_written(qapp, service) -> None:
    rid = service.record_decision(make_share(decision="not_share", method="", seven_tests={}))
    html = export_pdf.build_html(export_pdf.collect_records(service, [rid]))
    assert "Decided not to share with Riverside Medical Centre" in html
    assert "Written" in html and "Do not share" not in html


def test_a_share_only_answer_on_a_not_to_share_record_is_marked_not_needed(qapp) -> None:
    """An older version made a decision not to share give a ground for sharing: it is still
    shown, as recorded, but never as if it justified a share."""
    record = DecisionRecord.from_dict(V1["not_share_with_old_ground"])
    assert record.decision == "not_share" and record.without_consent_ground == "risk_of_harm"
    rows = dict(record_rows(record))
    assert "Ground to share without it" not in rows
    assert rows["Ground to share without it (not needed for this decision)"] == (
        "Risk of harm to the person or others")
    html = record_html(record)
    assert "Also recorded, though this decision did not need it" in html
