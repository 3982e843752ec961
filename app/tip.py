"""The end of this laptop's chain of changes, kept beside the vault (no content).

Every save ends this device's hash chain with a new change. The chain's end — the
device id, the change's position (``device_seq``), its hash and the clock time it was
made — is written to ``vault.sharelog-tip`` after each commit. On opening, a vault
whose own chain is shorter than its tip has lost changes (a deleted or damaged
``-wal``, a file copied while Sharelog had it open, events removed from the end of
the chain), and they are named: how many, made between when and when.

The ordering is what makes this safe without an fsync per save:

- the tip is written only after the commit returned, and SQLite's ``synchronous=FULL``
  made that commit durable first, so the tip can lag the vault but never lead it;
- a tip older than the vault (a power cut ate the last tip write) is just brought up to
  date; only a vault older than its tip is the alarm;
- a ``-wal`` deleted or damaged while the system runs leaves the tip, already in the
  file cache, to be read.

The file holds two fixed slots of 512 bytes, written alternately with one ``pwrite``
each; every slot carries a generation number and a checksum, and the reader takes the
valid slot with the highest generation. A write torn by a crash spoils at most the
slot being written, never the other, so the file always holds a whole tip (the
previous one at worst). A save costs one ``pwrite`` of 512 bytes (about 2 µs); the
file is fsynced when the vault locks or closes.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import logging
import os
import struct
from dataclasses import dataclass
from pathlib import Path

from db import store
from db.vault import Connection

log = logging.getLogger("sharelog.tip")

MAGIC = b"SLGTIP01"
SLOT_BYTES = 512
_BODY = struct.Struct(">8sQQQ32sB64s")  # magic, generation, device_seq, changed ms, hash, id
_CHECK_BYTES = 16


def tip_path(vault_path: Path) -> Path:
    return vault_path.with_name(vault_path.name + "-tip")


@dataclass(frozen=True)
class ChainTip:
    device_id: str
    device_seq: int
    hash: bytes
    changed_ms: int  # the change's own clock time (ms since 1970), as its HLC says


def hlc_ms(stamp: str) -> int:
    """The wall-clock milliseconds of an HLC stamp (0 if damage made it unreadable)."""
    try:
        return int(stamp.split("-", 1)[0])
    except ValueError:
        return 0


def _encode(tip: ChainTip, generation: int) -> bytes:
    device = tip.device_id.encode("ascii")
    body = _BODY.pack(MAGIC, generation, tip.device_seq, tip.changed_ms, tip.hash,
                      len(device), device)
    check = hashlib.blake2b(body, digest_size=_CHECK_BYTES).digest()
    return (body + check).ljust(SLOT_BYTES, b"\x00")


def _decode(slot: bytes) -> tuple[int, ChainTip] | None:
    size = _BODY.size
    if len(slot) < size + _CHECK_BYTES:
        return None
    body, check = slot[:size], slot[size:size + _CHECK_BYTES]
    if hashlib.blake2b(body, digest_size=_CHECK_BYTES).digest() != check:
        return None
    magic, generation, seq, ms, digest, length, device = _BODY.unpack(body)
    if magic != MAGIC or length > len(device):
        return None
    try:
        device_id = device[:length].decode("ascii")
    except UnicodeDecodeError:
        return None
    return generation, ChainTip(device_id, seq, digest, ms)


class TipFile:
    """The tip file beside one vault. Not thread-safe: the service's lock serialises it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None
        self._generation = 0

    def read(self) -> ChainTip | None:
        """The newest whole tip in the file, or None (no file, or nothing readable)."""
        try:
            with open(self.path, "rb") as fh:
                raw = fh.read(2 * SLOT_BYTES)
        except OSError:
            return None
        best: tuple[int, ChainTip] | None = None
        for i in range(2):
            found = _decode(raw[i * SLOT_BYTES:(i + 1) * SLOT_BYTES])
            if found is not None and (best is None or found[0] > best[0]):
                best = found
        if best is None:
            return None
        self._generation = max(self._generation, best[0])
        return best[1]

    def write(self, tip: ChainTip) -> None:
        """Replace the tip (one slot, the older one). Raises OSError if the disk refuses."""
        if self._fd is None:
            if not self._generation:
                self.read()
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            with contextlib.suppress(OSError):
                os.fchmod(fd, 0o600)
            self._fd = fd
        self._generation += 1
        os.pwrite(self._fd, _encode(tip, self._generation),
                  (self._generation % 2) * SLOT_BYTES)

    def close(self) -> None:
        """Make the tip durable and let the file go (at lock and close)."""
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        try:
            os.fsync(fd)
        except OSError:
            log.warning("the chain tip could not be synced to disk")
        finally:
            os.close(fd)


