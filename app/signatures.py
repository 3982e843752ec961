"""Verifying many Ed25519 signatures on every core (``app.parallel``).

``cryptography`` holds the GIL while it verifies, so threads cannot share the work;
worker processes can. A worker is handed batches of (signature, hash) pairs made by one
public key, and never anything else: not the vault key, not a payload, not a record.
The batches go out in the order the check met the events, and failures come back in
that order, so the report reads the same as when one core does it all.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

from app.cancel import Cancelled
from app.events import signature_verifier
from app.parallel import CheckPool, worker_progress

SIGNATURE_BYTES = 64
HASH_BYTES = 32
PAIR_BYTES = SIGNATURE_BYTES + HASH_BYTES
BATCH = 4096
# Below this many events the workers' start-up (~0.3 s each) costs more than they save.
PARALLEL_MIN = 20_000


def verify_batch(public_key: bytes, pairs: bytes) -> list[int]:
    """Positions of the pairs whose signature does not verify (runs in a worker)."""
    verify = signature_verifier(public_key)
    bad: list[int] = []
    for i in range(len(pairs) // PAIR_BYTES):
        at = i * PAIR_BYTES
        signature = pairs[at:at + SIGNATURE_BYTES]
        digest = pairs[at + SIGNATURE_BYTES:at + PAIR_BYTES]
        if not verify(signature, digest):
            bad.append(i)
    worker_progress(len(pairs) // PAIR_BYTES)
    return bad


class SignatureQueue:
    """Signatures to verify, each with a tag naming it; ``failed()`` gives the bad tags.

    With a pool the batches run in its worker processes while the caller goes on
    reading; without, each signature is verified at once, in this process.
    """

    def __init__(self, pool: CheckPool | None = None, *, max_pending: int = 16) -> None:
        self._pool = pool
        self._max_pending = max_pending * (pool.workers if pool is not None else 1)
        self._pending: deque[tuple[Future[list[int]], list[Any]]] = deque()
        self._failed: list[Any] = []
        self._key: bytes | None = None
        self._verify: Callable[[bytes, bytes], bool] | None = None
        self._pairs: list[bytes] = []
        self._tags: list[Any] = []
        self.verified = 0

    @property
    def parallel(self) -> bool:
        return self._pool is not None

    def add(self, public_key: bytes, signature: bytes, digest: bytes, tag: Any) -> None:
        if self._pool is None:
            if public_key != self._key:
                self._key, self._verify = public_key, signature_verifier(public_key)
            assert self._verify is not None
            self.verified += 1
            if not self._verify(signature, digest):
                self._failed.append(tag)
            return
        if public_key != self._key:
            self._flush()
            self._key = public_key
        if len(signature) != SIGNATURE_BYTES or len(digest) != HASH_BYTES:
            # Not even the shape of a signature: it fails, in its place in the order.
            self._flush()
            failed: Future[list[int]] = Future()
            failed.set_result([0])
            self._pending.append((failed, [tag]))
            return
        self._pairs.append(signature + digest)
        self._tags.append(tag)
        if len(self._tags) >= BATCH:
            self._flush()

    def _flush(self) -> None:
        if not self._tags or self._pool is None or self._key is None:
            return
        future = self._pool.submit(verify_batch, self._key, b"".join(self._pairs))
        self._pending.append((future, self._tags))
        self._pairs, self._tags = [], []
        while len(self._pending) > self._max_pending:
            self._collect_one()

    def _collect_one(self) -> None:
        future, tags = self._pending.popleft()
        for i in future.result():
            self._failed.append(tags[i])
        self.verified += len(tags)

    def failed(self, progress: Callable[[int], None] | None = None,
               cancelled: Callable[[], bool] | None = None) -> list[Any]:
        """Wait for every batch; the tags of signatures that do not verify, in order."""
        self._flush()
        while self._pending:
            if cancelled is not None and cancelled():
                raise Cancelled()
            self._collect_one()
            if progress is not None:
                progress(self.verified)
        return list(self._failed)

    def cancel(self) -> None:
        for future, _ in self._pending:
            future.cancel()
        self._pending.clear()
