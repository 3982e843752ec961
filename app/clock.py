"""The one clock of an unlocked vault: the hybrid logical clock's wall time, the
milliseconds in new UUIDv7 ids, and "now" / "today" as the practitioner sees them.

Tests and demos move it (``set_now``, ``set_today``, ``skew``); nothing else in ``app/``
reads the system clock for a change it records. Times stored by the projection are UTC
(``utc_iso``); what a person reads is converted to their local time only when shown
(``local_iso``).
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable


class Clock:
    """Wall time for one vault. Reading it never touches the disk: the UI thread may ask."""

    def __init__(self, *, skew: dt.timedelta = dt.timedelta(0),
                 source: Callable[[], float] = time.time) -> None:
        self._source = source
        self._skew = skew.total_seconds()
        self._now: dt.datetime | None = None  # a stopped clock (local, naive)
        self._today: dt.date | None = None  # another day, the time of day real
        self._lock = threading.Lock()

    # -- reading ---------------------------------------------------------------------------
    def time(self) -> float:
        """Seconds since 1970 (UTC), as this device believes."""
        with self._lock:
            stopped, day = self._now, self._today
        if stopped is not None:
            return stopped.timestamp()
        real = self._source() + self._skew
        if day is not None:
            local = dt.datetime.fromtimestamp(real)
            return dt.datetime.combine(day, local.time()).timestamp()
        return real

    def ms(self) -> int:
        """Milliseconds since 1970: the hybrid logical clock's wall and UUIDv7's time."""
        return int(self.time() * 1000)

    def now(self) -> dt.datetime:
        """Local time, naive, as the practitioner sees it: what every rule measures against."""
        with self._lock:
            stopped = self._now
        if stopped is not None:
            return stopped
        return dt.datetime.fromtimestamp(self.time())

    def today(self) -> dt.date:
        return self.now().date()

    # -- moving it (tests, demos) ------------------------------------------------------------
    def set_now(self, when: dt.datetime | None) -> None:
        """Stop the clock at ``when`` (local, naive); None lets it run again."""
        with self._lock:
            self._now = when

    def set_today(self, day: dt.date | None) -> None:
        """Pretend today is another day (the time of day stays real)."""
        with self._lock:
            self._today = day

    def set_skew(self, skew: dt.timedelta) -> None:
        """A device whose clock runs ahead (or behind) by ``skew``."""
        with self._lock:
            self._skew = skew.total_seconds()


def utc_iso(ms: int) -> str:
    """Milliseconds since 1970 as UTC ISO text to the second: '2026-11-13T10:30:00+00:00'."""
    return dt.datetime.fromtimestamp(ms // 1000, dt.UTC).isoformat(timespec="seconds")


def local_iso(text: str) -> str:
    """Stored UTC text as the local naive time a person reads ('2026-11-13T10:30:00')."""
    try:
        when = dt.datetime.fromisoformat(text)
    except ValueError:
        return text
    if when.tzinfo is None:
        return text
    return when.astimezone().replace(tzinfo=None).isoformat(timespec="seconds")
