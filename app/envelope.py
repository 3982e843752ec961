"""Envelope v2: what a store needs to scope and authorise an event, signed, without its payload.

Pure Python (no Qt, no SQL); the client and the store both build, check and carry
events through this module. v1 events (``app.events``) stay verifiable: for them the
owner and the assignee are their author, since a v1 vault had one local user.

The byte layout is written down in docs/sync-protocol.md; ``envelope_bytes`` is its
one implementation.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass, replace
from typing import Any

from app.events import (
    ENVELOPE_TAG as ENVELOPE_TAG_V1,
)
from app.events import (
    GENESIS_HASH,
    DeviceKey,
    Event,
    canonical,
    chain_link,
    signature_verifier,
    uuid7,
)
from app.events import (
    envelope_bytes as envelope_bytes_v1,
)

ENVELOPE_TAG_V2 = b"sharelog-event-v2\x00"
SCHEMA_V1 = 1
SCHEMA_V2 = 2
SUPPORTED_SCHEMA_VERSIONS = (SCHEMA_V1, SCHEMA_V2)

# Limits both sides enforce, so a client never signs what a store will refuse for size.
MAX_PAYLOAD_BYTES = 64 * 1024
MAX_ID_CHARS = 64
MAX_KIND_CHARS = 64
MAX_HLC_CHARS = 96
MAX_PARENTS = 64

REASSIGN_KIND = "followup.reassign"


class EnvelopeError(Exception):
    """An event whose envelope does not hold together. ``code`` is stable; the text is safe."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class SignedEvent:
    """One event as a store keeps it and the wire carries it (v1 or v2).

    ``owner_id`` is the owner of the record the event belongs to; ``assignee_id`` is,
    for a follow-up event, who holds the follow-up after the event ("" otherwise).
    Both are signed in v2; in v1 they are implied (see ``effective_owner``).
    """

    event_id: str
    entity: str
    kind: str
    record_id: str
    entity_id: str
    team_id: str
    author_id: str
    device_id: str
    device_seq: int
    hlc: str
    parents: tuple[str, ...]
    schema_version: int
    owner_id: str
    assignee_id: str
    payload: bytes
    prev_hash: bytes
    hash: bytes
    signature: bytes

    @property
    def effective_owner(self) -> str:
        return self.author_id if self.schema_version == SCHEMA_V1 else self.owner_id

    @property
    def effective_assignee(self) -> str:
        if self.entity != "followup":
            return ""
        return self.author_id if self.schema_version == SCHEMA_V1 else self.assignee_id

    def link(self) -> bytes:
        """What the device's next event must carry as ``prev_hash``."""
        return chain_link(self.hash, self.signature)

    def __repr__(self) -> str:  # never the payload: it may hold a narrative
        return (f"SignedEvent({self.kind} {self.event_id} device_seq={self.device_seq} "
                f"v{self.schema_version})")


def from_v1(event: Event) -> SignedEvent:
    """A vault's v1 event, for the wire. Owner and assignee are implied, so left empty."""
    return SignedEvent(
        event_id=event.event_id, entity=event.entity, kind=event.kind,
        record_id=event.record_id, entity_id=event.entity_id, team_id=event.team_id,
        author_id=event.author_id, device_id=event.device_id, device_seq=event.device_seq,
        hlc=event.hlc, parents=tuple(event.parents), schema_version=event.schema_version,
        owner_id="", assignee_id="", payload=event.payload, prev_hash=event.prev_hash,
        hash=event.hash, signature=event.signature,
    )


def _field(value: str | bytes) -> bytes:
    raw = value.encode("utf-8") if isinstance(value, str) else value
    return len(raw).to_bytes(4, "big") + raw


def parents_text(parents: tuple[str, ...] | list[str]) -> str:
    return canonical(list(parents)).decode("utf-8")


