"""History, follow-ups, working days, search and the address book, on a real vault."""

from __future__ import annotations

import datetime as dt

import pytest

from app.model import Counterparty, SearchFilters, Subject
from app.service import InvalidChange, Sharelog
from app.validation import ValidationError
from app.workdays import WorkingCalendar
from tests.conftest import make_request_made, make_share


def test_withdrawing_leaves_a_follow_up_someone_else_holds_to_them(service: Sharelog) -> None:
    """The store lets only a follow-up's holder (or a manager) change it: a withdrawal that
    cancelled a colleague's follow-up was refused by the store and held the chain up."""
    rid = service.record_decision(make_share(), followup_days=3)
    mine = service.get_decision(rid).followups[0]
    service.reassign_followup(mine.followup_id, "user-colleague", parents=mine.heads)
    given = service.get_followup(mine.followup_id)
    service.withdraw_decision(rid, "Recorded against the wrong child",
                              parents=service.get_decision(rid).heads)
    detail = service.get_decision(rid)
    assert detail.status == "withdrawn"
    kept = {f.followup_id: f for f in detail.followups}[given.followup_id]
    assert (kept.state, kept.owner_id) == ("open", "user-colleague")
    kinds = [e.kind for e in service.sync.outbox()]
    assert "followup.cancel" not in kinds


def test_a_correction_is_a_new_version_and_the_old_stays_readable(service: Sharelog) -> None:
    rid = service.record_decision(make_share(reasons="First reasons"))
    service.correct_decision(rid, make_share(reasons="Corrected reasons"), "Wrong reasons typed",
                             parents=service.get_decision(rid).heads)
    versions = service.versions(rid)
    assert [v.number for v in versions] == [1, 2]
    assert versions[0].record is not None and versions[0].record.reasons == "First reasons"
    assert versions[1].record is not None and versions[1].record.reasons == "Corrected reasons"
    assert versions[1].reason == "Wrong reasons typed"
    assert {v.author_name for v in versions} == {"Sam Worker"}
    assert {v.device_id for v in versions} == {service.identity.device_id}
    assert service.get_decision(rid).record.reasons == "Corrected reasons"
    assert service.get_decision(rid).version_count == 2


def test_a_correction_needs_a_reason_and_a_valid_record(service: Sharelog) -> None:
    rid = service.record_decision(make_share())
    with pytest.raises(ValidationError):
        service.correct_decision(rid, make_share(reasons="x"), "  ",
                                 parents=service.get_decision(rid).heads)
    with pytest.raises(ValidationError):
        service.correct_decision(rid, make_share(reasons=""), "typo",
                                 parents=service.get_decision(rid).heads)
    assert len(service.versions(rid)) == 1


def test_withdrawing_is_a_tombstone_with_a_reason_never_a_delete(service: Sharelog) -> None:
    rid = service.record_decision(make_share())
    with pytest.raises(ValidationError):
        service.withdraw_decision(rid, "", parents=service.get_decision(rid).heads)
    service.withdraw_decision(rid, "Recorded against the wrong child",
                              parents=service.get_decision(rid).heads)
    detail = service.get_decision(rid)
    assert detail.status == "withdrawn"
    assert detail.record.reasons == make_share().reasons  # content still readable
    assert [v.kind for v in service.versions(rid)] == ["decision.create", "decision.withdraw"]
    assert service.versions(rid)[1].reason == "Recorded against the wrong child"
    # Its open follow-up is cancelled with the reason, not left nagging.
    assert [f.state for f in detail.followups] == ["cancelled"]
    with pytest.raises(InvalidChange):
        service.correct_decision(rid, make_share(), "too late",
                                 parents=service.get_decision(rid).heads)
    assert len(service.list_decisions(SearchFilters(include_withdrawn=False))) == 0
    assert len(service.list_decisions()) == 1


