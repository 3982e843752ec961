"""Core benchmarks of issue 2 (services and storage, no UI).

``python -m bench.bench_core [--decisions N] [--saves N] [--queries N]``

Runs against a copy of the cached generated vault (see bench/common.py) and
prints a table; figures are merged into bench/results.json. What each figure
means is in docs/performance.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import re
import secrets
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from app.model import LIST_PAGE_ROWS
from bench import common

TARGETS = {
    "save_raw_p95_ratio": 5.0,
    "search_3word_p95_ms": 20.0,
    "followups_due_week_p95_ms": 10.0,
    "unlock_p50_ms": 1000.0,
    "integrity_check_s": 10.0,
}
STOPWORDS = frozenset(
    "the and for was were with from that this are not has have had its their them they our "
    "only about what who why when which into out over than then there these those will would "
    "does need needs been being".split()
)
WORD = re.compile(r"[A-Za-z]{3,}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_core")
    parser.add_argument("--decisions", type=int,
                        default=int(os.environ.get("BENCH_DECISIONS", "100000")))
    parser.add_argument("--saves", type=int, default=200)
    parser.add_argument("--queries", type=int, default=100)
    args = parser.parse_args(argv)
    from app import session

    n = args.decisions
    figures: dict[str, Any] = {}
    t0 = time.perf_counter()
    home, passphrase = common.cached_vault(n)
    info = common.vault_info(home)
    print(f"Vault: {info['decisions']:,} decisions, {info['followups']:,} follow-ups "
          f"({info['followups_open']:,} open), {info['events']:,} events; generated in "
          f"{info['generation_seconds']:.0f} s on {info['generated_at']} "
          f"(copied to {home} in {time.perf_counter() - t0:.1f} s)")
    today = dt.date.fromisoformat(info["today"])
    figures["generation_s"] = float(info["generation_seconds"])
    figures["generation_decisions"] = int(info["decisions"])
    figures["generation_followups"] = int(info["followups"])
    figures["generation_events"] = int(info["events"])

    # -- unlock (scrypt + open + service set-up), then lock again -----------------------
    unlock_ms = []
    for _ in range(5):
        ms, svc = common.timed(lambda: session.unlock(passphrase, base=home))
        unlock_ms.append(ms)
        svc.lock()
    figures["unlock_p50_ms"] = common.p50(unlock_ms)
    print(f"unlock: {', '.join(f'{v:.0f}' for v in unlock_ms)} ms")

    svc = session.unlock(passphrase, base=home)
    svc.set_today(today)
    try:
        figures.update(_size(svc, home))
        figures.update(_followups(svc, args.queries))
        figures.update(_search(svc, args.queries))
        figures.update(_saves(svc, args.saves, home))
        figures.update(_integrity(svc))
    finally:
        svc.lock()
    figures["bench_core_s"] = time.perf_counter() - t0
    common.merge_results(figures)
    _report(figures)
    return 0


# -- figures ---------------------------------------------------------------------------
def _size(svc: Any, home: Path) -> dict[str, Any]:
    conn = svc.vault.conn
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
    path = svc.vault.path
    wal = path.with_name(path.name + "-wal")
    size = path.stat().st_size + (wal.stat().st_size if wal.exists() else 0)
    count = svc.decision_count()
    return {"vault_bytes": size, "vault_bytes_per_decision": size / count}


def _followups(svc: Any, queries: int) -> dict[str, Any]:
    for _ in range(5):
        svc.my_followups(due_within_week=True)
    times = []
    rows = 0
    for _ in range(queries):
        ms, result = common.timed(lambda: svc.my_followups(due_within_week=True))
        times.append(ms)
        rows = len(result)
    return {"followups_due_week_p50_ms": common.p50(times),
            "followups_due_week_p95_ms": common.p95(times),
            "followups_due_week_rows": rows}


def _search_phrases(svc: Any, count: int) -> list[str]:
    """Three words from one generated record's indexed text, so every query matches."""
    conn = svc.vault.conn
    rng = random.Random(11)
    top = int(conn.execute("SELECT max(rowid) FROM decisions_fts").fetchone()[0])
    phrases = ["home visit neglect"]
    while len(phrases) < count:
        row = conn.execute(
            "SELECT subjects, counterparties, information, reasons FROM decisions_fts "
            "WHERE rowid = ?", (rng.randint(1, top),)).fetchone()
        if row is None:
            continue
        words = sorted({w.lower() for w in WORD.findall(" ".join(row))} - STOPWORDS)
        if len(words) >= 3:
            phrases.append(" ".join(rng.sample(words, 3)))
    return phrases


SEARCH_PAGE_ROWS = LIST_PAGE_ROWS


