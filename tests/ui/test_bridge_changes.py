"""The bridge announces what a write changed as the vault says, not as the caller guessed
(issue 9, point 9); the form corrects after the versions it loaded (point 6)."""

from __future__ import annotations

from typing import Any

from app.envelope import DeviceChain
from app.events import DeviceKey
from app.unit import ChangeSet
from tests.conftest import make_share
from ui.bridge import CONTACTS, DECISIONS, DRAFTS, FOLLOWUPS, Bridge
from ui.form.decision_form import DecisionForm


def _announced(qtbot: Any, bridge: Bridge, fn: Any) -> tuple[frozenset[str], ChangeSet]:
    kinds: list[frozenset[str]] = []
    changes: list[ChangeSet] = []
    bridge.changed.connect(kinds.append)
    bridge.changeset.connect(changes.append)
    try:
        with qtbot.waitSignal(bridge.changeset, timeout=10_000):
            bridge.write(fn)
    finally:
        bridge.changed.disconnect(kinds.append)
        bridge.changeset.disconnect(changes.append)
    [kind] = kinds
    [change] = changes
    assert change.kinds == kind
    return kind, change


def test_each_write_announces_exactly_what_it_changed(qtbot, bridge, service) -> None:
    kinds, changes = _announced(qtbot, bridge, lambda s: s.record_decision(make_share()))
    [rid] = changes.records
    [fid] = changes.followups
    assert {DECISIONS, FOLLOWUPS, CONTACTS} <= kinds and DRAFTS not in kinds
    fu = service.get_followup(fid)
    kinds, changes = _announced(qtbot, bridge, lambda s: s.complete_followup(
        fid, "Confirmed.", parents=fu.heads))
    assert FOLLOWUPS in kinds and DECISIONS not in kinds
    assert changes.followups == {fid} and changes.records == frozenset()
    kinds, changes = _announced(qtbot, bridge, lambda s: s.save_draft({"purpose": "x"}))
    assert kinds == {DRAFTS}
    # A page from another device announces the records it brought, the same way.
    key = DeviceKey.generate()
    chain = DeviceChain(key, "device-kim", service.identity.team_id, "user-kim")
    pulled = chain.event("decision.create", "r-pulled",
                         payload={"record": make_share().to_dict()})
    kinds, changes = _announced(qtbot, bridge, lambda s: s.ingest.apply(
        [pulled], device_keys={"device-kim": key.public_bytes}))
    assert changes.records == {"r-pulled"} and DECISIONS in kinds
    assert rid in {s.record_id for s in service.list_decisions()}


def test_a_write_that_changes_nothing_announces_nothing(qtbot, bridge) -> None:
    seen: list[object] = []
    bridge.changed.connect(seen.append)
    done: list[object] = []
    bridge.write(lambda s: s.set_followup_working_days(7), done.append)
    qtbot.waitUntil(lambda: done == [None])
    qtbot.wait(20)
    assert seen == []


def test_the_form_corrects_after_the_versions_it_loaded(qtbot, bridge, service) -> None:
    form = DecisionForm(bridge)
    qtbot.addWidget(form)
    rid = service.record_decision(make_share(reasons="First reasons."))
    form.start_correction(rid)
    qtbot.waitUntil(lambda: form.is_correction and form.reasons.toPlainText() != "")
    # Another version arrives while the form is open (a colleague's correction, pulled).
    service.correct_decision(rid, make_share(reasons="Reasons changed meanwhile."),
                             "pulled", parents=service.get_decision(rid).heads)
    form.reasons.setPlainText("Reasons typed in the form.")
    form.correction_reason.setPlainText("Fuller reasons")
    with qtbot.waitSignal(form.draft_saved, timeout=10_000) as drafted:
        form.save_draft_now()
    [draft] = [d for d in service.drafts() if d.draft_id == drafted.args[0]]
    first = service.versions(rid)[0].event_id
    assert draft.parents == (first,)  # the draft keeps what its author saw
    with qtbot.waitSignal(form.saved, timeout=10_000):
        form.save()
    detail = service.get_decision(rid)
    # The form's correction did not supersede the version it never showed: both stand.
    assert detail.conflicts == ("reasons",) and len(detail.heads) == 2
    assert sorted(v.value for v in service.conflicts(rid)[0].values) == [
        "Reasons changed meanwhile.", "Reasons typed in the form."]
