"""The second process of a long pull: it fetches each next page from the store, decodes
it and checks its events (signatures, chains, contents), while the sync engine's own
process applies the page before.

Fetching and decoding a page took about a fifth of the applying process's CPU (46 us an
event: HTTP, JSON, base64 and building each event), under the same GIL as the applying,
which is the critical path of a first pull; here it runs beside it. The page comes back
decoded, with the verdicts, and the applying process only unpickles it (a few us an event).

The process holds its own ``StoreClient`` (``ClientSettings``: the address, the device token
and the timeouts, never a vault key) and, as soon as a page says where the next one starts,
asks for that one on a thread of its own, so the store's time to answer overlaps the checks.
It never writes the vault: the engine checks each page moves on (``SyncEngine._moved``) and
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

_client: StoreClient | None = None
_net: ThreadPoolExecutor | None = None
_next: tuple[tuple[int, int, str], Future[PullPage]] | None = None


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


def fetch_and_check(since: int, limit: int, scope: str, keys: Mapping[str, bytes]
                    ) -> tuple[PullPage, list[Verdict | None], list[str | None]]:
    """The page after ``since``, decoded, with ``check_ahead``'s verdicts and contents for
    each of its events (held ones too: the engine leaves those out)."""
    global _next
    if _client is None or _net is None:
        raise RuntimeError("the verifying process has no client")
    asked, _next = _next, None
    if asked is not None and asked[0] == (since, limit, scope):
        page = asked[1].result()
    else:
        if asked is not None:  # asked for another page than foreseen: not used
            asked[1].cancel()
        page = _client.pull(since, limit, scope=scope)
    if page.has_more and page.next_since > since:
        _next = ((page.next_since, limit, scope),
                 _net.submit(_client.pull, page.next_since, limit, scope=scope))
    verdicts, contents = check_ahead([item.event for item in page.events], keys)
    return page, verdicts, contents
