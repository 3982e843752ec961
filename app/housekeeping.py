"""Work done once the vault has been quiet for a moment: a checkpoint, the daily backup.

A committed save sits in the ``-wal`` file until a checkpoint copies it into the vault
file. Should the ``-wal`` then be lost (a copy of the vault file alone, a clean-up tool,
damage), so would the save. So a few seconds after the last change, the vault is
checkpointed (TRUNCATE) and the vault file alone holds everything.

One daemon thread per open vault, started at the first change; a save only notes the
time (a lock and a notify: about a microsecond). The work itself returns False when the
vault is busy (a save under way); it is then tried again after the next quiet spell.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

log = logging.getLogger("sharelog.housekeeping")

QUIET_SECONDS = 3.0


class WhenQuiet:
    """Runs ``work`` once no change has been made for ``quiet`` seconds."""

    def __init__(self, work: Callable[[], bool], quiet: float = QUIET_SECONDS) -> None:
        self._work = work
        self.quiet = quiet
        self._cond = threading.Condition()
        self._due: float | None = None
        self._stopped = False
        self._thread: threading.Thread | None = None

    def changed(self) -> None:
        with self._cond:
            if self._stopped:
                return
            self._due = time.monotonic() + self.quiet
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="vault-quiet",
                                                daemon=True)
                self._thread.start()
            else:
                self._cond.notify()

    def stop(self) -> None:
        """No more work after this returns (work already running is waited for)."""
        with self._cond:
            self._stopped = True
            self._due = None
            self._cond.notify()
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=30)

    @property
    def pending(self) -> bool:
        with self._cond:
            return self._due is not None

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._stopped and (self._due is None
                                             or self._due > time.monotonic()):
                    wait = None if self._due is None else self._due - time.monotonic()
                    self._cond.wait(wait)
                if self._stopped:
                    return
                self._due = None
            try:
                done = self._work()
            except Exception as exc:  # never let housekeeping take the application down
                log.warning("housekeeping failed: %s", type(exc).__name__)
                done = True
            if not done:
                self.changed()
