"""Events from a real vault, as a client will push them (read only; the vault code is
another engineer's)."""

from __future__ import annotations

from app.envelope import SignedEvent, from_v1
from app.projection import event_from_row
from app.service import Sharelog
from db import store


def vault_events(svc: Sharelog) -> list[SignedEvent]:
    """The vault's own chain, oldest first, for the wire."""
    rows = store.events_of_device(svc.vault.conn, svc.identity.device_id)
    return [from_v1(event_from_row(r)) for r in rows]


def device_public_key(svc: Sharelog) -> bytes:
    return svc._key.public_bytes
