"""The record's plain-data form: what is hashed, signed and stored for every version."""

from __future__ import annotations

import dataclasses
import datetime as dt
import random

from app.demo import fake_record
from app.model import DecisionRecord
from tests.conftest import make_share


def test_to_dict_is_exactly_asdict_and_copies_what_it_holds() -> None:
    rng = random.Random(5)
    records = [make_share()] + [fake_record(rng, dt.datetime(2026, 1, 1)) for _ in range(300)]
    for record in records:
        data = record.to_dict()
        expected = dataclasses.asdict(record)
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
