"""The team's store's refusal codes in a practitioner's words (Sync details and the record's
pane say the same); no record content."""

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
    "parent_refused": "It was made on an earlier change of yours that the store refused.",
    "unknown_entity": "The team's store is older than this Sharelog and cannot take this "
                      "change yet.",
    "refused": "The team's store refused this change.",
}


def store_reason(code: str, fallback: str = "") -> str:
    tr = QCoreApplication.translate
    if code in _STORE_REASONS:
        return tr("SyncWords", _STORE_REASONS[code])
    return fallback or tr("SyncWords", "The team's store refused this change.")