def test_a_share_gets_a_confirm_follow_up_due_in_working_days(service: Sharelog) -> None:
    # Friday 18 Dec 2026: Mon 21, Tue 22, Wed 23, Thu 24, then Christmas (Fri 25), the weekend
    # and Boxing Day's substitute (Mon 28) are skipped: the fifth working day is Tue 29 Dec.
    service.set_now(dt.datetime(2026, 12, 18, 12, 0))
    rid = service.record_decision(make_share(decided_at="2026-12-18T09:00"))
    (fu,) = service.get_decision(rid).followups
    assert fu.kind == "confirm_receipt"
    assert "received, understood and acted" in fu.title
    assert fu.due_date == dt.date(2026, 12, 29)


def test_a_request_made_gets_a_chase_follow_up(service: Sharelog) -> None:
    rid = service.record_decision(make_request_made(decision="share"))
    (fu,) = service.get_decision(rid).followups
    assert fu.kind == "chase_response" and fu.title == "Chase the response"


def test_deciding_not_to_ask_has_nothing_to_chase(service: Sharelog) -> None:
    rid = service.record_decision(make_request_made(decision="not_share", method="",
                                                    seven_tests={}))
    assert service.get_decision(rid).followups == []


def test_not_sharing_creates_no_follow_up(service: Sharelog) -> None:
    rid = service.record_decision(make_share(decision="not_share", method="", seven_tests={},
                                             without_consent_ground=""))
    assert service.get_decision(rid).followups == []


def test_follow_up_lifecycle(service: Sharelog) -> None:
    service.set_now(dt.datetime(2026, 11, 25, 17, 0))
    a = service.record_decision(make_share(decided_at="2026-11-02T10:00"))  # due 9 Nov: overdue
    b = service.record_decision(make_share(decided_at="2026-11-18T10:00"))  # due 25 Nov: today
    c = service.record_decision(make_share(decided_at="2026-11-19T10:00"))  # due 26 Nov: week
    d = service.record_decision(make_share(decided_at="2026-11-25T10:00"))  # due 2 Dec: later
    groups = service.followups_by_bucket()
    ids = {k: [f.record_id for f in v] for k, v in groups.items()}
    assert ids == {"overdue": [a], "today": [b], "this_week": [c], "later": [d]}
    assert service.overdue_count() == 1
    assert groups["overdue"][0].is_overdue(service.today())

    fa = groups["overdue"][0].followup_id
    with pytest.raises(ValidationError):
        service.complete_followup(fa, "", parents=service.get_followup(fa).heads)
    service.complete_followup(fa, "GP confirmed receipt and booked a review",
                              parents=service.get_followup(fa).heads)
    assert service.overdue_count() == 0
    with pytest.raises(InvalidChange):
        service.cancel_followup(fa, "already done", parents=service.get_followup(fa).heads)

    fb = groups["today"][0].followup_id
    with pytest.raises(ValidationError):
        service.cancel_followup(fb, " ", parents=service.get_followup(fb).heads)
    service.cancel_followup(fb, "Case closed by the recipient",
                            parents=service.get_followup(fb).heads)

    fc = groups["this_week"][0].followup_id
    service.reschedule_followup(fc, dt.date(2026, 12, 7), "Recipient on leave",
                                parents=service.get_followup(fc).heads)
    history = service.followup_history(fc)
    assert [h.kind for h in history] == ["followup.create", "followup.reschedule"]
    assert history[1].detail["previous_due_date"] == "2026-11-26"
    assert history[1].detail["due_date"] == "2026-12-07"
    open_ids = {f.followup_id for f in service.my_followups()}
    assert fa not in open_ids and fb not in open_ids and fc in open_ids
    closed = {f.followup_id: f for f in service.my_followups(include_closed=True)}
    assert closed[fa].outcome == "GP confirmed receipt and booked a review"
    assert closed[fb].cancel_reason == "Case closed by the recipient"
    # "Due this week" (up to Sunday 29 Nov) no longer holds the rescheduled one.
    week = {f.followup_id for f in service.my_followups(due_within_week=True)}
    assert fc not in week


