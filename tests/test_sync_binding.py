"""Envelope v2 on the client, and names after sign-in (issue 9, point 2; docs/sync-protocol.md
"Names after sign-in")."""

from __future__ import annotations

import pytest

from app.envelope import SCHEMA_V2, verify_chain
from app.service import Sharelog
from app.sync.local import AlreadyBound
from tests.conftest import make_share
from tests.server.vaults import device_events


def test_new_events_are_v2_and_sign_the_owner_and_the_assignee(service: Sharelog) -> None:
    me = service.identity.user_id
    rid = service.record_decision(make_share())
    fu = service.my_followups()[0]
    service.reassign_followup(fu.followup_id, "user-colleague", parents=fu.heads)
    create, fu_create, reassign = device_events(service)
    assert {e.schema_version for e in (create, fu_create, reassign)} == {SCHEMA_V2}
    assert (create.owner_id, create.assignee_id) == (me, "")
    assert (fu_create.owner_id, fu_create.assignee_id) == (me, me)
    assert (reassign.owner_id, reassign.assignee_id) == (me, "user-colleague")
    verify_chain([create, fu_create, reassign], service.device_public_key)
    assert service.get_followup(fu.followup_id).owner_id == "user-colleague"
    assert service.get_decision(rid).owner_id == me


def test_after_sign_in_new_events_carry_the_account_and_old_ids_stay_the_same_person(
        service: Sharelog) -> None:
    local = service.identity.user_id
    local_team = service.identity.team_id
    before = service.record_decision(make_share())
    changes = service.sync.record_binding(account_user_id="acct-pat", account_team_id="acct-team",
                                          device_token="sld1.token", store_url="https://s")
    assert changes.sync
    assert (service.identity.user_id, service.identity.team_id) == ("acct-pat", "acct-team")
    binding = service.sync.binding()
    assert binding is not None and (binding.local_user_id, binding.local_team_id) == (
        local, local_team)
    assert binding.device_token == "sld1.token"
    after = service.record_decision(make_share())
    service.correct_decision(before, make_share(reasons="Corrected after signing in."),
                             "typo", parents=service.get_decision(before).heads)
    events = device_events(service)
    assert [(e.author_id, e.team_id) for e in events] == [
        (local, local_team)] * 2 + [("acct-pat", "acct-team")] * 3
    # The record made before keeps its owner as its creation named it.
    assert events[-1].owner_id == local and service.get_decision(after).owner_id == "acct-pat"
    # Both ids are this person: every follow-up is still "mine", after a restart too.
    assert len(service.my_followups()) == 2
    assert service.user_name("acct-pat") == service.identity.display_name
    # Signing in again to the same account is fine; another account is refused.
    service.sync.record_binding(account_user_id="acct-pat", account_team_id="acct-team",
                                device_token="sld1.new")
    with pytest.raises(AlreadyBound):
        service.sync.record_binding(account_user_id="acct-other", account_team_id="acct-team")
    assert service.identity.user_id == "acct-pat"
    assert service.verify_integrity(every_signature=True).ok


def test_the_binding_survives_locking(home, service: Sharelog) -> None:
    from app import session
    from tests.conftest import PASSPHRASE

    service.record_decision(make_share())
    service.sync.record_binding(account_user_id="acct-pat", account_team_id="acct-team")
    service.lock()
    again = session.unlock(PASSPHRASE, base=home)
    try:
        assert again.identity.user_id == "acct-pat"
        assert len(again.my_followups()) == 1
    finally:
        again.lock()
