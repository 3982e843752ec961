"""Settling a conflict: a person chooses, for each field changed differently by concurrent
versions, one of the values or writes a new one, says why, and saves a version whose
parents are every head. Nothing is discarded: the values not chosen stay in the record's
history (the versions that wrote them are kept), and ``conflicts()`` no longer lists them.

- A record's fields: one correction carrying the chosen values (``app.merge``: a
  correction that saw the conflict writes every field it saw in conflict).
- A record withdrawn while it was corrected elsewhere (``status`` in conflict): a withdrawn
  record is never corrected, so the only settlement is to confirm the withdrawal after
  every version.
- A follow-up's field: the change that writes it — done or cancelled (``state``, with the
  outcome or reason), a new due date, a holder (a manager's) — after every version.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from app.decisions import Decisions
from app.followups import FollowUps
from app.merge import STATUS, WITHDRAWN
from app.problems import InvalidChange, Problem, ValidationError
from app.record_data import read_record
from app.unit import Saved
from app.validation import require_reason

# Fields a person may write anew while settling a conflict (free text); the others are
# chosen from the values the versions gave.
FREE_TEXT_FIELDS = frozenset({
    "information", "requested_information", "purpose", "reasons", "person_informed_reason",
    "advice_notes", "third_party_protection",
})
CHANGED_SINCE_SHOWN = "The record changed since it was shown: open it again."


class Resolutions:
    def __init__(self, decisions: Decisions, followups: FollowUps) -> None:
        self.decisions = decisions
        self.followups = followups

    def resolve_record(self, record_id: str, chosen: Mapping[str, Any], reason: str, *,
                       parents: Iterable[str]) -> Saved:
        """Settle the record's fields in conflict with ``chosen`` (field -> value), after
        the versions the person saw (``parents``: all of the record's heads)."""
        require_reason(reason, "settling the conflict")
        seen = tuple(parents)
        detail = self.decisions.get(record_id)
        if set(seen) != set(detail.heads):
            raise InvalidChange(CHANGED_SINCE_SHOWN)
        if detail.read_only:
            raise InvalidChange(detail.read_only)
        in_conflict = set(detail.conflicts)
        if not in_conflict:
            raise InvalidChange("This record is not in conflict any more.")
        unknown = set(chosen) - in_conflict
        if unknown:
            raise ValidationError([Problem(f, "This field is not in conflict.")
                                   for f in sorted(unknown)])
        if STATUS in in_conflict:
            if chosen.get(STATUS, WITHDRAWN) != WITHDRAWN:
                raise ValidationError([Problem(STATUS, (
                    "A withdrawn record cannot be made active again: confirm the "
                    "withdrawal, or record the decision again."))])
            return self.decisions.withdraw(record_id, reason, parents=seen)
        missing = sorted(in_conflict - set(chosen))
        if missing:
            raise ValidationError([Problem(f, "Choose one of the values, or write a new one.")
                                   for f in missing])
        offered = {c.field: [v.value for v in c.values]
                   for c in self.decisions.conflicts(record_id) if c.entity == "decision"}
        for name, value in chosen.items():
            if value not in offered.get(name, []) and not (
                    name in FREE_TEXT_FIELDS and isinstance(value, str)):
                raise ValidationError([Problem(name, "Choose one of the values shown.")])
        data = detail.record.to_dict()
        data.update(chosen)
        record, problems = read_record(data)
        if problems:
            raise ValidationError(problems)
        return self.decisions.correct(record_id, record, reason, parents=seen)

    def resolve_followup(self, followup_id: str, field: str, value: Any, note: str, *,
                         parents: Iterable[str]) -> Saved:
        """Settle one field of a follow-up in conflict, after every version (``parents``):
        ``state`` to "done" (``note``: the outcome) or "cancelled" (``note``: the reason);
        ``outcome`` or ``cancel_reason`` to a text; ``due_date`` to a date (``note``: why);
        ``owner_id`` to a member of the team (a manager's change; ``note``: why)."""
        seen = tuple(parents)
        fu = self.followups.get(followup_id)
        if set(seen) != set(fu.heads):
            raise InvalidChange(CHANGED_SINCE_SHOWN)
        if field not in fu.conflicts:
            raise InvalidChange("This follow-up is not in conflict any more.")
        if field == "state":
            if value == "done":
                return self.followups.complete(followup_id, note, parents=seen)
            if value == "cancelled":
                return self.followups.cancel(followup_id, note, parents=seen)
            raise ValidationError([Problem("state", "Choose done or cancelled.")])
        if field == "outcome":
            return self.followups.complete(followup_id, str(value or ""), parents=seen)
        if field == "cancel_reason":
            return self.followups.cancel(followup_id, str(value or ""), parents=seen)
        require_reason(note, "settling the conflict")
        if field == "due_date":
            due = value if isinstance(value, dt.date) else _date(value)
            return self.followups.reschedule(followup_id, due, note, parents=seen)
        if field == "owner_id":
            return self.followups.reassign(followup_id, str(value or ""), parents=seen,
                                           reason=note)
        raise InvalidChange("This follow-up is not in conflict any more.")


def _date(value: Any) -> dt.date:
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise ValidationError([Problem("due_date", "Give the new due date as a date.")]) \
            from None


__all__ = ["FREE_TEXT_FIELDS", "Resolutions"]
