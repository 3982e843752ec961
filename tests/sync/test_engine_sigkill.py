"""SIGKILL of a client process mid-push and mid-apply: a child process runs the real engine
against a real vault and a real store, and is killed; the vault is opened again here and
the next sync carries on: nothing stored twice, nothing lost, the cursor never ahead of
what the vault holds. Kills come from outside at a progress report (wherever the child is
then), and at the named crash points that find bugs: after the store committed a push
but before the vault recorded it; mid-page, with part of the page committed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.sync.engine import SyncState
from db import store as vault_store
from tests.conftest import make_share
from tests.sync.engine_support import Engines, sign_in_keeping_token
from tests.sync.harness import PASSPHRASE, Harness, vault_event_ids

ROOT = Path(__file__).resolve().parents[2]

CHILD = """
import os, signal, sys
from pathlib import Path
from app import session
from app.ingest import Ingest
from app.sync.engine import SyncEngine
from app.sync.local import SyncLocal

home, crash = Path(sys.argv[1]), sys.argv[2]
svc = session.unlock(sys.argv[3], base=home)
if crash == "before-record-push":  # the store has committed the batch; the vault not
    SyncLocal.record_push = lambda self, outcomes: os.kill(os.getpid(), signal.SIGKILL)
elif crash.startswith("at-event-"):  # mid-page: earlier chunks committed, this one not
    stop, one, seen = int(crash.rsplit("-", 1)[1]), Ingest._one, [0]

    def counting(self, *args):
        seen[0] += 1
        if seen[0] == stop:
            os.kill(os.getpid(), signal.SIGKILL)
        return one(self, *args)

    Ingest._one = counting
svc.ingest.chunk_events = 50
engine = SyncEngine(svc, on_progress=lambda s: print("progress", s.done, s.total, flush=True))
engine.push_batch, engine.page_size = 100, 200
report = engine.sync_once()
print("finished", report.status.state, flush=True)
svc.lock()
"""


@pytest.fixture
def team(sqlite_store, tmp_path: Path) -> Iterator[tuple[Harness, Engines]]:
    engines = Engines()
    harness = Harness(sqlite_store, tmp_path, sync_once=engines.sync_once,
                      sign_in=sign_in_keeping_token)
    yield harness, engines
    engines.close()
    harness.close()


def run_child(home: Path, crash: str, *, kill_at_done: int | None = None) -> list[str]:
    """Run one sync in a child process; SIGKILL it once it reports ``kill_at_done`` events
    done (or let a crash point kill it). Returns what it printed."""
    child = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(CHILD), str(home), crash, PASSPHRASE],
        cwd=ROOT, stdout=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert child.stdout is not None
    lines = []
    for line in child.stdout:
        lines.append(line.strip())
        parts = line.split()
        if (kill_at_done is not None and parts[0] == "progress"
                and int(parts[1]) >= kill_at_done):
            child.send_signal(signal.SIGKILL)
            break
    child.wait(timeout=120)
    assert child.returncode == -signal.SIGKILL, lines
    assert not any(line.startswith("finished") for line in lines)
    return lines


def many_records(device, n: int) -> None:  # type: ignore[no-untyped-def]
    with device.service.bulk() as w:
        for i in range(n):
            w.record_decision(make_share(reasons=f"Reason number {i} for sharing."))


def check_whole(harness: Harness) -> None:
    harness.sync_all()
    held = harness.store_event_ids()
    assert [e for e, n in Counter(held).items() if n > 1] == []
    for name, device in harness.devices.items():
        ids = vault_event_ids(device.service)
        assert len(ids) == len(set(ids)), name
        assert device.service.sync.pending() == 0, name
        assert device.service.verify_integrity().ok, name
    harness.assert_converged()


def test_a_client_killed_mid_push_carries_on_and_stores_nothing_twice(team) -> None:
    harness, engines = team
    laptop = harness.device("pat-laptop")
    # Killed after the store committed a batch, before the vault recorded the answer.
    many_records(laptop, 75)  # 150 events: batches of 100 and 50
    laptop.lock()
    run_child(laptop.home, "before-record-push")
    assert len(harness.store_event_ids()) == 100  # the first batch, committed by the store
    laptop.unlock()
    assert laptop.service.sync.pending() == 150  # the vault never heard
    report = harness.sync_once("pat-laptop")
    # The first batch is answered again as it was, the rest stored: 150 confirmed, once.
    assert (report.status.state, report.pushed) == (SyncState.SYNCED, 150)
    assert len(harness.store_event_ids()) == 150
    # Killed from outside once a batch is done, wherever the child is then.
    many_records(laptop, 250)  # 500 more events: five batches
    made = set(vault_event_ids(laptop.service))
    laptop.lock()
    lines = run_child(laptop.home, "none", kill_at_done=100)
    assert lines[0] == "progress 0 500"
    laptop.unlock()
    waiting = laptop.service.sync.pending()
    assert 0 < waiting < 500  # part pushed and recorded, the rest still waiting
    report = harness.sync_once("pat-laptop")
    assert (report.status.state, report.status.waiting) == (SyncState.SYNCED, 0)
    assert set(harness.store_event_ids()) == made
    check_whole(harness)


def test_a_client_killed_mid_apply_carries_on_and_its_cursor_never_runs_ahead(team) -> None:
    harness, engines = team
    laptop, tablet = harness.device("pat-laptop"), harness.device("pat-tablet")
    conn = None
    expected = 0
    for crash, kill_at_done in (("at-event-120", None), ("none", 200)):
        many_records(laptop, 250)  # 500 events for the tablet, in pages of 200
        expected += 500
        assert harness.sync_once("pat-laptop").status.state == SyncState.SYNCED
        tablet.lock()
        run_child(tablet.home, crash, kill_at_done=kill_at_done)
        tablet.unlock()
        conn = tablet.service.vault.conn
        held = vault_store.event_count(conn)
        assert expected - 500 < held < expected, crash
        cursor = tablet.service.sync.cursor()
        # The cursor never counts a page the vault does not wholly hold.
        seqs = {r[0] for r in conn.execute("SELECT store_seq FROM events")}
        assert all(s in seqs for s in range(1, cursor + 1)), crash
        report = harness.sync_once("pat-tablet")
        assert report.status.state == SyncState.SYNCED, crash
        assert report.pulled == expected - held, crash
        assert vault_store.event_count(conn) == expected, crash
    check_whole(harness)
