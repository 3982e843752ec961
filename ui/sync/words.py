"""Sharelog's words for what the store said: a refusal's reason, a sync's outcome."""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication

# The store's refusal codes (server/sync.py) in a practitioner's words; no record content.
_STORE_REASONS = {
    "wrong_author": "The store says this change names another author than this computer's "
                    "account.",
    "wrong_team": "The store says this change belongs to another team.",
    "record_exists": "The store already holds a record with the same identity.",
    "not_owner": "Only the person whose record it is can change it, the store says.",
    "unknown_record": "The store holds no record this change could belong to.",
    "wrong_owner": "The store says this change names another owner than the record's.",
    "assignee_not_in_team": "The follow-up was given to someone outside the team.",
    "followup_exists": "The store already holds a follow-up with the same identity.",
    "not_manager": "Only a manager can give a follow-up to someone else.",
    "unknown_followup": "The store holds no follow-up this change could belong to.",
    "wrong_record": "The follow-up belongs to another record, the store says.",
    "not_assignee": "Only the person the follow-up is given to can close it, the store says.",
    "unknown_entity": "The team's store is older than this Sharelog and cannot take this "
                      "change yet.",
    "refused": "The team's store refused this change.",
}

_OUTCOMES = {
    "synced": "Synced", "ok": "Synced", "success": "Synced",
    "offline": "Offline: the store could not be reached",
    "sign_in_again": "Sign in again", "device_revoked": "This computer's access was revoked",
    "update_sharelog": "Update Sharelog", "store_too_old": "The store needs an update",
    "refused": "Changes refused by the store", "server_error": "The store failed",
}


def store_reason(code: str, fallback: str = "") -> str:
    tr = QCoreApplication.translate
    if code in _STORE_REASONS:
        return tr("SyncWords", _STORE_REASONS[code])
    return fallback or tr("SyncWords", "The team's store refused this change.")


def outcome_words(code: str | None) -> str:
    tr = QCoreApplication.translate
    if not code:
        return tr("SyncWords", "Synced")
    return tr("SyncWords", _OUTCOMES.get(str(code), str(code).replace("_", " ").capitalize()))
