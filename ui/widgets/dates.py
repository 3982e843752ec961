"""Dates as every screen shows them: "2 Mar 2026", "2 Mar 2026 10:30"."""

from __future__ import annotations

import datetime as dt


def format_when(value: str) -> str:
    """'2026-03-02T10:30' as '2 Mar 2026 10:30' (the stored text if it does not parse)."""
    try:
        when = dt.datetime.fromisoformat(value)
    except ValueError:
        return value
    text = f"{when.day} {when:%b %Y}"
    if len(value) > 10:
        text += f" {when:%H:%M}"
    return text


def local_time(when: dt.datetime) -> dt.datetime:
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return when.astimezone()


def when_words(when: dt.datetime, now: dt.datetime | None = None) -> str:
    """'14:32' today, '13 Nov 2026 14:32' another day (local time)."""
    local = local_time(when)
    today = local_time(now).date() if now is not None else dt.datetime.now().astimezone().date()
    if local.date() == today:
        return f"{local:%H:%M}"
    return f"{local.day} {local:%b %Y} {local:%H:%M}"