def test_working_calendar() -> None:
    cal = WorkingCalendar()
    assert cal.add_working_days(dt.date(2026, 11, 27), 1) == dt.date(2026, 11, 30)  # Fri→Mon
    assert cal.add_working_days(dt.date(2026, 4, 2), 1) == dt.date(2026, 4, 7)  # Easter
    assert cal.add_working_days(dt.date(2026, 11, 28), 0) == dt.date(2026, 11, 30)
    extra = WorkingCalendar({dt.date(2026, 11, 30)})
    assert extra.add_working_days(dt.date(2026, 11, 27), 1) == dt.date(2026, 12, 1)


def test_search_and_filters(service: Sharelog) -> None:
    service.set_today(dt.date(2026, 11, 25))
    a = service.record_decision(make_share(
        subjects=[Subject(name="Bethany Quill", case_ref="C777", kind="child")],
        information="Housing disrepair and damp in the bedroom", decided_at="2026-10-01T09:00"))
    b = service.record_decision(make_share(
        counterparty=Counterparty(name="K. Osei", organisation="Hillview Primary School"),
        decision="not_share", method="", seven_tests={}, without_consent_ground="",
        consent="refused", decided_at="2026-11-20T09:00"))
    c = service.record_decision(make_request_made(consent="given",
                                           reasons="Asked the school about attendance",
                                           decided_at="2026-11-24T09:00"))
    assert [s.record_id for s in service.search("bethany")] == [a]
    assert [s.record_id for s in service.search("quil")] == [a]  # prefix as you type
    assert [s.record_id for s in service.search("damp bedroom housing")] == [a]
    assert [s.record_id for s in service.search("hillview")] == [b]
    assert [s.record_id for s in service.search("attendance")] == [c]
    assert service.search("nothing-like-this") == []
    assert service.search('"; DROP TABLE decisions; --') == []  # typed text is never SQL
    assert service.decision_count() == 3

    def ids(**kw: object) -> set[str]:
        return {s.record_id for s in service.list_decisions(SearchFilters(**kw))}  # type: ignore[arg-type]

    assert ids(direction="request_made") == {c}
    assert ids(decision="not_share") == {b}
    assert ids(consent="refused") == {b}
    assert ids(date_from=dt.date(2026, 11, 1)) == {b, c}
    assert ids(date_to=dt.date(2026, 11, 20)) == {a, b}
    assert ids(followup_state="none") == {b}
    assert ids(followup_state="overdue") == {a}
    assert ids(followup_state="open") == {a, c}
    assert ids(subject_case_ref="C777") == {a}
    newest_first = [s.record_id for s in service.list_decisions()]
    assert newest_first == [c, b, a]


def test_the_address_book_learns_from_use(service: Sharelog) -> None:
    cp = Counterparty(name="J. Moreno", role="Health visitor",
                      organisation="Community Health Trust", contact="jm@example.org")
    service.record_decision(make_share(counterparty=cp))
    service.record_decision(make_share(counterparty=cp))
    service.record_decision(make_share())
    found = service.suggest_contacts("J. M")
    assert found[0] == {"name": "J. Moreno", "role": "Health visitor",
                        "organisation": "Community Health Trust", "contact": "jm@example.org"}
    assert service.suggest_contacts("community")[0]["name"] == "J. Moreno"
    assert service.suggest_contacts("100%_") == []
    # The most used come first.
    assert service.suggest_contacts("")[0]["name"] == "J. Moreno"


def test_drafts_live_in_the_vault(service: Sharelog) -> None:
    did = service.save_draft({"reasons": "half typed"})
    service.save_draft({"reasons": "half typed, more"}, draft_id=did)
    (draft,) = service.drafts()
    assert draft.body == {"reasons": "half typed, more"}
    service.record_decision(make_share(), draft_id=did)
    assert service.drafts() == []


def test_pages_of_a_search_join_up_to_the_whole_result(service: Sharelog) -> None:
    """The list shows a search a page at a time; the pages must be the whole answer, in order."""
    from app.demo import seed

    seed(service, 400, days_back=30)
    for text in ("child", "school", "ho", "health visitor"):
        everything = [s.record_id for s in service.search(text)]
        assert len(everything) > 40, text
        pages: list[str] = []
        before = None
        while True:
            page = service.search(text, SearchFilters(limit=37, before=before))
            pages.extend(s.record_id for s in page)
            if len(page) < 37:
                break
            before = (page[-1].decided_at, page[-1].record_id)
        assert pages == everything, text
    # The same with a filter beside the text.
    shares = [s.record_id for s in service.search("child", SearchFilters(decision="share"))]
    first = service.search("child", SearchFilters(decision="share", limit=10))
    assert [s.record_id for s in first] == shares[:10]


