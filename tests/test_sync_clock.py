"""One clock per vault; skewed device clocks and other timezones change nothing that
matters (issue 9, points 3, 7 and 9)."""

from __future__ import annotations

import datetime as dt
import os
import random
import time
import uuid
from collections.abc import Iterator

import pytest

from app.events import MAX_CLOCK_PULL_MS, HybridLogicalClock
from app.service import Sharelog
from db import store
from tests.conftest import make_share
from tests.sync_support import Team


def _newest_stamp(svc: Sharelog) -> str:
    return str(svc.vault.conn.execute(
        "SELECT hlc FROM events WHERE device_id = ? ORDER BY device_seq DESC LIMIT 1",
        (svc.identity.device_id,)).fetchone()[0])


def test_one_clock_serves_the_hybrid_clock_the_ids_and_today(service: Sharelog) -> None:
    when = dt.datetime(2031, 3, 4, 9, 30)
    service.set_now(when)
    rid = service.record_decision(make_share())
    stamp_ms = HybridLogicalClock.parse(_newest_stamp(service))[0]
    assert stamp_ms == int(when.timestamp() * 1000)
    assert uuid.UUID(rid).int >> 80 == int(when.timestamp() * 1000)  # UUIDv7's time
    assert service.today() == dt.date(2031, 3, 4)
    [fu] = service.my_followups()
    assert fu.due_date == service.due_date_for(start=dt.date(2026, 11, 2))
    detail = service.get_decision(rid)
    assert detail.created_at == "2031-03-04T09:30:00"  # shown in local time
    row = store.decision_get_row(service.vault.conn, rid)
    assert row is not None and row["created_at"] == dt.datetime.fromtimestamp(
        when.timestamp(), dt.UTC).isoformat(timespec="seconds")  # stored in UTC


@pytest.mark.parametrize("skew", [dt.timedelta(hours=3), dt.timedelta(days=2),
                                  dt.timedelta(days=365), dt.timedelta(days=-2)])
def test_a_skewed_clock_pulls_another_device_only_a_little(team: Team,
                                                           skew: dt.timedelta) -> None:
    laptop, tablet = team.devices["pat-laptop"], team.devices["pat-tablet"]
    tablet.clock.set_skew(skew)
    rid = tablet.record_decision(make_share())
    theirs = HybridLogicalClock.parse(_newest_stamp(tablet))[0]
    result = laptop.ingest.apply(team.held("pat-tablet"), device_keys=team.keys())
    assert result.quarantined == ()  # a wrong clock is no reason to refuse a change
    laptop.correct_decision(rid, make_share(reasons="Corrected on the laptop."), "typo",
                            parents=laptop.get_decision(rid).heads)
    mine = HybridLogicalClock.parse(_newest_stamp(laptop))[0]
    wall = laptop.clock.ms()
    assert mine - wall <= MAX_CLOCK_PULL_MS  # never dragged a year ahead
    if skew < dt.timedelta(0):
        assert mine <= wall + 1000 and mine > theirs  # a clock behind holds nothing back
    # The correction follows what it saw, whatever the clocks say.
    detail = laptop.get_decision(rid)
    assert detail.record.reasons == "Corrected on the laptop." and not detail.has_conflict
    team.exchange("pat-laptop", "pat-tablet", random.Random(1))
    assert tablet.projection_digest() == laptop.projection_digest()


@pytest.fixture
def timezone() -> Iterator[object]:
    def set_zone(name: str) -> None:
        os.environ["TZ"] = name
        time.tzset()

    before = os.environ.get("TZ")
    yield set_zone
    if before is None:
        os.environ.pop("TZ", None)
    else:
        os.environ["TZ"] = before
    time.tzset()


def test_the_same_events_show_the_same_record_in_every_timezone(
        team: Team, timezone: object) -> None:
    laptop, tablet, mo = (team.devices[n] for n in ("pat-laptop", "pat-tablet", "mo-laptop"))
    set_zone = timezone
    set_zone("America/New_York")  # type: ignore[operator]
    rid = laptop.record_decision(make_share())
    laptop.correct_decision(rid, make_share(reasons="Corrected in New York."), "typo",
                            parents=laptop.get_decision(rid).heads)
    page = team.held("pat-laptop")
    set_zone("Pacific/Auckland")  # type: ignore[operator]
    tablet.ingest.apply(page, device_keys=team.keys())
    set_zone("Asia/Kolkata")  # type: ignore[operator]
    mo.ingest.apply(list(reversed(page)), device_keys=team.keys())
    assert laptop.projection_digest() == tablet.projection_digest() == mo.projection_digest()
    row = store.decision_get_row(mo.vault.conn, rid)
    assert row is not None and row["created_at"].endswith("+00:00")
    assert row["updated_at"].endswith("+00:00")
