"""Events from a real vault, as a client will push them (read only)."""

from __future__ import annotations

from app.envelope import SignedEvent
from app.projection import event_from_row
from app.service import Sharelog
from db import store


def device_events(svc: Sharelog) -> list[SignedEvent]:
    """The vault's own chain, oldest first, as the wire carries it."""
    rows = store.events_of_device(svc.vault.conn, svc.identity.device_id)
    return [event_from_row(r) for r in rows]


vault_events = device_events


def device_public_key(svc: Sharelog) -> bytes:
    return svc.device_public_key
