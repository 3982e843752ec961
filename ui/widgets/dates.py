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
