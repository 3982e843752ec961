"""Counts in words that read right for one and for many ("1 change", "2 changes")."""

from __future__ import annotations


def counted(count: int, one: str, many: str) -> str:
    """``one`` when the count is 1, else ``many`` with %1 as the count (1,234).

    Both texts come translated from the caller (``self.tr("1 change waiting")``,
    ``self.tr("%1 changes waiting")``): without translation files Qt's own ``%n``
    forms do not change the noun in English.
    """
    return one if count == 1 else many.replace("%1", f"{count:,}")
