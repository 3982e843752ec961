"""A fault-injecting HTTP proxy on loopback, in front of a real store process.

A test points its ``StoreClient`` at ``proxy.base_url`` instead of the store's and says,
per request, what the network does::

    with FaultProxy(store.base_url, seed=7) as proxy:
        client = StoreClient(proxy.base_url, token)
        proxy.add(lose_response(), on="push", nth=3)        # the 3rd push: committed, unheard
        proxy.add(status(503), on="pull", probability=0.2)  # one pull in five, seeded
        proxy.add(delay(0.5))                               # every request, half a second
        with proxy.offline():                               # connections refused
            ...
        proxy.log                                           # what it did, request by request

Faults (each a ``Fault``; the factories below make them):

- ``passthrough()``: forward the request, relay the answer.
- ``drop()``: read the request, close the connection; the store never sees it.
- ``lose_response()``: forward it, read the store's whole answer (the store has committed),
  close the connection without a byte: "a response lost after the store committed".
- ``delay(seconds, then=passthrough())``: wait, then do ``then``.
- ``status(code=503)``: answer ``code`` itself, as a gateway in front of a failing store
  would (a short text body, the connection kept); the store never sees it.
- ``truncate(keep=…, honest_length=False)``: forward it, relay the status and headers and
  the first ``keep`` bytes of the body, then close (the body is shorter than its
  Content-Length says). ``honest_length=True`` rewrites Content-Length to the cut length
  and keeps the connection: well-formed HTTP whose body is cut JSON.

Rules (``add``): ``on`` names an endpoint (``"push"`` is ``/v1/push``; None: every
request), ``method`` narrows it, ``nth`` fires only on the rule's n-th matching request,
``probability`` on each matching request with that chance (drawn from the proxy's
``random.Random(seed)``, so a run is reproducible), ``times`` at most that many times.
Every rule counts every request it matches; the first rule (in the order added) that
fires decides; no rule: pass through. ``clear()`` removes them all.

``go_offline()`` closes the listening socket (new connections are refused, as with no
network) and cuts every open connection; ``come_back()`` listens again on the same port.

``log`` lists an ``Exchange`` per request received: its number, method, path, the fault
applied, whether the store received it, the store's status and the status the client got
(``exchanges("push")``: those of one endpoint). ``add`` returns its ``Rule``, whose
``matched`` and ``fired`` count what it saw and did. Connections refused while offline
never reach the proxy, so they are not in the log.
"""

from __future__ import annotations

import contextlib
import random
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import BinaryIO
from urllib.parse import urlsplit

PASS, DROP, LOSE_RESPONSE, STATUS, TRUNCATE = (
    "pass", "drop", "lose_response", "status", "truncate")
UPSTREAM_TIMEOUT = 120.0
MAX_HEADER_LINES = 200


@dataclass(frozen=True)
class Fault:
    """What the proxy does to one request (``seconds`` of waiting first)."""

    kind: str
    seconds: float = 0.0
    status: int = 0
    keep: int = 0
    honest_length: bool = False


def passthrough() -> Fault:
    return Fault(PASS)


def drop() -> Fault:
    return Fault(DROP)


def lose_response() -> Fault:
    return Fault(LOSE_RESPONSE)


def delay(seconds: float, then: Fault | None = None) -> Fault:
    return replace(then or passthrough(), seconds=seconds)


def status(code: int = 503) -> Fault:
    return Fault(STATUS, status=code)


def truncate(keep: int = 10, *, honest_length: bool = False) -> Fault:
    return Fault(TRUNCATE, keep=keep, honest_length=honest_length)


@dataclass
class Rule:
    fault: Fault
    on: str | None = None
    method: str | None = None
    nth: int | None = None
    probability: float = 1.0
    times: int | None = None
    matched: int = 0
    fired: int = 0

    def matches(self, method: str, path: str) -> bool:
        return ((self.on is None or path == f"/v1/{self.on}")
                and (self.method is None or self.method.upper() == method))

    def fires(self, rng: random.Random) -> bool:
        """Counts a matching request; whether the rule applies to it."""
        self.matched += 1
        if self.nth is not None and self.matched != self.nth:
            return False
        if self.times is not None and self.fired >= self.times:
            return False
        if self.probability < 1.0 and rng.random() >= self.probability:
            return False
        self.fired += 1
        return True


@dataclass(frozen=True)
class Exchange:
    number: int  # among every request the proxy received, from 1
    method: str
    path: str  # without the query
    fault: str
    forwarded: bool  # the store received the request
    store_status: int | None  # what the store answered (None: not forwarded, or no answer)
    client_status: int | None  # the status line the client got (None: none)


