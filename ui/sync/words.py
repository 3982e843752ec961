"""Sharelog's words for what the store said: a refusal's reason, a sync's outcome, and the
sync engine's own messages through the translator (``app/`` has no Qt, so its words are
English; each one is written out here, so a translation finds it)."""

from __future__ import annotations

import re

from PySide6.QtCore import QCoreApplication

from ui.widgets.plural import counted
from ui.widgets.store_reasons import store_reason

__all__ = ["engine_words", "outcome_words", "store_reason"]

_OUTCOMES = {
    "synced": "Synced", "ok": "Synced", "success": "Synced",
    "offline": "Offline: the store could not be reached",
    "sign_in_again": "Sign in again", "device_revoked": "This computer's access was revoked",
    "update_sharelog": "Update Sharelog", "store_too_old": "The store needs an update",
    "refused": "Changes refused by the store", "server_error": "The store failed",
}


def outcome_words(code: str | None) -> str:
    tr = QCoreApplication.translate
    if not code:
        return tr("SyncWords", "Synced")
    return tr("SyncWords", _OUTCOMES.get(str(code), str(code).replace("_", " ").capitalize()))


def _engine_words() -> dict[str, str]:
    """The engine's English (``app.sync.engine.WORDS`` and ``refused_words``) → its words
    here. A test holds each message of the engine to an entry of this table."""
    tr = QCoreApplication.translate
    return {
        "The team's store no longer accepts this device's sign-in: sign in again.":
            tr("SyncEngine", "The team's store no longer accepts this device's sign-in: "
                             "sign in again."),
        "This computer's access was revoked: ask your administrator.":
            tr("SyncEngine", "This computer's access was revoked: ask your administrator."),
        "This Sharelog is too old for the team's store: update Sharelog.":
            tr("SyncEngine", "This Sharelog is too old for the team's store: update Sharelog."),
        "The team's store is too old for this Sharelog: ask your administrator to update it.":
            tr("SyncEngine", "The team's store is too old for this Sharelog: ask your "
                             "administrator to update it."),
        "The team's store failed: Sharelog will try again.":
            tr("SyncEngine", "The team's store failed: Sharelog will try again."),
        "The team's store asked Sharelog to wait: it will try again.":
            tr("SyncEngine", "The team's store asked Sharelog to wait: it will try again."),
        "The team's store cannot be reached: Sharelog will sync when the connection comes "
        "back.":
            tr("SyncEngine", "The team's store cannot be reached: Sharelog will sync when the "
                             "connection comes back."),
        "The team's store gave another key for a device this vault already knows; changes "
        "signed with it are not accepted. Ask your administrator.":
            tr("SyncEngine", "The team's store gave another key for a device this vault "
                             "already knows; changes signed with it are not accepted. Ask "
                             "your administrator."),
        "This device's changes could not be verified by the team's store: ask your "
        "administrator.":
            tr("SyncEngine", "This device's changes could not be verified by the team's "
                             "store: ask your administrator."),
    }


_REFUSED = re.compile(r"^(1 change was|(\d+) changes were) refused by the team's store and "
                      r"kept on this device: see details\.$")


def engine_words(message: str | None) -> str:
    """The engine's message in the window's language. Words the table does not know (the
    chain findings, which name counts and positions) are shown as the engine said them."""
    if not message:
        return ""
    refused = _REFUSED.match(message)
    if refused:
        tr = QCoreApplication.translate
        n = 1 if refused.group(2) is None else int(refused.group(2))
        return counted(n, tr("SyncEngine", "1 change was refused by the team's store and kept "
                                           "on this device: see details."),
                       tr("SyncEngine", "%1 changes were refused by the team's store and kept "
                                        "on this device: see details."))
    return _engine_words().get(message, message)
