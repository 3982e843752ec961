"""Store benchmarks (issue 9), against a throwaway PostgreSQL cluster and a real store process.

``python -m bench.bench_server [--events N] [--devices N] [--rounds N]``

- push: N (10,000) signed events pushed in batches of 500 through HTTP, beside a baseline
  measured in the same run: psycopg inserting the same rows into the same table in the
  same batches, after verifying each event's hash and signature (the store's own work
  without HTTP, JSON, rights or chain checks). Target: within 10x of the baseline.
- devices: 50 simulated devices (5 teams of 9 practitioners and a manager) syncing at
  once: each round pushes a batch of 10 events and pulls what its scope received. Events
  stored per second over the whole run, and p95 of every request's latency. Targets:
  >= 1,000 events/s, p95 <= 500 ms.
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from app.envelope import DeviceChain, SignedEvent, Verifier, parents_text, to_wire
from app.events import DeviceKey
from app.sync.transport import StoreClient
from bench import common
from server import accounts
from server.database import make_engine, migrate, writing
from server.pgcluster import Cluster, cpu_seconds
from server.process import StoreProcess

PASSWORD = "benchmark password"
BATCH = 500
TARGETS = {"push_10k_ratio": 10.0, "devices_events_per_s": 1000.0, "devices_p95_ms": 500.0}


def _org(url: str, teams: int, practitioners: int) -> list[list[tuple[str, str]]]:
    """(username, role) per team; accounts made in-process with the store's own code."""
    engine = make_engine(url)
    out: list[list[tuple[str, str]]] = []
    with writing(engine) as conn:
        accounts.create_organisation(conn, "Bench Council")
        for t in range(teams):
            team = accounts.create_team(conn, "Bench Council", f"Team {t}")
            members = [(f"t{t}-p{i}", "practitioner") for i in range(practitioners)]
            members.append((f"t{t}-m", "manager"))
            for username, role in members:
                accounts.create_user(conn, team, username, username, role, PASSWORD)
            out.append(members)
    engine.dispose()
    return out


def _enrol(base_url: str, username: str) -> tuple[StoreClient, DeviceChain]:
    key = DeviceKey.generate()
    client = StoreClient(base_url)
    device_id = str(uuid.uuid4())
    result = client.enrol(username=username, password=PASSWORD, device_id=device_id,
                          public_key=key.public_bytes)
    return client, DeviceChain(key, device_id, result.team_id, result.user_id)


def _events(chain: DeviceChain, n: int) -> list[SignedEvent]:
    out: list[SignedEvent] = []
    record = ""
    for i in range(n):
        if i % 5 == 0:
            record = str(uuid.uuid4())
            out.append(chain.event("decision.create", record, payload=b"\x01" * 1200))
        else:
            out.append(chain.event("decision.correct", record, payload=b"\x02" * 1200))
    return out


def bench_push(cluster: Cluster, home: Path, n: int) -> dict[str, float]:
    url = cluster.create_database("bench_push")
    engine = make_engine(url)
    migrate(engine)
    engine.dispose()
    _org(url, 1, 1)
    store = StoreProcess(url, home / "push")
    try:
        client, chain = _enrol(store.base_url, "t0-p0")
        events = _events(chain, n)
        start = time.perf_counter()
        for i in range(0, n, BATCH):
            client.push(events[i:i + BATCH])
        store_s = time.perf_counter() - start
        client.close()
    finally:
        store.stop()
    baseline_s = _baseline(cluster, chain, events)
    return {"push_10k_s": store_s, "push_10k_baseline_s": baseline_s,
            "push_10k_ratio": store_s / baseline_s, "push_10k_events": n}


def _baseline(cluster: Cluster, chain: DeviceChain, events: list[SignedEvent]) -> float:
    """psycopg: verify each event's hash and signature, insert the same rows per batch."""
    import psycopg

    url = cluster.create_database("bench_baseline")
    engine = make_engine(url)
    migrate(engine)
    engine.dispose()
    columns = ("team_id", "seq", "event_id", "entity", "kind", "record_id", "entity_id",
               "env_team_id", "author_id", "device_id", "device_seq", "hlc", "parents",
               "schema_version", "owner_id", "assignee_id", "payload", "prev_hash", "hash",
               "signature", "author_user_id", "received_at")
    sql = (f"INSERT INTO events ({', '.join(columns)}) "
           f"VALUES ({', '.join(['%s'] * len(columns))})")
    verifier = Verifier(chain.key.public_bytes)
    now = accounts.now_iso()
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as conn:
        start = time.perf_counter()
        for i in range(0, len(events), BATCH):
            rows = []
            for seq, ev in enumerate(events[i:i + BATCH], start=i + 1):
                verifier.authenticate(ev)
                rows.append((chain.team_id, seq, ev.event_id, ev.entity, ev.kind, ev.record_id,
                             ev.entity_id, ev.team_id, ev.author_id, ev.device_id,
                             ev.device_seq, ev.hlc, parents_text(ev.parents), ev.schema_version,
                             ev.owner_id, ev.assignee_id, ev.payload, ev.prev_hash, ev.hash,
                             ev.signature, ev.author_id, now))
            with conn.transaction(), conn.cursor() as cur:
                cur.executemany(sql, rows)
        return time.perf_counter() - start