def _search(svc: Any, queries: int) -> dict[str, Any]:
    """Three-word searches: the first page the list shows (its page size), and every match.

    The decisions list asks for one page of newest-first results per keystroke and the
    next page only when the person scrolls, so the first page is what they wait for.
    """
    from app.model import SearchFilters

    page = SearchFilters(limit=SEARCH_PAGE_ROWS)
    phrases = _search_phrases(svc, queries)
    for p in phrases[:5]:
        svc.search(p, page)
    first, everything, rows = [], [], []
    for p in phrases:
        ms, _ = common.timed(lambda p=p: svc.search(p, page))
        first.append(ms)
    for p in phrases:
        ms, result = common.timed(lambda p=p: svc.search(p))
        everything.append(ms)
        rows.append(len(result))
    slowest = sorted(zip(first, rows, phrases, strict=True), reverse=True)[:3]
    for ms, r, p in slowest:
        print(f"slow search (first page): {p!r}: {ms:.0f} ms, {r:,} matches")
    return {
        "search_3word_p50_ms": common.p50(first),
        "search_3word_p95_ms": common.p95(first),
        "search_3word_page_rows": SEARCH_PAGE_ROWS,
        "search_3word_rows_p50": int(common.p50(rows)),
        "search_3word_rows_max": max(rows),
        "search_3word_all_rows_p50_ms": common.p50(everything),
        "search_3word_all_rows_p95_ms": common.p95(everything),
    }


def _saves(svc: Any, saves: int, home: Path) -> dict[str, Any]:
    """Sharelog saves and raw SQLCipher insert+commit, interleaved on the same disk."""
    from app import demo
    from db.vault import Vault

    raw_dir = Path(tempfile.mkdtemp(prefix="raw-", dir=home))
    raw = Vault.create(raw_dir / "raw.sharelog", common.PASSPHRASE)  # same key method, pragmas
    try:
        raw.conn.execute("CREATE TABLE raw_bench (id INTEGER PRIMARY KEY, body BLOB NOT NULL)")
        payload = secrets.token_bytes(1300)  # about one decision event's payload
        rng = random.Random(5)
        # Decided a minute ago by the service's clock: a record dated later would be refused.
        now = svc.now().replace(second=0, microsecond=0) - dt.timedelta(minutes=1)
        records = [demo.fake_record(rng, now) for _ in range(saves + 10)]
        save_ms, raw_ms = [], []

        def raw_insert() -> None:
            with raw.transaction() as conn:
                conn.execute("INSERT INTO raw_bench (body) VALUES (?)", (payload,))

        for i, record in enumerate(records):
            r_ms, _ = common.timed(raw_insert)
            s_ms, _ = common.timed(lambda record=record: svc.record_decision(record))
            if i >= 10:  # the first few warm the statement and page caches
                raw_ms.append(r_ms)
                save_ms.append(s_ms)
    finally:
        raw.lock()
    return {
        "save_p50_ms": common.p50(save_ms),
        "save_p95_ms": common.p95(save_ms),
        "raw_insert_p50_ms": common.p50(raw_ms),
        "raw_insert_p95_ms": common.p95(raw_ms),
        "save_raw_p95_ratio": common.p95(save_ms) / common.p95(raw_ms),
        "save_raw_p50_ratio": common.p50(save_ms) / common.p50(raw_ms),
    }


def _integrity(svc: Any) -> dict[str, Any]:
    ms, report = common.timed(svc.verify_integrity)
    if not report.ok:
        print(f"integrity check FAILED: {report.summary()}", file=sys.stderr)
    deep_ms, deep = common.timed(lambda: svc.verify_integrity(every_signature=True))
    if not deep.ok:
        print(f"deep integrity check FAILED: {deep.summary()}", file=sys.stderr)
    return {"integrity_check_s": ms / 1000, "integrity_deep_check_s": deep_ms / 1000,
            "integrity_events": report.events_checked,
            "integrity_ok": int(report.ok and deep.ok)}


# -- report ----------------------------------------------------------------------------
def _report(f: dict[str, Any]) -> None:
    def met(name: str, value: float | None = None) -> bool | None:
        target = TARGETS.get(name)
        return None if target is None else (f[name] if value is None else value) <= target

    rows = [
        ("save decision p50 (Sharelog)", f["save_p50_ms"], "ms", "", None),
        ("save decision p95 (Sharelog)", f["save_p95_ms"], "ms", "", None),
        ("raw insert+commit p50", f["raw_insert_p50_ms"], "ms", "", None),
        ("raw insert+commit p95", f["raw_insert_p95_ms"], "ms", "", None),
        ("save p95 / raw p95", f["save_raw_p95_ratio"], "x", "<= 5x", met("save_raw_p95_ratio")),
        ("search, 3 words, p95", f["search_3word_p95_ms"], "ms", "<= 20 ms",
         met("search_3word_p95_ms")),
        ("  matches per search (median)", f["search_3word_rows_p50"], "rows", "", None),
        ("  every match, not one page, p95", f["search_3word_all_rows_p95_ms"], "ms", "",
         None),
        ("my follow-ups due this week p95", f["followups_due_week_p95_ms"], "ms", "<= 10 ms",
         met("followups_due_week_p95_ms")),
        ("  rows returned", f["followups_due_week_rows"], "rows", "", None),
        ("unlock incl. scrypt p50", f["unlock_p50_ms"], "ms", "<= 1000 ms",
         met("unlock_p50_ms")),
        ("integrity check (chain + tips)", f["integrity_check_s"], "s", "<= 10 s",
         met("integrity_check_s")),
        ("deep check (every signature)", f["integrity_deep_check_s"], "s", "", None),
        ("vault bytes per decision", f["vault_bytes_per_decision"], "B", "", None),
        ("generation of the vault", f["generation_s"], "s", "", None),
    ]
    common.print_table(rows, title=f"Core benchmarks ({f['generation_decisions']:,} decisions, "
                                   f"{f['generation_events']:,} events)")


if __name__ == "__main__":
    sys.exit(main())
