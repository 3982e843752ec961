"""Helpers shared by the benchmarks (``bench_core`` and ``bench_ui``).

The main entry points:

``cached_vault(n_decisions) -> (home_path, passphrase)``
    A fresh ``SHARELOG_HOME`` directory (a new temp dir on every call) holding a
    vault of ``n_decisions`` generated decisions. The vault is generated once
    through the real services and kept under ``bench/.cache/``; each call copies
    it, so a benchmark may change its copy freely and never touches the cache.
    Temp dirs are removed when the process exits. Open it with
    ``app.session.unlock(passphrase, base=home_path)``.

``vault_info(home_path) -> dict``
    What the generator recorded about that vault: ``today`` (ISO date the data
    was generated against; pass it to ``Sharelog.set_today`` so "due this week"
    sees the same data every run), counts, and ``generation_seconds``.

``percentile(values, p)``, ``p50``, ``p95``, ``timed(fn)``
    Timing helpers (milliseconds unless the name says otherwise).

``merge_results({"figure name": number, ...})``
    Merge figures into ``bench/results.json`` (written atomically).

``print_table(rows)``
    Print ``(figure, value, unit, target, met)`` rows as an aligned table.

The generated data (``GENERATOR_VERSION`` is part of the cache key: bump it
whenever the generator changes and the cache is rebuilt):

- ``n`` decisions from ``app.demo.fake_record``, decided at random minutes
  over ``SPAN_DAYS`` before ``today``, recorded in time order with
  ``Sharelog.bulk()`` / ``BulkWriter.record_decision`` (the same code a single save
  runs: signed events, projection, FTS, outbox, address book);
- extra follow-ups (kind ``other``) emitted with the same writer so follow-ups
  total ``FOLLOWUPS_PER_DECISION * n`` (150,000 for 100,000 decisions);
- follow-up history, in time order: 5% are rescheduled once; each is completed
  (97.5%) or cancelled (2.5%) a few days around its due date, except 0.5% that
  are left open (an overdue backlog) and those not yet due at ``today``.
"""

from __future__ import annotations

import atexit
import contextlib
import datetime as dt
import heapq
import json
import math
import os
import random
import shutil
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from app.files import atomic_write

BENCH_DIR = Path(__file__).resolve().parent
CACHE_DIR = BENCH_DIR / ".cache"
RESULTS_PATH = BENCH_DIR / "results.json"

PASSPHRASE = "correct horse battery staple"
DISPLAY_NAME = "Sam Worker"

# Bump when anything below changes what gets generated: the cache is keyed on it.
GENERATOR_VERSION = 6  # envelope v2 events, UTC times in the projection
SPAN_DAYS = 5 * 365
FOLLOWUPS_PER_DECISION = 1.5
BATCH = 2000  # decisions per bulk() transaction

EXTRA_FOLLOWUP_TITLES = (
    "Ask the school whether it holds relevant information",
    "Check the family were told about the share",
    "Review the decision with my manager in supervision",
    "Request the outcome of the strategy discussion",
    "Ask the GP whether anyone else in the household is known to them",
)
DONE_OUTCOMES = (
    "The recipient confirmed receipt and has added it to their assessment.",
    "Confirmed by phone; the school has raised it at the child protection conference.",
    "The GP replied with the information requested; filed on the case record.",
    "Recipient understood the information and has acted on it: a home visit is booked.",
)
CANCEL_REASONS = (
    "The case was closed before the follow-up was needed.",
    "The information was superseded by a strategy meeting decision.",
)


# -- timing ----------------------------------------------------------------------------
def percentile(values: Sequence[float], p: float) -> float:
    """The ``p``-th percentile (0-100) with linear interpolation between ranks."""
    if not values:
        raise ValueError("no values")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * p / 100.0
    lo, hi = math.floor(rank), math.ceil(rank)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (rank - lo)


def p50(values: Sequence[float]) -> float:
    return percentile(values, 50)


def p95(values: Sequence[float]) -> float:
    return percentile(values, 95)


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    """Run ``fn`` once: (elapsed milliseconds, its result)."""
    start = time.perf_counter()
    result = fn()
    return (time.perf_counter() - start) * 1000.0, result


# -- results ---------------------------------------------------------------------------
def merge_results(figures: dict[str, float | int], path: Path = RESULTS_PATH) -> dict[str, Any]:
    """Merge ``figure name -> number`` into results.json (atomic replace); returns the whole."""
    current: dict[str, Any] = {}
    if path.exists():
        with contextlib.suppress(OSError, ValueError):
            loaded = json.loads(path.read_text("utf-8"))
            if isinstance(loaded, dict):
                current = loaded
    current.update({k: _rounded(v) for k, v in figures.items()})
    text = json.dumps(dict(sorted(current.items())), indent=2) + "\n"
    atomic_write(path, text.encode("utf-8"))
    return current


