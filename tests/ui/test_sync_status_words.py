"""The status bar's words for each state the engine reports (issue 10, point 3), singular
and plural right, a change waiting more than a day said with its date."""

from __future__ import annotations

import datetime as dt

from PySide6.QtCore import QTranslator

from app.sync.engine import OFFLINE_WORDS, WORDS, SyncState, SyncStatus, refused_words
from ui.sync.status import SIGNED_OUT, LocalStatus, status_text, tray_words
from ui.sync.words import engine_words

NOW = dt.datetime(2026, 12, 1, 14, 32, tzinfo=dt.UTC)


def local(hh_mm: str) -> str:
    h, m = map(int, hh_mm.split(":"))
    return f"{NOW.replace(hour=h, minute=m).astimezone():%H:%M}"


def test_each_state_in_words(qapp) -> None:
    assert status_text(SyncStatus(SyncState.SYNCING, done=12, total=40), NOW) == \
        "Syncing 12 of 40…"
    assert status_text(SyncStatus(SyncState.SYNCING), NOW) == "Syncing…"
    assert status_text(SyncStatus(SyncState.SYNCED, synced_at=NOW),
                       NOW.astimezone()) == f"Synced at {local('14:32')}"
    assert status_text(SyncStatus(SyncState.WAITING, waiting=1, oldest_waiting=NOW),
                       NOW) == "1 change waiting"
    assert status_text(SyncStatus(SyncState.WAITING, waiting=1234, oldest_waiting=NOW),
                       NOW) == "1,234 changes waiting"
    assert status_text(SyncStatus(SyncState.OFFLINE, waiting=2, oldest_waiting=NOW,
                                  error="offline"), NOW) == "Offline · 2 changes waiting"
    two_days = NOW - dt.timedelta(days=2)
    stale = SyncStatus(SyncState.OFFLINE, waiting=1, oldest_waiting=two_days)
    assert status_text(stale, NOW) == "Offline · 1 change waiting since 29 Nov 2026"
    assert tray_words(stale).startswith("1 change not synced since ")
    assert tray_words(SyncStatus(SyncState.WAITING, waiting=3,
                                 oldest_waiting=dt.datetime.now(dt.UTC))) == ""
    revoked = SyncStatus(SyncState.ERROR, error="device_revoked",
                         message="This computer's access was revoked: ask your administrator.")
    assert status_text(revoked, NOW) == revoked.message
    refused = SyncStatus(SyncState.SYNCED, synced_at=NOW, quarantined=2, error="refused",
                         message="2 changes were refused by the team's store and kept on "
                                 "this device: see details.")
    assert status_text(refused, NOW.astimezone()).endswith(
        "· 2 changes were refused by the team's store and kept on this device: see details.")
    assert status_text(LocalStatus(SyncState.NOT_SIGNED_IN), NOW) == "Not signed in"
    assert status_text(LocalStatus(SIGNED_OUT, waiting=1), NOW) == "Signed out · 1 change waiting"


class _Marking(QTranslator):
    """A translation that marks every text of the engine's words, so a test sees which
    words went through the translator."""

    def translate(self, context, source, disambiguation=None, n=-1):  # noqa: ANN001, ANN201
        return f"«{source}»" if context == "SyncEngine" else None

    def isEmpty(self) -> bool:  # noqa: N802 - Qt's name
        return False


def test_every_message_of_the_engine_reaches_the_window_translated(qapp) -> None:
    messages = [*WORDS.values(), OFFLINE_WORDS, refused_words(1), refused_words(3)]
    marking = _Marking()
    qapp.installTranslator(marking)
    try:
        for message in messages:
            shown = status_text(SyncStatus(SyncState.ERROR, error="x", message=message), NOW)
            assert shown.startswith("«") and shown.endswith("»"), message
        three = SyncStatus(SyncState.SYNCED, synced_at=NOW, error="refused",
                           message=refused_words(3))
        assert status_text(three, NOW).endswith(
            "«3 changes were refused by the team's store and kept on this device: "
            "see details.»")
    finally:
        qapp.removeTranslator(marking)
    assert engine_words(WORDS["device_revoked"]) == WORDS["device_revoked"]


def test_every_refusal_a_device_keeps_is_said_in_words_of_its_own(qapp) -> None:
    """Each code of an authentic change the store refuses (rights or state: the ones a
    device keeps and acknowledges) has its own words in Sync details and the record's
    pane, never the general "refused"; a change made on a refused one says so, and what
    to do."""
    from types import SimpleNamespace

    from server.sync import RIGHTS, STATE
    from ui.decisions.refused_words import why_and_todo
    from ui.widgets.store_reasons import store_reason

    general = store_reason("refused")
    words = {code: store_reason(code) for code in RIGHTS | STATE}
    assert [code for code, text in words.items() if text == general] == []
    assert len(set(words.values())) == len(words)
    change = SimpleNamespace(reason_code="parent_refused", followup_id=None)
    said = why_and_todo(change, SimpleNamespace(owner_id="u"), {}, None)
    assert "earlier change of yours that the team's store refused" in said
    assert "make it again" in said
