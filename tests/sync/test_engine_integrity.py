"""Integrity against the store (issue 9 point 7), with real vaults and a real store: after
each sync the engine compares this device's chains with the store's confirmed tips.
Changes removed or rewritten in the vault after they were pushed, even re-signed with the
device's own key, are named; the gaps a practitioner's device holds in other devices'
chains by design are not; a change the store refuses is kept and said, and the chain
goes on past it."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.envelope import sign
from app.events import chain_link
from app.projection import event_from_row
from app.sync.engine import SyncState
from db import store as vault_store
from tests.conftest import make_share
from tests.sync.engine_support import Engines, sign_in_keeping_token
from tests.sync.harness import Harness


@pytest.fixture
def team(sqlite_store, tmp_path: Path) -> Iterator[tuple[Harness, Engines]]:
    engines = Engines()
    harness = Harness(sqlite_store, tmp_path, sync_once=engines.sync_once,
                      sign_in=sign_in_keeping_token)
    yield harness, engines
    engines.close()
    harness.close()


def _own_chain(service):  # type: ignore[no-untyped-def]
    rows = vault_store.events_of_device(service.vault.conn, service.identity.device_id)
    return [event_from_row(r) for r in rows]


def test_pushed_changes_removed_or_rewritten_in_the_vault_are_named(team) -> None:
    harness, engines = team
    laptop, paula = harness.device("pat-laptop"), harness.device("paula-laptop")
    laptop.service.record_decision(make_share())
    laptop.service.record_decision(make_share(reasons="A second share."))
    rid = paula.service.record_decision(make_share())
    assert harness.sync_once("pat-laptop").status.state == SyncState.SYNCED
    assert harness.sync_once("paula-laptop").status.state == SyncState.SYNCED
    # Someone with the passphrase deletes Pat's newest change (a follow-up) from the file.
    conn = laptop.service.vault.conn
    with laptop.service.vault.transaction():
        conn.execute("DELETE FROM events WHERE device_id = ? AND device_seq = 4",
                     (laptop.device_id,))
    status = harness.sync_once("pat-laptop").status
    assert (status.state, status.error) == (SyncState.ERROR, "changes_altered")
    assert status.message is not None
    assert "1 change that this device sent to the team's store is missing" in status.message
    assert "of the first 4 of its chain" in status.message
    # The window reads it from the vault, after a restart too.
    laptop.lock()
    laptop.unlock()
    assert engines.engine(laptop).status().error == "changes_altered"

    # On Paula's laptop, her first change's reasons are rewritten and it, and every change
    # after it, signed again with the laptop's own key: the chain holds together on its own.
    chain = _own_chain(paula.service)
    body = json.loads(chain[0].payload)
    body["record"]["reasons"] = "Reasons nobody wrote at the time."
    rewritten = [sign(dataclasses.replace(chain[0], payload=json.dumps(body).encode()),
                      paula.service.unit.key)]
    for ev in chain[1:]:
        prev = rewritten[-1]
        rewritten.append(sign(dataclasses.replace(
            ev, prev_hash=chain_link(prev.hash, prev.signature)), paula.service.unit.key))
    conn = paula.service.vault.conn
    with paula.service.vault.transaction():
        for ev in rewritten:
            conn.execute("UPDATE events SET payload = ?, prev_hash = ?, hash = ?, "
                         "signature = ? WHERE event_id = ?",
                         (ev.payload, ev.prev_hash, ev.hash, ev.signature, ev.event_id))
    report = harness.sync_once("paula-laptop")
    assert (report.status.state, report.status.error) == (SyncState.ERROR, "changes_altered")
    assert "were rewritten in this vault after they were sent" in (report.status.message or "")
    assert "change 2 of its chain" in (report.status.message or "")
    assert rid not in (report.status.message or "")  # positions, never ids or content


def test_a_gap_the_store_confirms_in_another_devices_chain_is_not_reported(team) -> None:
    harness, engines = team
    laptop, tablet = harness.device("pat-laptop"), harness.device("pat-tablet")
    paula, mo = harness.device("paula-laptop"), harness.device("mo-laptop")
    pat_id, paula_id = harness.members["pat"].user_id, harness.members["paula"].user_id
    # Paula's record; the manager gives its follow-up to Pat for a while.
    theirs = paula.service.record_decision(make_share())
    harness.sync_once("paula-laptop")
    harness.sync_once("mo-laptop")
    [fu] = mo.service.get_decision(theirs).followups
    mo.service.reassign_followup(fu.followup_id, pat_id, parents=fu.heads)
    harness.sync_once("mo-laptop")
    # Pat's laptop syncs, reschedules it (change 1 of the laptop's chain), records a share
    # of his own (changes 2 and 3), and pushes.
    harness.sync_once("pat-laptop")
    held = laptop.service.get_followup(fu.followup_id)
    laptop.service.reschedule_followup(fu.followup_id, held.due_date.replace(day=28),
                                       "Waiting for the school", parents=held.heads)
    mine = laptop.service.record_decision(make_share())
    assert harness.sync_once("pat-laptop").status.state == SyncState.SYNCED
    # The manager gives the follow-up back to Paula: Paula's record leaves Pat's scope.
    harness.sync_once("mo-laptop")
    back = mo.service.get_followup(fu.followup_id)
    mo.service.reassign_followup(fu.followup_id, paula_id, parents=back.heads)
    harness.sync_once("mo-laptop")
    # Pat's tablet syncs for the first time: it holds changes 2 and 3 of the laptop's
    # chain, never change 1, and the store's tip of that chain is 3. Not a removal.
    report = harness.sync_once("pat-tablet")
    assert mine in report.changes.records and theirs not in report.changes.records
    positions = [e.device_seq for e in vault_store_events(tablet, laptop.device_id)]
    assert positions == [2, 3]
    assert (report.status.state, report.status.error) == (SyncState.SYNCED, None)
    assert tablet.service.verify_integrity().ok
    # The same holds sync after sync.
    assert harness.sync_once("pat-tablet").status.error is None


def vault_store_events(device, device_id: str):  # type: ignore[no-untyped-def]
    rows = vault_store.events_of_device(device.service.vault.conn, device_id)
    return [event_from_row(r) for r in rows]


def test_a_change_the_store_refuses_is_kept_said_and_the_chain_goes_on(team) -> None:
    harness, engines = team
    laptop, mo = harness.device("pat-laptop"), harness.device("mo-laptop")
    rid = laptop.service.record_decision(make_share())
    harness.sync_once("pat-laptop")
    harness.sync_once("mo-laptop")
    # The manager corrects Pat's record (only its owner may), then records a share.
    mo.service.correct_decision(rid, make_share(reasons="The manager's wording."),
                                "supervision", parents=mo.service.get_decision(rid).heads)
    own = mo.service.record_decision(make_share(reasons="The manager's own share."))
    report = harness.sync_once("mo-laptop")
    assert report.pushed == 2  # the share and its follow-up; the correction is refused
    assert (report.status.state, report.status.error) == (SyncState.ERROR, "refused")
    assert report.status.message == ("1 change was refused by the team's store and kept on "
                                     "this device: see details.")
    assert report.status.waiting == 0 and report.status.quarantined == 1
    [kept] = mo.service.sync.quarantined()
    assert (kept.status, kept.reason_code) == ("refused_by_store", "not_owner")
    # The next sync succeeds; the refusal is still said beside the state.
    after = harness.sync_once("mo-laptop").status
    assert (after.state, after.error, after.quarantined) == (SyncState.SYNCED, "refused", 1)
    harness.sync_once("pat-tablet")
    assert harness.device("pat-tablet").service.get_decision(rid).record.reasons == (
        make_share().reasons)  # the refused correction never reached anyone
    assert own in {e.record_id for e in harness.store_view("mo-laptop")}