@dataclass
class _Message:
    """One HTTP/1.1 message, raw, with what the proxy reads of it."""

    start: bytes
    headers: list[tuple[bytes, bytes]]
    body: bytes
    framing: bytes = b""  # the body as framed on the wire (chunked stays chunked)

    def header(self, name: bytes) -> bytes | None:
        return next((v for k, v in self.headers if k.lower() == name), None)

    def head(self, headers: list[tuple[bytes, bytes]] | None = None) -> bytes:
        lines = [self.start, *(k + b": " + v for k, v in (headers or self.headers))]
        return b"\r\n".join(lines) + b"\r\n\r\n"

    def raw(self) -> bytes:
        return self.head() + self.framing


def _read_message(stream: BinaryIO, *, request: bool, method: str = "") -> _Message | None:
    start = stream.readline(65537)
    if not start:
        return None
    headers: list[tuple[bytes, bytes]] = []
    for _ in range(MAX_HEADER_LINES):
        line = stream.readline(65537)
        if line in (b"\r\n", b"\n", b""):
            break
        name, _, value = line.rstrip(b"\r\n").partition(b":")
        headers.append((name.strip(), value.strip()))
    msg = _Message(start.rstrip(b"\r\n"), headers, b"")
    code = 0 if request else int(msg.start.split()[1])
    if msg.header(b"transfer-encoding") == b"chunked":
        msg.body, msg.framing = _read_chunked(stream)
    elif (length := msg.header(b"content-length")) is not None:
        msg.body = msg.framing = _read_exactly(stream, int(length))
    elif not request and method != "HEAD" and code not in (204, 304) and code >= 200:
        msg.body = msg.framing = stream.read()  # until the store closes
    return msg


def _read_exactly(stream: BinaryIO, n: int) -> bytes:
    data = stream.read(n)
    if len(data) != n:
        raise ConnectionError("the peer closed mid-body")
    return data


def _read_chunked(stream: BinaryIO) -> tuple[bytes, bytes]:
    body, framing = bytearray(), bytearray()
    while True:
        size_line = stream.readline(1024)
        framing += size_line
        size = int(size_line.split(b";")[0].strip() or b"0", 16)
        if size == 0:
            while (trailer := stream.readline(65537)) not in (b"\r\n", b"\n", b""):
                framing += trailer
            framing += b"\r\n"
            return bytes(body), bytes(framing)
        chunk = _read_exactly(stream, size + 2)
        body += chunk[:-2]
        framing += chunk


