"""The status bar's words for where sync stands (``app.sync.engine.SyncStatus``).

"Offline", "Syncing 12 of 40…", "Synced at 14:32", "3 changes waiting", or the engine's own
message with its action. A change waiting more than a day says since when.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QCoreApplication

from ui.sync.words import engine_words
from ui.widgets.dates import local_time, when_words
from ui.widgets.plural import counted

# The engine's state values (app.sync.engine.SyncState is a StrEnum of these).
NOT_SIGNED_IN, OFFLINE, SYNCING, SYNCED, WAITING, ERROR = (
    "not_signed_in", "offline", "syncing", "synced", "waiting", "error")
SIGNED_OUT = "signed_out"  # ours: bound to an account, no device token (after Sign out)
STALE_AFTER = dt.timedelta(days=1)
# Errors only a person can clear: no automatic retry, the action is theirs.
NEEDS_A_PERSON = frozenset({"sign_in_again", "device_revoked", "update_sharelog",
                            "store_too_old"})


@dataclass(frozen=True)
class LocalStatus:
    """Where it stands without an engine (not signed in, or signed out): the fields of
    ``app.sync.engine.SyncStatus`` that apply."""

    state: str
    waiting: int = 0
    done: int = 0
    total: int = 0
    synced_at: dt.datetime | None = None
    oldest_waiting: dt.datetime | None = None
    quarantined: int = 0
    error: str | None = None
    message: str | None = None


__all__ = ["LocalStatus", "local_time", "status_text", "when_words"]


def _tr(text: str) -> str:
    return QCoreApplication.translate("SyncStatus", text)


def day_words(when: dt.datetime) -> str:
    local = local_time(when)
    return f"{local.day} {local:%b %Y}"


def waiting_words(count: int, since: dt.datetime | None = None) -> str:
    """"3 changes waiting", or "… waiting since 13 Nov 2026" once the oldest is a day old."""
    if since is not None:
        return counted(count, _tr("1 change waiting since %2"),
                       _tr("%1 changes waiting since %2")).replace("%2", day_words(since))
    return counted(count, _tr("1 change waiting"), _tr("%1 changes waiting"))


def stale(status: Any, now: dt.datetime | None = None) -> bool:
    """A change has waited more than a day."""
    oldest = getattr(status, "oldest_waiting", None)
    if not status.waiting or oldest is None:
        return False
    if oldest.tzinfo is None:
        oldest = oldest.replace(tzinfo=dt.UTC)
    return (now or dt.datetime.now(dt.UTC)) - oldest > STALE_AFTER


def status_text(status: Any, now: dt.datetime | None = None) -> str:
    """One line for the status bar; changes the store refused are said beside the state
    for as long as they are held."""
    text = _state_text(status, now)
    if status.error == "refused" and str(status.state) != ERROR and status.message:
        text = f"{text} · {engine_words(status.message)}"
    return text


def _state_text(status: Any, now: dt.datetime | None) -> str:
    state = str(status.state)
    since = status.oldest_waiting if stale(status, now) else None
    waiting = waiting_words(status.waiting, since) if status.waiting else ""
    if state == SYNCING:
        if status.total:
            return _tr("Syncing %1 of %2…").replace("%1", f"{status.done:,}").replace(
                "%2", f"{status.total:,}")
        return _tr("Syncing…")
    if state == ERROR:
        return engine_words(status.message) or _tr("Sync stopped: see Sync > Sync details.")
    if state == NOT_SIGNED_IN:
        lead = _tr("Not signed in")
    elif state == SIGNED_OUT:
        lead = _tr("Signed out")
    elif state == OFFLINE:
        lead = _tr("Offline")
    elif state == SYNCED and not status.waiting:
        if status.synced_at is None:
            return _tr("Synced")
        return _tr("Synced at %1").replace("%1", when_words(status.synced_at, now))
    else:  # waiting
        return waiting or _tr("Waiting to sync")
    return f"{lead} · {waiting}" if waiting else lead


def status_tip(status: Any) -> str:
    """The longer word under the mouse: when it last synced, and what to do."""
    parts = []
    if status.synced_at is not None:
        parts.append(_tr("Last synced %1.").replace("%1", when_words(status.synced_at)))
    elif str(status.state) not in (NOT_SIGNED_IN, SIGNED_OUT):
        parts.append(_tr("Not synced yet."))
    if status.quarantined:
        parts.append(counted(status.quarantined,
                             _tr("1 change is held aside: see Sync > Sync details."),
                             _tr("%1 changes are held aside: see Sync > Sync details.")))
    if str(status.state) in (NOT_SIGNED_IN, SIGNED_OUT):
        parts.append(_tr("Sync > Sign in… connects this vault to your team's store."))
    else:
        parts.append(_tr("F5 syncs now; Sync > Sync details shows the last syncs."))
    return " ".join(parts)


def tray_words(status: Any) -> str:
    """What the tray's tooltip adds: only a change that has waited more than a day."""
    if not stale(status):
        return ""
    return counted(status.waiting, _tr("1 change not synced since %2"),
                   _tr("%1 changes not synced since %2")).replace(
        "%2", day_words(status.oldest_waiting))