def envelope_bytes(event: SignedEvent) -> bytes:
    """What the event's hash covers, for its schema version."""
    if event.schema_version == SCHEMA_V1:
        return envelope_bytes_v1(
            event_id=event.event_id, entity=event.entity, kind=event.kind,
            record_id=event.record_id, entity_id=event.entity_id, team_id=event.team_id,
            author_id=event.author_id, device_id=event.device_id,
            device_seq=event.device_seq, hlc=event.hlc, parents=parents_text(event.parents),
            schema_version=event.schema_version, payload=event.payload,
            prev_hash=event.prev_hash,
        )
    if event.schema_version != SCHEMA_V2:
        raise EnvelopeError("unknown_schema_version",
                            "This event was made by a newer Sharelog than this one.")
    return b"".join((
        ENVELOPE_TAG_V2,
        _field(event.event_id), _field(event.entity), _field(event.kind),
        _field(event.record_id), _field(event.entity_id), _field(event.team_id),
        _field(event.author_id), _field(event.device_id), _field(str(event.device_seq)),
        _field(event.hlc), _field(parents_text(event.parents)),
        _field(str(event.schema_version)),
        _field(event.owner_id), _field(event.assignee_id),
        _field(str(len(event.payload))), _field(hashlib.sha256(event.payload).digest()),
        _field(event.prev_hash),
    ))


def compute_hash(event: SignedEvent) -> bytes:
    return hashlib.sha256(envelope_bytes(event)).digest()


def check_shape(event: SignedEvent) -> None:
    """Sizes and forms a store checks before anything else (raises ``EnvelopeError``)."""
    if event.schema_version not in SUPPORTED_SCHEMA_VERSIONS:
        raise EnvelopeError("unknown_schema_version",
                            "This event was made by a newer Sharelog than this store.")
    if len(event.payload) > MAX_PAYLOAD_BYTES:
        raise EnvelopeError("payload_too_large",
                            f"An event's payload may hold at most {MAX_PAYLOAD_BYTES} bytes.")
    for name in ("event_id", "record_id", "entity_id", "team_id", "author_id", "device_id",
                 "owner_id", "assignee_id"):
        value = getattr(event, name)
        if len(value) > MAX_ID_CHARS:
            raise EnvelopeError("field_too_long", f"The event's {name} is too long.")
        if not value and name not in ("owner_id", "assignee_id"):
            raise EnvelopeError("field_missing", f"The event has no {name}.")
    if len(event.kind) > MAX_KIND_CHARS or len(event.entity) > MAX_KIND_CHARS:
        raise EnvelopeError("field_too_long", "The event's kind is too long.")
    if not event.kind or not event.entity:
        raise EnvelopeError("field_missing", "The event has no kind.")
    if len(event.hlc) > MAX_HLC_CHARS:
        raise EnvelopeError("field_too_long", "The event's clock stamp is too long.")
    if len(event.parents) > MAX_PARENTS or any(
            len(p) > MAX_ID_CHARS or not p for p in event.parents):
        raise EnvelopeError("field_too_long", "The event names too many or malformed parents.")
    if event.device_seq < 1:
        raise EnvelopeError("bad_device_seq", "The event's position in its chain is invalid.")
    if len(event.hash) != 32 or len(event.prev_hash) != 32 or len(event.signature) != 64:
        raise EnvelopeError("bad_signature", "The event's hash or signature is malformed.")
    if event.schema_version == SCHEMA_V1:
        if event.owner_id or event.assignee_id:
            raise EnvelopeError("v1_has_owner",
                                "A version 1 event cannot name an owner or an assignee.")
        if event.kind == REASSIGN_KIND:
            raise EnvelopeError("v1_reassignment",
                                "A version 1 event cannot reassign a follow-up.")
    else:
        if not event.owner_id:
            raise EnvelopeError("field_missing", "The event names no owner.")
        if (event.entity == "followup") != bool(event.assignee_id):
            raise EnvelopeError("bad_assignee",
                                "A follow-up event names its assignee; no other event does.")


def verify_event(event: SignedEvent, public_key: bytes, prev_hash: bytes | None = None) -> None:
    """Check the event's hash, its signature by ``public_key`` and, when given, its link.

    ``prev_hash`` is what the device's chain expects next (``GENESIS_HASH`` before its
    first event, else the previous event's ``link()``). Raises ``EnvelopeError``.
    """
    Verifier(public_key).verify(event, prev_hash)