# -- comparing a vault with its tip ---------------------------------------------------------
@dataclass(frozen=True)
class MissingChanges:
    """Changes this laptop made that the vault no longer holds (counts and times only)."""

    device_id: str
    count: int | None   # None when the vault's chain differs from the tip, not only shorter
    after_ms: int | None  # the newest change the vault still holds on the chain, if any
    until_ms: int         # the newest change made on this laptop, as the tip says

    def words(self) -> str:
        if self.count is None:
            return ("The changes made on this laptop up to "
                    f"{format_time(self.until_ms)} are not the ones in the vault: its history "
                    "was replaced.")
        what = "1 change" if self.count == 1 else f"{self.count:,} changes"
        verb = "is" if self.count == 1 else "are"
        kind, first, second = time_span(self.after_ms, self.until_ms)
        when = {"up_to": f"up to {first}", "at": f"at {first}",
                "between": f"between {first} and {second}"}[kind]
        return f"{what} made on this laptop {when} {verb} missing from the vault."

    def to_note(self, noted_ms: int, how: str) -> dict[str, object]:
        return {"device_id": self.device_id, "count": self.count, "after_ms": self.after_ms,
                "until_ms": self.until_ms, "noted_ms": noted_ms, "how": how}

    @classmethod
    def from_note(cls, note: dict[str, object]) -> MissingChanges:
        count, after, until = note.get("count"), note.get("after_ms"), note.get("until_ms")
        return cls(str(note.get("device_id", "")),
                   count if isinstance(count, int) else None,
                   after if isinstance(after, int) else None,
                   until if isinstance(until, int) else 0)


def format_time(ms: int) -> str:
    """'13 Nov 2026 10:30', in local time."""
    when = dt.datetime.fromtimestamp(ms / 1000)
    return f"{when.day} {when:%b %Y %H:%M}"


def time_span(after_ms: int | None, until_ms: int) -> tuple[str, str, str]:
    """How to say when missing changes were made: ("up_to", until, ""), ("at", until, "")
    when both ends fall in one minute, or ("between", after, until), the second end
    without its date when both are on one day ("13 Nov 2026 10:30" and "11:02")."""
    until = format_time(until_ms)
    if after_ms is None:
        return "up_to", until, ""
    after = format_time(after_ms)
    if after == until:
        return "at", until, ""
    start, end = dt.datetime.fromtimestamp(after_ms / 1000), dt.datetime.fromtimestamp(
        until_ms / 1000)
    return "between", after, (f"{end:%H:%M}" if start.date() == end.date() else until)


def vault_tip(conn: Connection, device_id: str) -> ChainTip | None:
    """The end of ``device_id``'s chain as the vault holds it."""
    end = store.device_chain_end(conn, device_id)
    if end is None:
        return None
    seq, digest, hlc = end
    return ChainTip(device_id, seq, digest, hlc_ms(hlc))


def compare(conn: Connection, tip: ChainTip | None) -> MissingChanges | None:
    """What the vault lacks compared with ``tip`` (None: nothing, or the tip is older)."""
    if tip is None:
        return None
    ours = vault_tip(conn, tip.device_id)
    if ours is not None and ours.device_seq >= tip.device_seq:
        at_tip = store.event_hash_at(conn, tip.device_id, tip.device_seq)
        if at_tip == tip.hash:
            return None  # the same chain, the vault as new as its tip or newer
        return MissingChanges(tip.device_id, None, None, tip.changed_ms)
    have = 0 if ours is None else ours.device_seq
    return MissingChanges(tip.device_id, tip.device_seq - have,
                          None if ours is None else ours.changed_ms, tip.changed_ms)


def belongs_to(tip: ChainTip | None, device_id: str) -> bool:
    return tip is not None and tip.device_id == device_id


def reconcile(conn: Connection, keeper: TipFile, device_id: str) -> MissingChanges | None:
    """After opening: what the vault lacks, or None once the tip is brought up to date.

    No tip, or one of another vault (another device id: a vault made anew, or copied
    here alone), starts again from the vault. A tip older than the vault is brought up
    to date. Only a vault older than its tip is reported, and the tip then stays.
    """
    seen = keeper.read()
    ours = vault_tip(conn, device_id)
    missing = compare(conn, seen) if belongs_to(seen, device_id) else None
    if missing is not None:
        return missing
    if ours is not None and ours != seen:
        try:
            keeper.write(ours)
        except OSError as exc:
            log.warning("the chain tip could not be written: %s", type(exc).__name__)
    return None
