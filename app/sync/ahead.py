"""The second process of a long pull: it fetches each next page from the store, decodes
it and checks its events (signatures, chains, contents), while the sync engine's own
process applies the page before.

Fetching and decoding a page took about a fifth of the applying process's CPU (46 us an
event: HTTP, JSON, base64 and building each event), under the same GIL as the applying,
which is the critical path of a first pull; here it runs beside it. The page comes back
decoded, with the verdicts, and the applying process only unpickles it (a few us an event).

The process holds its own ``StoreClient`` (``ClientSettings``: the address, the device token
and the timeouts, never a vault key) and, as soon as a page says where the next one starts,
fetches and checks that one on a thread of its own, before it is asked for: the process
works on while the applying one takes what it returned, so neither waits for the other's
turn. It never writes the vault: the engine checks each page moves on (``SyncEngine._moved``) and
applies it with its cursor, as for a page it fetched itself. The process is spawned, not
forked, so nothing of the vault's memory is ever in it.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Mapping
from concurrent.futures import Future, ThreadPoolExecutor

from app.ingest import Verdict, check_ahead
from app.sync.transport import ClientSettings, PullPage, StoreClient

Checked = tuple[PullPage, list[Verdict | None], list[str | None]]

_client: StoreClient | None = None
_net: ThreadPoolExecutor | None = None
_next: tuple[tuple[int, int, str, dict[str, bytes]], Future[Checked]] | None = None


def start(settings: ClientSettings | None) -> None:
    """The process's initializer: it yields a core to the applying process (it only has
    to stay a page ahead, while that one applies and, in the window, draws), and opens its
    client. Where the system has no niceness, as before."""
    global _client, _net
    with contextlib.suppress(AttributeError, OSError):
        os.nice(10)
    if settings is not None:
        _client = StoreClient(settings.base_url, settings.token, timeout=settings.timeout)
        _net = ThreadPoolExecutor(1, thread_name_prefix="sharelog-ahead")


def fetch_and_check(since: int, limit: int, scope: str, keys: Mapping[str, bytes]) -> Checked:
    """The page after ``since``, decoded, with ``check_ahead``'s verdicts and contents for
    each of its events (held ones too: the engine leaves those out).

    Before it returns, the page after that one is fetched and checked on this process's
    thread, so the next call usually finds it done: this process then works a page ahead
    of the calls, as the applying one works through the page before."""
    global _next
    if _client is None or _net is None:
        raise RuntimeError("the verifying process has no client")
    asked, _next = _next, None
    wanted = (since, limit, scope, dict(keys))
    if asked is not None and asked[0] == wanted:
        checked = asked[1].result()
    else:
        if asked is not None:  # another page than foreseen: not used
            asked[1].cancel()
        checked = _fetch_and_check(since, limit, scope, keys)
    page = checked[0]
    if page.has_more and page.next_since > since:
        _next = ((page.next_since, limit, scope, dict(keys)),
                 _net.submit(_fetch_and_check, page.next_since, limit, scope, keys))
    return checked


def _fetch_and_check(since: int, limit: int, scope: str, keys: Mapping[str, bytes]
                     ) -> Checked:
    assert _client is not None
    page = _client.pull(since, limit, scope=scope)
    verdicts, contents = check_ahead([item.event for item in page.events], keys)
    return page, verdicts, contents
