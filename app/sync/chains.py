"""This vault's chains against the store's confirmed tips (issue 9 point 7). No network.

The store keeps every event it accepted, and answers the tip (position, hash, signature)
of each chain it holds for the user (``GET /v1/tips``). After each sync the engine
compares:

- **this device's own chain**: the vault must hold every position up to the store's tip,
  and the event at the tip must be the one the store holds, byte for byte (its hash and
  signature). An event removed after it was pushed leaves a position missing; an event
  rewritten after it was pushed, even re-signed with this device's own key along with
  every one after it, changes the hash at the store's tip. Both are named, by position
  in the chain (never content);
- **other devices' chains**, which a practitioner's device holds only in part (the
  records it may see): a gap is by design and never reported; an event held at the
  position of the store's tip must be the store's.

The walk reads only positions and hashes, through one index; it never reads payloads.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from app.unit import Unit
from db import store
from db.vault import Connection

REMOVED = "removed"
REWRITTEN = "rewritten"


class Tip(Protocol):
    """The store's tip of one chain (``app.sync.transport.ChainTip``)."""

    @property
    def device_id(self) -> str: ...
    @property
    def device_seq(self) -> int: ...
    @property
    def hash(self) -> bytes | None: ...
    @property
    def signature(self) -> bytes | None: ...


@dataclass(frozen=True)
class ChainFinding:
    """What differs between the vault and the store for one chain (no content)."""

    kind: str  # REMOVED | REWRITTEN
    device_id: str
    own: bool  # this device's chain
    count: int  # changes missing, or 1 for the change at the tip
    store_seq: int  # the store's tip position

    @property
    def words(self) -> str:
        whose = "this device" if self.own else "another device of the team"
        if self.kind == REMOVED:
            changes = "1 change" if self.count == 1 else f"{self.count} changes"
            verb = "is" if self.count == 1 else "are"
            return (f"{changes} that {whose} sent to the team's store {verb} missing from "
                    f"this vault (of the first {self.store_seq} of its chain). The store "
                    "still holds them: restore a backup, or ask your administrator.")
        return (f"Changes that {whose} sent to the team's store were rewritten in this vault "
                f"after they were sent (change {self.store_seq} of its chain differs from "
                "the store's). Restore a backup, or ask your administrator.")


def compare(unit: Unit, tips: Iterable[Tip]) -> list[ChainFinding]:
    """Each chain of the vault against the store's tip of it (see the module's docstring)."""
    own = unit.identity.device_id
    wanted = [t for t in tips if t.device_seq > 0 and t.hash is not None]

    def check(conn: Connection) -> list[ChainFinding]:
        found = []
        for tip in wanted:
            finding = (_own(conn, tip) if tip.device_id == own else _foreign(conn, tip))
            if finding is not None:
                found.append(finding)
        return found

    return unit.read(check)


def _own(conn: Connection, tip: Tip) -> ChainFinding | None:
    held = store.chain_count_upto(conn, tip.device_id, tip.device_seq)
    if held < tip.device_seq:
        return ChainFinding(REMOVED, tip.device_id, True, tip.device_seq - held,
                            tip.device_seq)
    return _differs(conn, tip, own=True)


def _foreign(conn: Connection, tip: Tip) -> ChainFinding | None:
    return _differs(conn, tip, own=False)


def _differs(conn: Connection, tip: Tip, *, own: bool) -> ChainFinding | None:
    at = store.event_link_at(conn, tip.device_id, tip.device_seq)
    if at is None:
        return None  # a gap in a partial chain: the store holds it, by design
    _event_id, digest, signature, _prev = at
    if digest != tip.hash or (tip.signature is not None and signature != tip.signature):
        return ChainFinding(REWRITTEN, tip.device_id, own, 1, tip.device_seq)
    return None