class Verifier:
    """``verify_event`` for many events of one device: its key is loaded once."""

    def __init__(self, public_key: bytes) -> None:
        self._verify = signature_verifier(public_key)

    def verify(self, event: SignedEvent, prev_hash: bytes | None = None) -> None:
        check_shape(event)
        self.authenticate(event)
        if prev_hash is not None and event.prev_hash != prev_hash:
            raise EnvelopeError("broken_chain",
                                "The event does not continue its device's chain.")

    def authenticate(self, event: SignedEvent) -> None:
        """Hash and signature only: proves the device made exactly these bytes."""
        if len(event.hash) != 32 or len(event.prev_hash) != 32 or len(event.signature) != 64:
            raise EnvelopeError("bad_signature", "The event's hash or signature is malformed.")
        if compute_hash(event) != event.hash:
            raise EnvelopeError("bad_hash", "The event's contents do not match its hash.")
        if not self._verify(event.signature, event.hash):
            raise EnvelopeError("bad_signature",
                                "The event is not signed by its device's enrolled key.")


def verify_chain(events: list[SignedEvent], public_key: bytes,
                 prev_hash: bytes = GENESIS_HASH) -> bytes:
    """Verify consecutive events of one device from ``prev_hash``; returns the next link."""
    verifier = Verifier(public_key)
    link = prev_hash
    for ev in events:
        verifier.verify(ev, link)
        link = ev.link()
    return link


def make_signed_event(
    *, key: DeviceKey, entity: str, kind: str, record_id: str, entity_id: str, team_id: str,
    author_id: str, device_id: str, device_seq: int, hlc: str, parents: list[str] | None = None,
    owner_id: str, assignee_id: str = "", payload: bytes | dict[str, Any],
    prev_hash: bytes, event_id: str | None = None, schema_version: int = SCHEMA_V2,
) -> SignedEvent:
    """A signed event (v2 by default). ``payload`` as bytes is kept byte for byte."""
    body = payload if isinstance(payload, bytes) else canonical(payload)
    unsigned = SignedEvent(
        event_id=event_id or uuid7(), entity=entity, kind=kind, record_id=record_id,
        entity_id=entity_id, team_id=team_id, author_id=author_id, device_id=device_id,
        device_seq=device_seq, hlc=hlc, parents=tuple(parents or ()),
        schema_version=schema_version,
        owner_id=owner_id if schema_version == SCHEMA_V2 else "",
        assignee_id=assignee_id if schema_version == SCHEMA_V2 else "",
        payload=body, prev_hash=prev_hash, hash=b"", signature=b"",
    )
    return sign(unsigned, key)


def sign(event: SignedEvent, key: DeviceKey) -> SignedEvent:
    """The event with its hash and signature computed afresh (tests forge with this too)."""
    digest = compute_hash(event)
    return replace(event, hash=digest, signature=key.sign(digest))


class DeviceChain:
    """Test and benchmark helper: one device making consecutive signed v2 events."""

    def __init__(self, key: DeviceKey, device_id: str, team_id: str, user_id: str,
                 *, next_seq: int = 1, prev_hash: bytes = GENESIS_HASH) -> None:
        self.key, self.device_id, self.team_id, self.user_id = key, device_id, team_id, user_id
        self.next_seq, self.prev_hash = next_seq, prev_hash
        self._ms = 1_800_000_000_000

    def _hlc(self) -> str:
        self._ms += 1
        return f"{self._ms:013d}-00000-{self.device_id}"

    def event(self, kind: str, record_id: str, *, entity_id: str | None = None,
              owner_id: str | None = None, assignee_id: str = "", parents: list[str] | None = None,
              payload: bytes | dict[str, Any] | None = None, author_id: str | None = None,
              team_id: str | None = None) -> SignedEvent:
        entity = kind.split(".", 1)[0]
        ev = make_signed_event(
            key=self.key, entity=entity, kind=kind, record_id=record_id,
            entity_id=entity_id or record_id, team_id=team_id or self.team_id,
            author_id=author_id or self.user_id, device_id=self.device_id,
            device_seq=self.next_seq, hlc=self._hlc(), parents=parents,
            owner_id=owner_id or self.user_id,
            assignee_id=assignee_id if entity == "followup" and assignee_id else (
                (owner_id or self.user_id) if entity == "followup" else ""),
            payload=payload if payload is not None else {"n": self.next_seq},
            prev_hash=self.prev_hash,
        )
        self.next_seq += 1
        self.prev_hash = ev.link()
        return ev


