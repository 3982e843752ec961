"""Events: the immutable, signed, hash-chained changes that every state is built from."""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from nacl.bindings import crypto_sign_open
from nacl.exceptions import CryptoError

from app.clock import local_iso, utc_iso

EVENT_SCHEMA_VERSION = 1
GENESIS_HASH = b"\x00" * 32


def uuid7(ms: int | None = None) -> str:
    """A time-ordered UUID (RFC 9562 version 7): 48-bit ms time, then random bits.

    ``ms`` is the vault's clock (``app.clock.Clock.ms``); the system clock by default.
    """
    if ms is None:
        ms = time.time_ns() // 1_000_000
    rand = int.from_bytes(os.urandom(10), "big")
    value = (ms & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76
    value |= ((rand >> 62) & 0xFFF) << 64
    value |= 0b10 << 62
    value |= rand & ((1 << 62) - 1)
    return str(uuid.UUID(int=value))


def canonical(data: Any) -> bytes:
    """The one encoding used for hashing: sorted keys, no spaces, UTF-8, no floats."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode(
        "utf-8"
    )


# How far ahead of this device's own clock an incoming stamp may pull its hybrid logical
# clock. A device whose clock is set to next year must not drag every other device there:
# beyond this, the stamp is taken as if it were this much ahead (its event is still kept).
MAX_CLOCK_PULL_MS = 5 * 60 * 1000


def _system_ms() -> int:
    return time.time_ns() // 1_000_000


class HybridLogicalClock:
    """HLC timestamps: wall milliseconds plus a counter; never goes backwards.

    Encoded as ``<13-digit ms>-<5-digit counter>-<device>`` so text order is
    causal order. Clocks order events for display; they never pick a winner.
    ``wall`` is the vault's clock in milliseconds (``app.clock.Clock.ms``).
    """

    def __init__(self, device_id: str, last: str | None = None, *,
                 wall: Callable[[], int] = _system_ms,
                 max_pull_ms: int = MAX_CLOCK_PULL_MS) -> None:
        self.device_id = device_id
        self._wall = wall
        self.max_pull_ms = max_pull_ms
        self._ms = 0
        self._counter = 0
        self._lock = threading.Lock()
        if last:
            try:
                self.observe(last)
            except ValueError:
                pass  # a stamp damage made unreadable: the integrity check names it

    @staticmethod
    def parse(stamp: str) -> tuple[int, int, str]:
        ms, counter, device = stamp.split("-", 2)
        if len(ms) != 13 or not ms.isdigit() or len(counter) != 5 or not counter.isdigit():
            raise ValueError("not a clock stamp")
        return int(ms), int(counter), device

    def now(self) -> str:
        with self._lock:
            wall = self._wall()
            if wall > self._ms:
                self._ms, self._counter = wall, 0
            else:
                self._counter += 1
                if self._counter > 99_999:  # five digits: move on a millisecond instead
                    self._ms, self._counter = self._ms + 1, 0
            return f"{self._ms:013d}-{self._counter:05d}-{self.device_id}"

    def observe(self, stamp: str) -> bool:
        """Take in another event's stamp, so the next local one sorts after it.

        A stamp more than ``max_pull_ms`` ahead of this device's wall clock pulls the
        clock only that far (returns False: the stamp was ahead of the bound).
        """
        ms, counter, _ = self.parse(stamp)
        with self._lock:
            limit = self._wall() + self.max_pull_ms
            within = ms <= limit
            if not within:
                ms, counter = limit, 0
            self._ms, self._counter = max((self._ms, self._counter), (ms, counter))
            return within

    @property
    def last_ms(self) -> int:
        return self._ms


def hlc_ms(stamp: str) -> int:
    """The wall milliseconds of a stamp; raises ValueError when it is not one."""
    return HybridLogicalClock.parse(stamp)[0]


def hlc_wall_iso(stamp: str) -> str:
    """When an event was made, by its author's clock, as UTC text (what the projection
    stores: the same on every machine, in any timezone)."""
    return utc_iso(int(stamp.split("-", 1)[0]))


def hlc_local_iso(stamp: str) -> str:
    """When an event was made, as local naive text to show a person."""
    return local_iso(hlc_wall_iso(stamp))


@dataclass(frozen=True)
class Event:
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
    payload: bytes
    prev_hash: bytes
    hash: bytes
    signature: bytes

    def body(self) -> dict[str, Any]:
        return json.loads(self.payload)


ENVELOPE_TAG = b"sharelog-event-v1\x00"
CHAIN_TAG = b"sharelog-chain\x00"


def envelope_bytes(
    *,
    event_id: str | bytes,
    entity: str | bytes,
    kind: str | bytes,
    record_id: str | bytes,
    entity_id: str | bytes,
    team_id: str | bytes,
    author_id: str | bytes,
    device_id: str | bytes,
    device_seq: int,
    hlc: str | bytes,
    parents: str | bytes,
    schema_version: int,
    payload: bytes,
    prev_hash: bytes,
) -> bytes:
    """What an event's hash covers: every envelope field, length-prefixed, in a fixed order.

    Text fields are their UTF-8 bytes (``parents`` is the stored canonical JSON
    text); the payload is covered by its SHA-256, so the server can check an
    envelope without reading (or, later, decrypting) the payload.
    """
    parts = [
        ENVELOPE_TAG,
        _field(event_id), _field(entity), _field(kind), _field(record_id), _field(entity_id),
        _field(team_id), _field(author_id), _field(device_id), _field(str(device_seq)),
        _field(hlc), _field(parents), _field(str(schema_version)),
        _field(hashlib.sha256(payload).digest()), _field(prev_hash),
    ]
    return b"".join(parts)


def _field(value: str | bytes) -> bytes:
    raw = value.encode("utf-8") if isinstance(value, str) else value
    return len(raw).to_bytes(4, "big") + raw


def chain_link(previous_hash: bytes, previous_signature: bytes) -> bytes:
    """What the next event stores as ``prev_hash``.

    It covers the previous event's hash *and* its signature, so changing any
    byte of any event, signature included, breaks the link that follows it;
    verifying the hashes along a chain and the signature at its tip proves
    every event on it.
    """
    return hashlib.sha256(CHAIN_TAG + previous_hash + previous_signature).digest()


def event_hash(event: Event) -> bytes:
    return hashlib.sha256(
        envelope_bytes(
            event_id=event.event_id,
            entity=event.entity,
            kind=event.kind,
            record_id=event.record_id,
            entity_id=event.entity_id,
            team_id=event.team_id,
            author_id=event.author_id,
            device_id=event.device_id,
            device_seq=event.device_seq,
            hlc=event.hlc,
            parents=canonical(list(event.parents)).decode("utf-8"),
            schema_version=event.schema_version,
            payload=event.payload,
            prev_hash=event.prev_hash,
        )
    ).digest()


class DeviceKey:
    """The device's Ed25519 signing key. The private half lives only in the vault."""

    def __init__(self, private: Ed25519PrivateKey) -> None:
        self._private = private
        self.public_bytes = private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)

    @classmethod
    def generate(cls) -> DeviceKey:
        return cls(Ed25519PrivateKey.generate())

    @classmethod
    def from_private_bytes(cls, raw: bytes) -> DeviceKey:
        return cls(Ed25519PrivateKey.from_private_bytes(raw))

    def private_bytes(self) -> bytes:
        from cryptography.hazmat.primitives.serialization import NoEncryption, PrivateFormat

        return self._private.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())

    def sign(self, data: bytes) -> bytes:
        return self._private.sign(data)


