"""Real vaults through a real store: what the vault keeps for sync (outbox, cursor,
quarantine, binding) works with what the store answers. No sync engine yet: the test does
what it will do, call by call."""

from __future__ import annotations

from pathlib import Path

import pytest

from app import session
from app.service import Sharelog
from app.sync.transport import EventRejected
from tests.conftest import PASSPHRASE, make_share
from tests.server.conftest import enrol


def _vault(home: Path, name: str) -> Sharelog:
    return session.create_vault(name, PASSPHRASE, base=home)


def _sign_in(svc: Sharelog, store, login: str):  # type: ignore[no-untyped-def]
    ident = svc.identity
    device = enrol(store.base_url, login, key=svc.unit.key, device_id=ident.device_id,
                   local_user_id=ident.user_id, local_team_id=ident.team_id)
    svc.sync.record_binding(account_user_id=device.user_id, account_team_id=device.team_id,
                            device_token=device.client.token, store_url=store.base_url)
    return device


def test_a_pushed_record_reaches_the_managers_vault_and_a_refusal_is_kept(
        store, org, tmp_path: Path) -> None:
    pat_vault, mo_vault = _vault(tmp_path / "pat", "Pat"), _vault(tmp_path / "mo", "Mo")
    try:
        rid = pat_vault.record_decision(make_share())
        pat = _sign_in(pat_vault, store, org.login("pat"))
        mo = _sign_in(mo_vault, store, org.login("mo"))
        outbox = pat_vault.sync.outbox()
        assert len(outbox) == 2
        pat_vault.sync.record_push(pat.client.push(outbox).results)
        assert pat_vault.sync.pending() == 0
        # The manager's device pulls the team's events into its vault, page by page.
        keys = {pat_vault.identity.device_id: pat_vault.device_public_key}
        since = mo_vault.sync.cursor()
        while True:
            page = mo.client.pull(since, limit=1, scope="team")
            result = mo_vault.ingest.apply(page.events, device_keys=keys,
                                           cursor=page.next_since)
            assert result.quarantined == ()
            since = page.next_since
            if not page.has_more:
                break
        assert mo_vault.sync.cursor() == since > 0
        assert mo_vault.projection_digest() == pat_vault.projection_digest()
        assert mo_vault.get_decision(rid).owner_id == pat_vault.identity.local_user_id
        # Mo corrects Pat's record on the manager's laptop: the store refuses it (only the
        # owner corrects), and the vault keeps it, shown, never deleted.
        mo_vault.correct_decision(rid, make_share(reasons="The manager's wording."),
                                  "supervision", parents=mo_vault.get_decision(rid).heads)
        [theirs] = mo_vault.sync.outbox()
        with pytest.raises(EventRejected) as refused:
            mo.client.push([theirs])
        assert refused.value.acknowledgeable and refused.value.code == "not_owner"
        mo_vault.sync.record_refusal(theirs.event_id, refused.value.code)
        assert mo_vault.sync.acknowledged_refusals() == [theirs.event_id]
        answer = mo.client.push(mo_vault.sync.outbox(),
                                acknowledged_refusals=mo_vault.sync.acknowledged_refusals())
        mo_vault.sync.record_push(answer.results)
        assert mo_vault.sync.pending() == 0
        [kept] = mo_vault.sync.quarantined()
        assert (kept.event_id, kept.status, kept.reason_code) == (
            theirs.event_id, "refused_by_store", "not_owner")
        assert mo_vault.verify_integrity().ok
    finally:
        pat_vault.lock()
        mo_vault.lock()
