"""Where the save path spends its time: ``python -m bench.profile_save [n_decisions]``.

Not part of ``make bench``. Generates ``n`` decisions (default 5,000) into a
fresh temp vault with the benchmark generator and prints:

1. a cProfile of the run, restricted to app/, db/ and the library calls they make;
2. the time spent in each SQL statement (wall clock around ``execute``), which
   cProfile shows only as one ``execute`` line.
"""

from __future__ import annotations

import cProfile
import io
import pstats
import shutil
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from bench import common


class _TimedConnection:
    """Wraps the vault's connection to time each SQL statement (by its first 80 chars)."""

    def __init__(self, conn: Any, stats: dict[str, list[float]]) -> None:
        self._conn = conn
        self._stats = stats

    def execute(self, sql: str, *args: Any) -> Any:
        start = time.perf_counter()
        try:
            return self._conn.execute(sql, *args)
        finally:
            entry = self._stats[" ".join(sql.split())[:80]]
            entry[0] += 1
            entry[1] += time.perf_counter() - start

    def __getattr__(self, name: str) -> Any:
        return getattr(self._conn, name)


def main(argv: list[str]) -> None:
    n = int(argv[0]) if argv else 5000
    home = Path(tempfile.mkdtemp(prefix="sharelog-profile-"))
    try:
        profiler = cProfile.Profile()
        start = time.perf_counter()
        profiler.enable()
        info = common.generate_vault(home, n, log=lambda _m: None)
        profiler.disable()
        print(f"{n:,} decisions, {info['events']:,} events: "
              f"{time.perf_counter() - start:.1f} s under cProfile "
              "(profiling inflates Python-heavy code roughly 1.5-2x)")
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out)
        stats.sort_stats("tottime").print_stats(25)
        print(out.getvalue())
        _sql_breakdown(n)
    finally:
        shutil.rmtree(home, ignore_errors=True)


def _sql_breakdown(n: int) -> None:
    """Run the generator again without cProfile, timing each SQL statement."""
    from app import session

    home = Path(tempfile.mkdtemp(prefix="sharelog-profile-sql-"))
    stats: dict[str, list[float]] = defaultdict(lambda: [0, 0.0])
    original = session.create_vault

    def create_and_wrap(*args: Any, **kwargs: Any) -> Any:
        svc = original(*args, **kwargs)
        svc.vault._conn = _TimedConnection(svc.vault._conn, stats)
        return svc

    session.create_vault = create_and_wrap  # type: ignore[assignment]
    try:
        start = time.perf_counter()
        info = common.generate_vault(home, n, log=lambda _m: None)
        total = time.perf_counter() - start
    finally:
        session.create_vault = original  # type: ignore[assignment]
        shutil.rmtree(home, ignore_errors=True)
    sql = sum(v[1] for v in stats.values())
    print(f"Without cProfile: {total:.1f} s for {n:,} decisions ({total / n * 1000:.2f} ms each, "
          f"{total / info['events'] * 1000:.3f} ms per event); SQL {sql:.1f} s "
          f"({sql / total:.0%}), Python {total - sql:.1f} s")
    print(f"{'seconds':>8} {'calls':>8} {'us/call':>8}  statement")
    for text, (calls, secs) in sorted(stats.items(), key=lambda kv: -kv[1][1])[:14]:
        print(f"{secs:8.2f} {int(calls):8d} {secs / calls * 1e6:8.1f}  {text}")


if __name__ == "__main__":
    main(sys.argv[1:])