# -- the JSON wire form ------------------------------------------------------------------

WIRE_TEXT_FIELDS = ("event_id", "entity", "kind", "record_id", "entity_id", "team_id",
                    "author_id", "device_id", "hlc", "owner_id", "assignee_id")
WIRE_BYTES_FIELDS = ("payload", "prev_hash", "hash", "signature")


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def unb64(text: str, what: str) -> bytes:
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, ValueError, UnicodeEncodeError) as exc:
        raise EnvelopeError("bad_encoding", f"The event's {what} is not valid base64.") from exc


def to_wire(event: SignedEvent) -> dict[str, Any]:
    """The event as a JSON object: text as text, bytes as standard base64."""
    out: dict[str, Any] = {name: getattr(event, name) for name in WIRE_TEXT_FIELDS}
    out["device_seq"] = event.device_seq
    out["schema_version"] = event.schema_version
    out["parents"] = list(event.parents)
    for name in WIRE_BYTES_FIELDS:
        out[name] = b64(getattr(event, name))
    return out


def from_wire(data: dict[str, Any]) -> SignedEvent:
    """An event from its JSON object; raises ``EnvelopeError`` on a malformed one."""
    try:
        texts = {name: data.get(name, "") if name in ("owner_id", "assignee_id") else data[name]
                 for name in WIRE_TEXT_FIELDS}
        seq, version, parents = data["device_seq"], data["schema_version"], data["parents"]
    except (KeyError, TypeError) as exc:
        raise EnvelopeError("field_missing", "The event lacks a required field.") from exc
    if not all(isinstance(v, str) for v in texts.values()):
        raise EnvelopeError("bad_encoding", "The event's text fields must be strings.")
    if (not isinstance(seq, int) or isinstance(seq, bool) or not isinstance(version, int)
            or isinstance(version, bool)):
        raise EnvelopeError("bad_encoding", "The event's numbers must be integers.")
    if not isinstance(parents, list) or not all(isinstance(p, str) for p in parents):
        raise EnvelopeError("bad_encoding", "The event's parents must be a list of ids.")
    raw: dict[str, Any] = {}
    for name in WIRE_BYTES_FIELDS:
        value = data.get(name)
        if not isinstance(value, str):
            raise EnvelopeError("field_missing", f"The event lacks its {name}.")
        raw[name] = unb64(value, name)
    return SignedEvent(device_seq=seq, schema_version=version, parents=tuple(parents),
                       **texts, **raw)


DIGEST_TAG = b"sharelog-digest-v1\x00"


def range_digest(items: list[tuple[int, bytes]]) -> bytes:
    """SHA-256 over (store sequence, event hash) pairs in sequence order: what
    ``GET /v1/digest`` answers for a range, so a client can check it holds the same events."""
    h = hashlib.sha256(DIGEST_TAG)
    for seq, event_hash in sorted(items):
        h.update(int(seq).to_bytes(8, "big") + event_hash)
    return h.digest()


__all__ = [
    "ENVELOPE_TAG_V1", "ENVELOPE_TAG_V2", "GENESIS_HASH", "EnvelopeError", "SignedEvent",
    "Verifier", "DeviceChain", "check_shape", "compute_hash", "envelope_bytes", "from_v1",
    "from_wire", "make_signed_event", "range_digest", "sign", "to_wire", "verify_chain",
    "verify_event",
]
