"""Long checks and rebuilds stop when the person who started them cancels."""

from __future__ import annotations


class Cancelled(Exception):
    """Stopped on request before the end; nothing was changed."""

    def __init__(self) -> None:
        super().__init__("Stopped before the end; nothing was changed.")