_KEY_BYTES, _SIGNATURE_BYTES = 32, 64


def verify_signature(public_key: bytes, signature: bytes, data: bytes) -> bool:
    return signature_verifier(public_key)(signature, data)


def signature_verifier(public_key: bytes) -> Callable[[bytes, bytes], bool]:
    """``verify_signature`` for many signatures by one key.

    Verified with libsodium (PyNaCl), not OpenSSL (``cryptography``, which signs): on this
    project's 2-core machine a check takes about 62 us there against 118 us here, and a
    first pull checks one signature an event. libsodium is also the stricter of the two
    (it refuses keys and signature points of small order), and the store verifies through
    this same function, so a device and its store never disagree on an event.
    """
    if len(public_key) != _KEY_BYTES:
        return lambda signature, data: False

    def verify(signature: bytes, data: bytes) -> bool:
        # The length first: libsodium reads the signature off the front of one buffer.
        if len(signature) != _SIGNATURE_BYTES:
            return False
        try:
            crypto_sign_open(signature + data, public_key)
        except CryptoError:
            return False
        return True

    return verify


def make_event(
    *,
    key: DeviceKey,
    entity: str,
    kind: str,
    record_id: str,
    entity_id: str,
    team_id: str,
    author_id: str,
    device_id: str,
    device_seq: int,
    hlc: str,
    parents: list[str],
    payload: dict[str, Any],
    prev_hash: bytes,
    event_id: str | None = None,
) -> Event:
    payload_bytes = canonical(payload)
    eid = event_id or uuid7()
    partial = Event(
        event_id=eid,
        entity=entity,
        kind=kind,
        record_id=record_id,
        entity_id=entity_id,
        team_id=team_id,
        author_id=author_id,
        device_id=device_id,
        device_seq=device_seq,
        hlc=hlc,
        parents=tuple(parents),
        schema_version=EVENT_SCHEMA_VERSION,
        payload=payload_bytes,
        prev_hash=prev_hash,
        hash=b"",
        signature=b"",
    )
    digest = event_hash(partial)
    return Event(**{**partial.__dict__, "hash": digest, "signature": key.sign(digest)})
