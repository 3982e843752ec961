"""The record's plain-data form: what is hashed, signed and stored for every version,
and how records saved by earlier versions of Sharelog read today."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import random
from pathlib import Path

from app.demo import fake_record
from app.model import RECORD_VERSION, DecisionRecord
from app.record_data import read_record
from app.service import Sharelog
from app.validation import problems_with
from tests.conftest import make_share

V1_PAYLOADS = json.loads(
    (Path(__file__).parent / "data" / "record_v1_payloads.json").read_text("utf-8"))


def test_to_dict_is_asdict_with_its_shape_and_copies_what_it_holds() -> None:
    rng = random.Random(5)
    records = [make_share()] + [fake_record(rng, dt.datetime(2026, 1, 1)) for _ in range(300)]
    for record in records:
        data = record.to_dict()
        expected = {**dataclasses.asdict(record), "record_version": RECORD_VERSION}
        assert data == expected
        assert list(data) == list(expected)  # same key order, so the same canonical bytes
        assert DecisionRecord.from_dict(data) == record
    # Changing the plain data never reaches back into the record.
    record = make_share()
    data = record.to_dict()
    data["subjects"][0]["name"] = "changed"
    data["counterparty"]["name"] = "changed"
    data["categories"].append("changed")
    data["seven_tests"]["necessary"] = False
    assert record == make_share()


def test_demo_records_pass_validation() -> None:
    """bench/ generates 100,000 of them; screenshots and demos show them."""
    rng = random.Random(9)
    for _ in range(2000):
        decided = dt.datetime(2026, 1, 1, 9) + dt.timedelta(minutes=rng.randint(0, 400_000))
        record = fake_record(rng, decided)
        assert problems_with(record, now=decided) == [], record.to_dict()


# -- records saved before categories decided special-category data ---------------------
def test_a_version_1_health_record_marked_not_special_reads_as_special() -> None:
    old = V1_PAYLOADS["share_health_marked_no"]
    assert "record_version" not in old and old["special_category"] is False
    record, problems = read_record(old)
    assert problems == []
    assert record.is_special_category and record.special_categories == ["health"]
    assert record.legacy_special_category is False  # what the old tick-box said, kept
    assert record.art9_condition == "" and record.sch1_condition == ""  # none was recorded


def test_version_1_condition_keys_split_into_article_9_and_schedule_1() -> None:
    para18 = DecisionRecord.from_dict(V1_PAYLOADS["share_special_para18"])
    assert (para18.art9_condition, para18.sch1_condition) == ("art9_2_g", "sch1_para18")
    assert para18.legacy_special_category is True
    h = DecisionRecord.from_dict(V1_PAYLOADS["share_family_marked_special_9_2_h"])
    assert (h.art9_condition, h.sch1_condition) == ("art9_2_h", "sch1_para2")
    # Marked special though no special category was ticked: still special-category data.
    assert h.special_categories == [] and h.is_special_category
    consent = DecisionRecord.from_dict(V1_PAYLOADS["demo_explicit_consent"])
    assert (consent.art9_condition, consent.sch1_condition) == ("art9_2_a", "")
    # Upcast once: reading the new shape again changes nothing.
    assert DecisionRecord.from_dict(para18.to_dict()) == para18


def test_version_1_records_load_from_a_real_vault_and_check_out(service: Sharelog) -> None:
    """Old events are immutable: they are written in the old shape and read in the new."""
    ids = {}
    with service.bulk() as writer:
        for name, payload in V1_PAYLOADS.items():
            rid = f"0190a000-0000-7000-8000-{len(ids):012d}"
            writer.emit("decision", "decision.create", rid, rid, parents=[],
                        payload={"record": payload, "owner_id": service.identity.user_id})
            ids[name] = rid
    assert service.verify_integrity(every_signature=True).ok
    detail = service.get_decision(ids["share_health_marked_no"])
    assert detail.record.is_special_category
    (version,) = service.versions(ids["share_special_para18"])
    assert version.record is not None and version.record.sch1_condition == "sch1_para18"
    before = service.list_decisions()
    rebuilt = service.rebuild_projection()
    assert rebuilt.records == len(V1_PAYLOADS) and rebuilt.repaired == []
    assert service.list_decisions() == before
    conn = service.vault.conn
    special = dict(conn.execute("SELECT record_id, special_category FROM decisions"))
    assert special[ids["share_health_marked_no"]] == 1  # the list's column follows the law
    # A correction of an old record is saved in the new shape, with its old versions kept.
    record = detail.record
    record.art9_condition, record.sch1_condition = "art9_2_g", "sch1_para18"
    record.fact_or_opinion = record.fact_or_opinion or "fact"
    service.correct_decision(ids["share_health_marked_no"], record, "Condition recorded.",
                             parents=service.get_decision(ids["share_health_marked_no"]).heads)
    versions = service.versions(ids["share_health_marked_no"])
    assert [v.record.sch1_condition for v in versions if v.record] == ["", "sch1_para18"]