def bench_devices(cluster: Cluster, home: Path, teams: int, per_team: int, rounds: int,
                  batch: int, workers: int, method: str = "processes") -> dict[str, float]:
    """The 50-device run. ``method`` is how the devices are simulated (the workload is the
    same): "processes", one process per team, each device a thread on a plain keep-alive
    HTTP connection sending its pre-built push bodies and reading from each answer only
    what a device needs to go on (the count stored, the next cursor); "threads", the
    earlier method: every device a thread of this one process, through the client's
    ``StoreClient`` (httpx, every pulled event decoded into a ``SignedEvent``)."""
    url = cluster.create_database(f"bench_devices_{uuid.uuid4().hex[:8]}")
    engine = make_engine(url)
    migrate(engine)
    engine.dispose()
    org = _org(url, teams, per_team - 1)
    store = StoreProcess(url, home / "devices", workers=workers)
    try:
        devices = [_enrol(store.base_url, username) for members in org
                   for username, _ in members]
        work = [_events(chain, rounds * batch) for _, chain in devices]
        run = _run_in_threads if method == "threads" else _run_in_processes
        store_pid, pg_pid = store.proc.pid, cluster.postmaster_pid()
        cpu0 = cpu_seconds(store_pid), cpu_seconds(pg_pid)
        stored, elapsed, latencies, client_cpu = run(store.base_url, devices, work, rounds,
                                                     batch, per_team)
        store_cpu, pg_cpu = cpu_seconds(store_pid) - cpu0[0], cpu_seconds(pg_pid) - cpu0[1]
    finally:
        store.stop()
    requests = len(latencies)
    return {"devices_count": len(devices), "devices_events_per_s": stored / elapsed,
            "devices_p95_ms": common.p95(latencies), "devices_p50_ms": common.p50(latencies),
            "devices_requests": requests, "devices_store_workers": workers,
            "devices_elapsed_s": elapsed, "devices_store_cpu_s": store_cpu,
            "devices_postgresql_cpu_s": pg_cpu, "devices_client_cpu_s": client_cpu,
            "devices_store_cpu_ms_per_request": store_cpu * 1000 / requests,
            "devices_postgresql_cpu_ms_per_request": pg_cpu * 1000 / requests}


Result = tuple[int, float, list[float], float]  # stored, elapsed s, latencies ms, client CPU s


def _run_in_threads(base_url: str, devices: list[tuple[StoreClient, DeviceChain]],
                    work: list[list[SignedEvent]], rounds: int, batch: int,
                    _per_team: int) -> Result:
    latencies: list[float] = []
    stored = [0]
    lock = threading.Lock()
    errors: list[BaseException] = []
    barrier = threading.Barrier(len(devices) + 1)

    def run(i: int) -> None:
        client, _ = devices[i]
        cursor, mine = 0, []
        try:
            barrier.wait()
            for r in range(rounds):
                t0 = time.perf_counter()
                result = client.push(work[i][r * batch:(r + 1) * batch])
                t1 = time.perf_counter()
                page = client.pull(cursor, limit=1000)
                t2 = time.perf_counter()
                cursor = page.next_since
                mine += [(t1 - t0) * 1000, (t2 - t1) * 1000]
                with lock:
                    stored[0] += len(result.results)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(devices))]
    for t in threads:
        t.start()
    cpu0 = time.process_time()
    barrier.wait()
    start = time.perf_counter()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start
    if errors:
        raise errors[0]
    return stored[0], elapsed, latencies, time.process_time() - cpu0


def _run_in_processes(base_url: str, devices: list[tuple[StoreClient, DeviceChain]],
                      work: list[list[SignedEvent]], rounds: int, batch: int,
                      per_team: int) -> Result:
    """One process per team; every body is serialised before the timed window."""
    plans = [(client.token or "", [json.dumps({
        "events": [to_wire(e) for e in events[r * batch:(r + 1) * batch]],
        "acknowledged_refusals": []}).encode() for r in range(rounds)])
        for (client, _), events in zip(devices, work, strict=True)]
    groups = [plans[i:i + per_team] for i in range(0, len(plans), per_team)]
    context = multiprocessing.get_context("fork")
    barrier = context.Barrier(len(groups) + 1)
    answers = context.Queue()
    host, port = base_url.removeprefix("http://").split(":")
    procs = [context.Process(target=_team_process, args=(host, int(port), g, barrier, answers))
             for g in groups]
    for p in procs:
        p.start()
    barrier.wait()
    start = time.perf_counter()
    results = [answers.get(timeout=600) for _ in procs]
    for p in procs:
        p.join(60)
    failures = [r["error"] for r in results if r["error"]]
    if failures:
        raise RuntimeError(failures[0])
    elapsed = max(r["end"] for r in results) - start
    return (sum(r["stored"] for r in results), elapsed,
            [ms for r in results for ms in r["latencies"]], sum(r["cpu"] for r in results))


