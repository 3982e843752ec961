"""The deep check uses every core, reports as one core would, and can be stopped
(issue 8, point 8). Worker processes are forced here on a small vault; on a large one
they start by themselves."""

from __future__ import annotations

import resource
from pathlib import Path

import pytest

from app import integrity, session
from app.cancel import Cancelled
from app.service import Sharelog
from tests.conftest import PASSPHRASE, make_share


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


@pytest.fixture
def damaged(home: Path) -> Sharelog:
    svc = session.create_vault("Sam Worker", PASSPHRASE, base=home)
    ids = [svc.record_decision(make_share(reasons=f"reason {i}")) for i in range(12)]
    conn = svc.vault.conn
    # A signature that no longer matches, in the middle of the chain...
    conn.execute("UPDATE events SET signature = zeroblob(64) WHERE seq = 7")
    # ...and a record whose shown text differs from its events.
    conn.execute("UPDATE decisions SET subjects_text = 'Someone Else' WHERE record_id = ?",
                 (ids[9],))
    svc.damaged_record = ids[9]  # type: ignore[attr-defined]
    return svc


@pytest.mark.slow
def test_the_deep_check_in_worker_processes_finds_what_one_core_finds(damaged: Sharelog) -> None:
    one = damaged.verify_integrity(every_signature=True, workers=1)
    before = children_cpu()
    both = damaged.verify_integrity(every_signature=True, workers=2)
    assert children_cpu() > before  # the signatures and records were checked elsewhere
    assert both.problems == one.problems
    assert any(p.what == "signature" for p in both.problems)
    assert both.drift == one.drift
    assert [d.record_id for d in both.drift] == [damaged.damaged_record]  # type: ignore
    assert (both.events_checked, both.signatures_checked) == (one.events_checked,
                                                              one.signatures_checked)
    assert both.signatures_checked == both.events_checked == 24
    damaged.lock()


@pytest.mark.slow
def test_the_check_reports_progress_and_stops_when_cancelled(damaged: Sharelog) -> None:
    seen: list[tuple[int, int]] = []
    damaged.verify_integrity(every_signature=True, workers=2,
                             progress=lambda done, total: seen.append((done, total)))
    assert seen and seen[-1][0] == seen[-1][1] == 3 * 24
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)
    with pytest.raises(Cancelled):
        damaged.verify_integrity(every_signature=True, workers=2, cancelled=lambda: True)
    # The vault is as usable as before: nothing was left half done.
    assert damaged.verify_integrity(workers=1).drift
    damaged.lock()


@pytest.mark.slow
def test_a_signature_of_the_wrong_shape_fails_in_its_place(damaged: Sharelog) -> None:
    conn = damaged.vault.conn
    conn.execute("UPDATE events SET signature = X'00' WHERE seq = 3")
    one = integrity.verify_all(conn, every_signature=True, workers=1)
    both = integrity.verify_all(conn, every_signature=True, workers=2)
    assert both.problems == one.problems
    assert [p.device_seq for p in one.problems if p.what == "signature"] == [3, 7]
    damaged.lock()