def test_a_cancelled_search_stops_and_leaves_the_vault_working(service: Sharelog) -> None:
    from app.demo import seed
    from app.service import QueryCancelled

    seed(service, 300, days_back=30)
    with pytest.raises(QueryCancelled):
        service.search("child", cancelled=lambda: True)
    assert len(service.search("child", cancelled=lambda: False)) > 10
    record_id = service.record_decision(make_share())
    assert service.get_decision(record_id).record_id == record_id


def test_my_followups_show_who_after_a_correction(service: Sharelog) -> None:
    record_id = service.record_decision(make_share())
    [before] = service.my_followups()
    assert (before.subjects, before.case_refs) == ("Alice Example", "C100200")
    corrected = make_share(
        subjects=[Subject(name="Alicia Example", case_ref="C100201", kind="child")],
        counterparty=Counterparty(name="K. Osei", organisation="Hillview Primary School"))
    service.correct_decision(record_id, corrected, "Wrong child and recipient recorded.",
                             parents=service.get_decision(record_id).heads)
    [after] = service.my_followups()
    assert after.followup_id == before.followup_id
    assert (after.subjects, after.case_refs, after.counterparty) == (
        "Alicia Example", "C100201", "K. Osei, Hillview Primary School")
    # A rebuild from the events gives the same.
    service.rebuild_projection()
    assert service.my_followups() == [after]


def test_wildcards_in_a_case_reference_filter_match_themselves(service: Sharelog) -> None:
    def person(ref: str) -> list[Subject]:
        return [Subject(name="Alice Example", case_ref=ref, kind="child")]

    exact = service.record_decision(make_share(subjects=person("C10_0%")))
    service.record_decision(make_share(subjects=person("C1000")))
    service.record_decision(make_share(subjects=person("C10X0ABC")))
    service.record_decision(make_share(subjects=person("C10\\0")))
    assert {s.record_id for s in service.list_decisions(
        SearchFilters(subject_case_ref="C10_0%"))} == {exact}
    assert service.list_decisions(SearchFilters(subject_case_ref="C1%")) == []
    assert service.list_decisions(SearchFilters(subject_case_ref="C10_0")) == []
    assert len(service.list_decisions(SearchFilters(subject_case_ref="C10\\0"))) == 1


def test_a_follow_up_cannot_be_moved_before_its_decision(service: Sharelog) -> None:
    service.record_decision(make_share(decided_at="2026-11-02T10:30"))
    (fu,) = service.my_followups()
    for due in (dt.date(2026, 11, 1), dt.date(2040, 1, 1)):
        with pytest.raises(ValidationError):
            service.reschedule_followup(fu.followup_id, due, "Recipient on leave",
                                        parents=service.get_followup(fu.followup_id).heads)
    with pytest.raises(ValidationError):
        service.reschedule_followup(fu.followup_id, "2026-12-01",
                                    parents=service.get_followup(fu.followup_id).heads)  # type: ignore[arg-type]
    assert [h.kind for h in service.followup_history(fu.followup_id)] == ["followup.create"]
    service.reschedule_followup(fu.followup_id, dt.date(2026, 11, 2),  # the day itself is fine
                                parents=service.get_followup(fu.followup_id).heads)


def test_a_draft_with_text_that_cannot_be_stored_is_refused_not_crashed(
        service: Sharelog) -> None:
    with pytest.raises(ValidationError) as err:
        service.save_draft({"record": {"reasons": "half \ud800 typed"}})
    assert "\ud800" not in str(err.value)
    with pytest.raises(ValidationError):
        service.save_draft({"record": {"reasons": "x" * 2_000_000}})
    assert service.drafts() == []
