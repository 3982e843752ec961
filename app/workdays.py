"""Due dates in working days: weekends and bank holidays are skipped."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

# England and Wales bank holidays (substitute days included).
ENGLAND_AND_WALES_BANK_HOLIDAYS: frozenset[dt.date] = frozenset(
    dt.date.fromisoformat(d)
    for d in (
        "2024-01-01 2024-03-29 2024-04-01 2024-05-06 2024-05-27 2024-08-26 2024-12-25 "
        "2024-12-26 2025-01-01 2025-04-18 2025-04-21 2025-05-05 2025-05-26 2025-08-25 "
        "2025-12-25 2025-12-26 2026-01-01 2026-04-03 2026-04-06 2026-05-04 2026-05-25 "
        "2026-08-31 2026-12-25 2026-12-28 2027-01-01 2027-03-26 2027-03-29 2027-05-03 "
        "2027-05-31 2027-08-30 2027-12-27 2027-12-28 2028-01-03 2028-04-14 2028-04-17 "
        "2028-05-01 2028-05-29 2028-08-28 2028-12-25 2028-12-26"
    ).split()
)


class WorkingCalendar:
    def __init__(self, holidays: Iterable[dt.date] = ENGLAND_AND_WALES_BANK_HOLIDAYS) -> None:
        self.holidays = frozenset(holidays)

    def is_working_day(self, day: dt.date) -> bool:
        return day.weekday() < 5 and day not in self.holidays

    def add_working_days(self, start: dt.date, days: int) -> dt.date:
        """The date ``days`` working days after ``start`` (start itself not counted)."""
        if days < 0:
            raise ValueError("days must not be negative")
        current = start
        remaining = days
        while remaining > 0:
            current += dt.timedelta(days=1)
            if self.is_working_day(current):
                remaining -= 1
        if days == 0:
            while not self.is_working_day(current):
                current += dt.timedelta(days=1)
        return current
