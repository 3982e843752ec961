"""Sharelog's words for what the store said: a refusal's reason, a sync's outcome."""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication

from ui.widgets.store_reasons import store_reason

__all__ = ["outcome_words", "store_reason"]

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