def _rounded(value: float | int) -> float | int:
    if isinstance(value, bool) or not isinstance(value, float):
        return value
    return round(value, 3 if abs(value) < 100 else 1)


def print_table(rows: Iterable[tuple[str, float | int, str, str, bool | None]],
                title: str = "") -> None:
    """Rows of (figure, value, unit, target text, met: True/False/None for no target)."""
    body = [
        (name, _fmt(value), unit, target, "" if met is None else ("yes" if met else "NO"))
        for name, value, unit, target, met in rows
    ]
    head = ("figure", "value", "unit", "target", "met")
    widths = [max(len(r[i]) for r in [head, *body]) for i in range(5)]
    if title:
        print(f"\n{title}")
    line = "  ".join(
        h.ljust(w) if i != 1 else h.rjust(w) for i, (h, w) in enumerate(zip(head, widths,
                                                                          strict=True)))
    print(line)
    print("-" * len(line))
    for r in body:
        print("  ".join(c.ljust(w) if i != 1 else c.rjust(w)
                        for i, (c, w) in enumerate(zip(r, widths, strict=True))))


def _fmt(value: float | int) -> str:
    if isinstance(value, int):
        return f"{value:,}"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.2f}"


# -- the generated vault ---------------------------------------------------------------
def cache_path(n_decisions: int) -> Path:
    return CACHE_DIR / f"vault-g{GENERATOR_VERSION}-n{n_decisions}"


def cached_vault(n_decisions: int) -> tuple[Path, str]:
    """A fresh SHARELOG_HOME (temp dir) holding a copy of the cached n-decision vault.

    Generates the cache first if it is missing (minutes for 100,000 decisions).
    The copy is removed at process exit; the cache is never opened for writing.
    """
    source = ensure_cached(n_decisions)
    home = Path(tempfile.mkdtemp(prefix=f"sharelog-bench-{n_decisions}-"))
    atexit.register(shutil.rmtree, home, True)
    for item in source.iterdir():
        if item.is_file():
            shutil.copy2(item, home / item.name)
    return home, PASSPHRASE


def vault_info(home: Path) -> dict[str, Any]:
    """What the generator recorded about a cached vault (see module doc)."""
    info: dict[str, Any] = json.loads((home / "bench-info.json").read_text("utf-8"))
    return info


def ensure_cached(n_decisions: int, *, log: Callable[[str], None] = print) -> Path:
    """The cache directory for ``n_decisions``, generating it if needed."""
    target = cache_path(n_decisions)
    if (target / "bench-info.json").exists():
        return target
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    for stale in CACHE_DIR.glob(f"vault-g*-n{n_decisions}"):
        if stale != target:
            shutil.rmtree(stale, ignore_errors=True)
    building = Path(tempfile.mkdtemp(prefix=f".building-n{n_decisions}-", dir=CACHE_DIR))
    try:
        log(f"Generating a vault of {n_decisions:,} decisions (cached in {target}) ...")
        info = generate_vault(building, n_decisions, log=log)
        (building / "bench-info.json").write_text(json.dumps(info, indent=2) + "\n", "utf-8")
        shutil.rmtree(target, ignore_errors=True)
        os.replace(building, target)
    finally:
        shutil.rmtree(building, ignore_errors=True)
    return target