def _team_process(host: str, port: int, plans: list[tuple[str, list[bytes]]],
                  barrier: Any, answers: Any) -> None:
    """A team's devices, each a thread with its own keep-alive connection. A request is
    timed from sending it to having read its whole answer."""
    latencies: list[float] = []
    stored = [0]
    errors: list[str] = []
    lock = threading.Lock()
    ready = threading.Barrier(len(plans) + 1)

    def device(token: str, bodies: list[bytes]) -> None:
        conn = http.client.HTTPConnection(host, port, timeout=120)
        auth = {"Authorization": f"Bearer {token}", "Sharelog-Protocol": "1"}  # as StoreClient
        headers = {**auth, "Content-Type": "application/json"}
        cursor, mine, count = 0, [], 0
        try:
            ready.wait()
            for body in bodies:
                t0 = time.perf_counter()
                conn.request("POST", "/v1/push", body, headers)
                answer = conn.getresponse()
                data = answer.read()
                t1 = time.perf_counter()
                if answer.status != 200:
                    raise RuntimeError(f"push answered {answer.status}: {data[:300]!r}")
                count += len(json.loads(data)["results"])
                t2 = time.perf_counter()
                conn.request("GET", f"/v1/pull?since={cursor}&limit=1000", headers=auth)
                answer = conn.getresponse()
                data = answer.read()
                t3 = time.perf_counter()
                if answer.status != 200:
                    raise RuntimeError(f"pull answered {answer.status}: {data[:300]!r}")
                cursor = json.loads(data)["next_since"]
                mine += [(t1 - t0) * 1000, (t3 - t2) * 1000]
        except BaseException as exc:  # noqa: BLE001 - reported to the parent
            errors.append(repr(exc))
        finally:
            conn.close()
        with lock:
            latencies.extend(mine)
            stored[0] += count

    threads = [threading.Thread(target=device, args=plan) for plan in plans]
    for t in threads:
        t.start()
    cpu0 = time.process_time()
    barrier.wait()
    ready.wait()
    for t in threads:
        t.join()
    answers.put({"stored": stored[0], "end": time.perf_counter(), "latencies": latencies,
                 "cpu": time.process_time() - cpu0, "error": errors[0] if errors else ""})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--teams", type=int, default=5)
    parser.add_argument("--per-team", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--batch", type=int, default=10)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--clients", choices=("processes", "threads"), default="processes",
                        help="how the devices are simulated (threads: the earlier method)")
    parser.add_argument("--only", choices=("push", "devices"), default=None)
    parser.add_argument("--fast-postgresql", action="store_true",
                        help="fsync and synchronous_commit off, as runs before round 6 had")
    parser.add_argument("--pg-settings", default="", help="more -c settings for PostgreSQL")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    figures: dict[str, Any] = {}
    cluster = Cluster(durable=not args.fast_postgresql, settings=args.pg_settings).start()
    try:
        with tempfile.TemporaryDirectory(prefix="sharelog-bench-store-") as tmp:
            home = Path(tmp)
            for sub in ("push", "devices"):
                (home / sub).mkdir()
            if args.only in (None, "push"):
                figures.update(bench_push(cluster, home, args.events))
            if args.only in (None, "devices"):
                figures.update(bench_devices(cluster, home, args.teams, args.per_team,
                                             args.rounds, args.batch, args.workers,
                                             args.clients))
    finally:
        cluster.stop()
    if args.json:
        print(json.dumps(figures))
    if args.only is not None:
        return 0
    common.merge_results({f"server_{k}": v for k, v in figures.items()})
    rows = [
        ("push of 10,000 events", figures["push_10k_s"], "s", "", None),
        ("  psycopg baseline", figures["push_10k_baseline_s"], "s", "", None),
        ("  ratio", figures["push_10k_ratio"], "x", "<= 10", figures["push_10k_ratio"] <= 10),
        (f"{figures['devices_count']} devices at once", figures["devices_events_per_s"],
         "events/s", ">= 1000", figures["devices_events_per_s"] >= 1000),
        ("  request p95", figures["devices_p95_ms"], "ms", "<= 500",
         figures["devices_p95_ms"] <= 500),
        ("  request p50", figures["devices_p50_ms"], "ms", "", None),
        ("  store CPU per request", figures["devices_store_cpu_ms_per_request"], "ms", "", None),
        ("  PostgreSQL CPU per request", figures["devices_postgresql_cpu_ms_per_request"], "ms",
         "", None),
    ]
    common.print_table(rows, title="Store (PostgreSQL)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