class FaultProxy:
    """A proxy on 127.0.0.1 in front of ``upstream`` (the store's base URL)."""

    def __init__(self, upstream: str, *, seed: int = 0, port: int = 0) -> None:
        parts = urlsplit(upstream)
        if parts.hostname is None or parts.port is None:
            raise ValueError("the upstream needs a host and a port")
        self._upstream = (parts.hostname, parts.port)
        self.rng = random.Random(seed)
        self.rules: list[Rule] = []
        self.log: list[Exchange] = []
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()
        self._stopping = threading.Event()
        self._listener: socket.socket | None = None
        self._acceptor: threading.Thread | None = None
        self.port = port
        self._listen()
        self.base_url = f"http://127.0.0.1:{self.port}"

    # -- control --------------------------------------------------------------------------
    def add(self, fault: Fault, *, on: str | None = None, method: str | None = None,
            nth: int | None = None, probability: float = 1.0,
            times: int | None = None) -> Rule:
        rule = Rule(fault, on, method, nth, probability, times)
        with self._lock:
            self.rules.append(rule)
        return rule

    def clear(self) -> None:
        with self._lock:
            self.rules.clear()

    @property
    def is_offline(self) -> bool:
        return self._listener is None

    def go_offline(self) -> None:
        """Refuse new connections and cut the open ones, as a network that went away."""
        self._close_listener()
        self._cut_all()

    def come_back(self) -> None:
        if self._listener is None:
            self._listen()

    @contextlib.contextmanager
    def offline(self) -> Iterator[None]:
        self.go_offline()
        try:
            yield
        finally:
            self.come_back()

    def exchanges(self, on: str | None = None) -> list[Exchange]:
        with self._lock:
            return [x for x in self.log if on is None or x.path == f"/v1/{on}"]

    def stop(self) -> None:
        self._stopping.set()
        self._close_listener()
        self._cut_all()

    def __enter__(self) -> FaultProxy:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    # -- the proxy ------------------------------------------------------------------------
    def _listen(self) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        listener.settimeout(0.1)
        self.port = listener.getsockname()[1]
        self._listener = listener
        self._acceptor = threading.Thread(target=self._accept, args=(listener,), daemon=True,
                                          name=f"faultproxy-{self.port}")
        self._acceptor.start()

    def _close_listener(self) -> None:
        listener, acceptor = self._listener, self._acceptor
        self._listener = self._acceptor = None
        if listener is not None:
            listener.close()
        if acceptor is not None:
            acceptor.join(5)

    def _accept(self, listener: socket.socket) -> None:
        while self._listener is listener:
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            conn.settimeout(None)
            self._track(conn)
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _track(self, sock: socket.socket) -> None:
        with self._lock:
            self._open.add(sock)

    def _forget(self, sock: socket.socket) -> None:
        with self._lock:
            self._open.discard(sock)
        with contextlib.suppress(OSError):
            sock.close()

    def _cut_all(self) -> None:
        with self._lock:
            sockets = list(self._open)
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            self._forget(sock)

    def _serve(self, client: socket.socket) -> None:
        reader = client.makefile("rb")
        try:
            while not self._stopping.is_set():
                request = _read_message(reader, request=True)
                if request is None:
                    return
                if not self._exchange(client, request):
                    return
        except (OSError, ValueError, IndexError):
            return
        finally:
            reader.close()
            self._forget(client)

    def _decide(self, method: str, path: str) -> tuple[int, Fault]:
        with self._lock:
            number = len(self.log) + 1
            chosen = None
            for rule in self.rules:
                if rule.matches(method, path) and rule.fires(self.rng) and chosen is None:
                    chosen = rule.fault
            # Reserve the log's place now, so numbers follow arrival order.
            self.log.append(Exchange(number, method, path, "pending", False, None, None))
            return number, chosen or passthrough()

    def _record(self, number: int, entry: Exchange) -> None:
        with self._lock:
            self.log[number - 1] = entry

    def _exchange(self, client: socket.socket, request: _Message) -> bool:
        """One request; False when the client's connection is to be closed."""
        parts = request.start.split()
        method, path = parts[0].decode("latin-1"), parts[1].decode("latin-1").split("?")[0]
        number, fault = self._decide(method, path)
        if fault.seconds and self._stopping.wait(fault.seconds):
            return False
        with self._lock:
            gone = client not in self._open  # the network went away while it waited
        forwarded, response = False, None
        if not gone and fault.kind not in (DROP, STATUS):
            forwarded, response = self._forward(request, method)
        store_status = int(response.start.split()[1]) if response is not None else None
        answer, keep_open = self._answer(fault, response)
        # Logged before the answer goes out: the client may have given up (a timeout).
        self._record(number, Exchange(number, method, path, fault.kind, forwarded,
                                      store_status, None))
        if gone or answer is None:
            return False
        client.sendall(answer)
        sent = fault.status if fault.kind == STATUS else store_status
        self._record(number, Exchange(number, method, path, fault.kind, forwarded,
                                      store_status, sent))
        return keep_open

    @staticmethod
    def _answer(fault: Fault, response: _Message | None) -> tuple[bytes | None, bool]:
        """(the bytes the client gets, or None for none; whether its connection stays)."""
        if fault.kind == STATUS:
            body = f"Injected by the test's fault proxy: {fault.status}\n".encode()
            return (b"HTTP/1.1 %d Proxy Fault\r\nContent-Type: text/plain\r\n"
                    b"Content-Length: %d\r\n\r\n%s" % (fault.status, len(body), body)), True
        if response is None or fault.kind in (DROP, LOSE_RESPONSE):
            return None, False
        if fault.kind == TRUNCATE:
            cut = response.body[:fault.keep]
            if not fault.honest_length:  # shorter than its Content-Length: then closed
                return response.head() + cut, False
            headers = [(k, v) for k, v in response.headers
                       if k.lower() not in (b"content-length", b"transfer-encoding")]
            length = (b"Content-Length", str(len(cut)).encode())
            return response.head([*headers, length]) + cut, True
        return response.raw(), response.header(b"connection") != b"close"

    def _forward(self, request: _Message, method: str) -> tuple[bool, _Message | None]:
        """(whether the store received the request, its whole answer or None)."""
        try:
            upstream = socket.create_connection(self._upstream, timeout=UPSTREAM_TIMEOUT)
        except OSError:
            return False, None  # the store is down: the client's connection is closed
        self._track(upstream)
        try:
            upstream.sendall(request.raw())
            with upstream.makefile("rb") as reader:
                return True, _read_message(reader, request=False, method=method)
        except (OSError, ValueError, IndexError):
            return True, None
        finally:
            self._forget(upstream)