def generate_vault(home: Path, n_decisions: int, *, seed_value: int = 2024,
                   today: dt.date | None = None, log: Callable[[str], None] = print,
                   ) -> dict[str, Any]:
    """Create a vault in ``home`` and fill it through the real services. Returns its info."""
    from app import demo, session
    from app.followups import heads_of_followup
    from app.model import FollowUpKind

    today = today or dt.date.today()
    end = dt.datetime.combine(today, dt.time(17, 30))
    rng = random.Random(seed_value)
    start = time.perf_counter()
    svc = session.create_vault(DISPLAY_NAME, PASSPHRASE, base=home)
    svc.set_today(today)
    owner = svc.identity.user_id
    span_minutes = SPAN_DAYS * 24 * 60
    times = sorted(end - dt.timedelta(minutes=rng.randint(0, span_minutes))
                   for _ in range(n_decisions))
    # Pending follow-up changes, in time order: (when, tiebreak, kind, followup, record, body)
    pending: list[tuple[dt.datetime, int, str, str, str, dict[str, Any]]] = []
    counter = 0
    followups = 0
    counts = {"followup.reschedule": 0, "followup.done": 0, "followup.cancel": 0}

    def plan(fid: str, record_id: str, due: dt.date) -> None:
        """Decide what will happen to a follow-up; queue the changes that happen by today."""
        nonlocal counter
        if rng.random() < 0.05:
            when = dt.datetime.combine(due - dt.timedelta(days=1), dt.time(9, 0))
            due = due + dt.timedelta(days=7)
            counter += 1
            heapq.heappush(pending, (when, counter, "followup.reschedule", fid, record_id,
                                     {"due_date": due.isoformat(), "reason": "Recipient on leave",
                                      "previous_due_date": None}))
        if rng.random() < 0.005:
            return  # never closed: the overdue backlog
        when = dt.datetime.combine(due + dt.timedelta(days=rng.randint(-3, 10)), dt.time(11, 0))
        counter += 1
        if rng.random() < 0.975:
            heapq.heappush(pending, (when, counter, "followup.done", fid, record_id,
                                     {"outcome": rng.choice(DONE_OUTCOMES)}))
        else:
            heapq.heappush(pending, (when, counter, "followup.cancel", fid, record_id,
                                     {"reason": rng.choice(CANCEL_REASONS)}))

    def flush(writer: Any, upto: dt.datetime) -> None:
        while pending and pending[0][0] <= upto and pending[0][0].date() <= today:
            _, _, kind, fid, record_id, body = heapq.heappop(pending)
            if kind == "followup.reschedule":
                row = writer.conn.execute(
                    "SELECT due_date FROM followups WHERE followup_id = ?", (fid,)).fetchone()
                body = {**body, "previous_due_date": row[0]}
            writer.emit("followup", kind, record_id, fid,
                        parents=heads_of_followup(writer.conn, fid), payload=body)
            counts[kind] += 1

    done = 0
    last_log = start
    while done < n_decisions:
        with svc.bulk() as w:
            for when in times[done:done + BATCH]:
                flush(w, when)
                record_id = w.record_decision(demo.fake_record(rng, when), validated=False)
                for fid, due in w.conn.execute(
                        "SELECT followup_id, due_date FROM followups WHERE record_id = ?",
                        (record_id,)).fetchall():
                    followups += 1
                    plan(fid, record_id, dt.date.fromisoformat(due))
                target = round(FOLLOWUPS_PER_DECISION * (done + 1))
                extras = 0
                while followups < target and extras < 2:
                    extras += 1
                    fid = _emit_extra_followup(svc, w, rng, record_id, decided=when.date(),
                                               owner=owner, kind=FollowUpKind.OTHER.value)
                    followups += 1
                    plan(fid, record_id, dt.date.fromisoformat(
                        w.conn.execute("SELECT due_date FROM followups WHERE followup_id = ?",
                                       (fid,)).fetchone()[0]))
                done += 1
            if done >= n_decisions:
                flush(w, end)
        now = time.perf_counter()
        if now - last_log > 15 or done >= n_decisions:
            last_log = now
            log(f"  {done:,}/{n_decisions:,} decisions, {now - start:.0f} s")
    conn = svc.vault.conn
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
    events = int(conn.execute("SELECT count(*) FROM events").fetchone()[0])
    open_fu = int(conn.execute(
        "SELECT count(*) FROM followups WHERE state = 'open'").fetchone()[0])
    total_fu = int(conn.execute("SELECT count(*) FROM followups").fetchone()[0])
    svc.lock()
    seconds = time.perf_counter() - start
    return {
        "generator_version": GENERATOR_VERSION,
        "today": today.isoformat(),
        "decisions": n_decisions,
        "followups": total_fu,
        "followups_open": open_fu,
        "events": events,
        "reschedules": counts["followup.reschedule"],
        "completed": counts["followup.done"],
        "cancelled": counts["followup.cancel"],
        "generation_seconds": round(seconds, 1),
        "generated_at": dt.datetime.now().isoformat(timespec="seconds"),
    }


def _emit_extra_followup(svc: Any, writer: Any, rng: random.Random, record_id: str, *,
                         decided: dt.date, owner: str, kind: str) -> str:
    """A second follow-up on a record, emitted exactly as record_decision emits its own."""
    from app.events import uuid7

    fid = uuid7()
    due = svc.due_date_for(rng.choice((2, 10, 15)), start=decided)
    writer.emit("followup", "followup.create", record_id, fid, parents=[],
                payload={"owner_id": owner, "kind": kind,
                         "title": rng.choice(EXTRA_FOLLOWUP_TITLES), "due_date": due.isoformat()})
    return fid
