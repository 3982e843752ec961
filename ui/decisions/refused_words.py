"""What the record's pane says of a change made here that the team's store refused
(``app.sync.local.RefusedChange``): that it was not accepted, why, in Sharelog's words,
what to do, and the change itself, readable. The record itself shows what the team has."""

from __future__ import annotations

import datetime as dt
import html
from typing import Any

from PySide6.QtCore import QCoreApplication

from app.rights import TeamView
from ui.decisions.record_words import changes
from ui.widgets.dates import format_when, when_words
from ui.widgets.store_reasons import store_reason


def _t(text: str) -> str:
    return QCoreApplication.translate("RefusedWords", text)


def _esc(text: str) -> str:
    return html.escape(text or "").replace("\n", "<br>")


def _line(text: str) -> str:
    return f"<p class='d'>{_esc(text)}</p>"


def _name(team: TeamView | None, user_id: str) -> str:
    if team is None or not user_id:
        return _t("its holder")
    return _t("you") if team.is_me(user_id) else team.name(user_id)


def _title(followups: dict[str, Any], followup_id: str | None) -> str:
    fu = followups.get(followup_id or "")
    return fu.title if fu is not None else _t("a follow-up")


def what_words(change: Any, followups: dict[str, Any], team: TeamView | None) -> str:
    """The change, as its author would say it ("you marked the follow-up … done")."""
    title = _title(followups, change.followup_id)
    words = {
        "decision.create": _t("you recorded this decision"),
        "decision.correct": _t("your correction of this record"),
        "decision.withdraw": _t("your withdrawal of this record"),
        "followup.create": _t("the follow-up you added, “%1”"),
        "followup.done": _t("you marked the follow-up “%1” done"),
        "followup.cancel": _t("you cancelled the follow-up “%1”"),
        "followup.reschedule": _t("you moved the follow-up “%1” to %2"),
        "followup.reassign": _t("you gave the follow-up “%1” to %2"),
    }.get(change.kind, _t("a change you made"))
    second = (format_when(change.due_date) if change.kind == "followup.reschedule"
              else _name(team, change.event.assignee_id))
    return words.replace("%1", title).replace("%2", second)


def why_and_todo(change: Any, detail: Any, followups: dict[str, Any],
                 team: TeamView | None) -> str:
    """Why the store refused it and what the person can do, in Sharelog's words."""
    code = change.reason_code
    if code == "not_assignee":
        fu = followups.get(change.followup_id or "")
        holder = _name(team, fu.owner_id) if fu is not None else _t("someone else")
        return (_t("By then the follow-up was held by %1, and only its holder or a manager "
                   "can change it. If it still needs recording, ask %1 or your manager.")
                .replace("%1", holder))
    if code == "not_owner":
        owner = _name(team, detail.owner_id)
        return (_t("Only %1, whose record it is, can correct or withdraw it. If it still "
                   "needs changing, ask %1.").replace("%1", owner))
    if code == "not_manager":
        return _t("Only a manager can give a follow-up to someone else: ask your manager.")
    if code == "parent_refused":
        return _t("It was made on an earlier change of yours that the team's store refused, "
                  "so it was not accepted either. If it still needs recording, make it "
                  "again on the record as it is now.")
    return store_reason(code) + " " + _t("Ask your manager or your administrator.")


def _held_since(change: Any) -> str:
    """When the refusal was met, in Sync details' own words (its "Held since")."""
    try:
        return when_words(dt.datetime.fromisoformat(change.refused_at))
    except ValueError:
        return format_when(change.refused_local[:16])


def banner_text(refused: list[Any], detail: Any, team: TeamView | None) -> str:
    """The pane's note above the record (plain text; empty when nothing was refused)."""
    if not refused:
        return ""
    followups = {fu.followup_id: fu for fu in detail.followups}
    lines = []
    for change in refused:
        lines.append(
            _t("Your change of %1 was not accepted by the team's store: %2.")
            .replace("%1", format_when(change.made_at[:16]))
            .replace("%2", what_words(change, followups, team))
            + " " + why_and_todo(change, detail, followups, team))
    last = refused[-1]
    lines.append(
        (_t("This record shows what the team has. Your change is kept on this device: read "
            "it under History; Sync details lists it, held since %1.") if len(refused) == 1
         else _t("This record shows what the team has. Your changes are kept on this "
                 "device: read them under History; Sync details lists them, the last held "
                 "since %1."))
        .replace("%1", _held_since(last)))
    return "\n".join(lines)


def history_html(refused: list[Any], detail: Any, team: TeamView | None) -> str:
    """The refused changes, readable, for the top of the History tab (HTML, escaped)."""
    followups = {fu.followup_id: fu for fu in detail.followups}
    blocks = []
    for change in reversed(refused):
        heading = _t("Not accepted by the team's store · %1").replace(
            "%1", format_when(change.made_at[:16]))
        what = _t("What: %1.").replace("%1", what_words(change, followups, team))
        lines = [f"<p class='v'><b>⚠ {_esc(heading)}</b></p>", _line(what)]
        if change.note:
            label = _t("Outcome:") if change.kind == "followup.done" else _t("Reason:")
            lines.append(f"<p class='d'>{_esc(label)} <i>{_esc(change.note)}</i></p>")
        record = change.record
        if record is not None:
            for field, old, new in changes(detail.record, record):
                if old == new:  # a detail the short words leave out
                    lines.append(_line(_t("Would have changed %1.").replace("%1", field)))
                else:
                    lines.append(_line(_t("Would have changed %1:").replace("%1", field)
                                       + f" {old} → {new}"))
        lines.append(_line(why_and_todo(change, detail, followups, team)))
        blocks.append("".join(lines))
    return "".join(blocks)


def followup_note(refused: list[Any], followup_id: str) -> str:
    """A line for the follow-up's row: its holder's change here was not accepted."""
    mine = [c for c in refused if c.followup_id == followup_id]
    if not mine:
        return ""
    return (_t("Your change of %1 was not accepted by the team's store.")
            .replace("%1", format_when(mine[-1].made_at[:16])))
