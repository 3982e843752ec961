"""The demo store ``make run`` starts beside the client: from a fresh SHARELOG_HOME it
answers on loopback, its demo users enrol a real vault, a second start keeps them, and
``demo-beside`` runs the client with it and stops it afterwards."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from app.events import DeviceKey
from app.sync.transport import StoreClient
from db import store as vault_store
from server import demo, schema
from server.database import make_engine
from server.pgcluster import free_port
from tests.conftest import make_share
from tests.server.conftest import ROOT
from tests.server.vaults import vault_events

USERS = {u.username: u for u in demo.DEMO_USERS}


def start_demo(home: Path, port: int) -> tuple[subprocess.Popen[str], Path]:
    log = home / f"demo-{time.monotonic_ns()}.out"
    # A real store's database named in the environment must not be touched by the demo.
    env = {**os.environ, "SHARELOG_HOME": str(home),
           "SHARELOG_DATABASE_URL": "postgresql://nobody@127.0.0.1:1/not_a_database"}
    with open(log, "w") as out:
        proc = subprocess.Popen([sys.executable, "-m", "server", "demo", "--port", str(port)],
                                cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                                text=True)
    deadline = time.monotonic() + 60
    while not demo.answering(f"http://127.0.0.1:{port}"):
        assert proc.poll() is None, log.read_text()
        assert time.monotonic() < deadline, "the demo store did not answer"
        time.sleep(0.1)
    return proc, log


def enrol_vault(url: str, service, username: str) -> tuple[StoreClient, object]:
    meta = vault_store.meta_all(service.vault.conn)
    device_id = str(meta["device_id"])
    client = StoreClient(url)
    answer = client.enrol(username=username, password=USERS[username].password,
                          device_id=device_id,
                          public_key=vault_store.device_keys(service.vault.conn)[device_id],
                          local_user_id=str(meta["user_id"]), local_team_id=str(meta["team_id"]))
    return client, answer


@pytest.mark.slow
def test_the_demo_store_seeds_once_and_its_users_enrol_a_real_vault(home: Path,
                                                                     service) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc, log = start_demo(home, port)
    try:
        printed = log.read_text()
        assert "DEMO ONLY" in printed and "Demo team created." in printed
        for user in demo.DEMO_USERS:
            assert f"user name {user.username}" in printed and user.password in printed
        assert (home / "demo-store" / "store.sqlite3").exists()
        assert (home / "demo-store").stat().st_mode & 0o077 == 0
        assert httpx.get(f"{url}/v1/info").json()["service"] == "sharelog-store"
        # Sam signs in from a real vault and pushes its history; the manager receives it.
        service.record_decision(make_share())
        sam, answer = enrol_vault(url, service, "sam")
        assert (answer.role, answer.team_name, answer.organisation) == (
            "practitioner", demo.TEAM, demo.ORGANISATION)
        history = vault_events(service)
        assert {r.status for r in sam.push(history).results} == {"stored"}
        for name, role in (("alex", "practitioner"), ("morgan", "manager")):
            other = StoreClient(url)
            got = other.enrol(username=name, password=USERS[name].password,
                              device_id=f"demo-{name}",
                              public_key=DeviceKey.generate().public_bytes)
            assert got.role == role
        manager = other  # Morgan's device
        assert {p.event.event_id for p in manager.pull(0).events} == {
            e.event_id for e in history}
    finally:
        demo.stop(proc)
    # A second start keeps the team as it was: the same users and what they pushed.
    proc, log = start_demo(home, port)
    try:
        assert "Demo team found: kept as it was." in log.read_text()
        again, answer2 = enrol_vault(url, service, "sam")
        assert answer2.user_id == answer.user_id
        assert answer2.tip.device_seq == len(history)
    finally:
        demo.stop(proc)
    engine = make_engine(f"sqlite:///{home / 'demo-store' / 'store.sqlite3'}")
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(schema.organisations)
                            ).scalar_one() == 1
        assert conn.execute(select(func.count()).select_from(schema.users)).scalar_one() == 3
    engine.dispose()
    assert not (home / "store").exists()  # a real store's folder was never made


def test_the_demo_store_listens_only_on_this_computer(home: Path) -> None:
    refused = subprocess.run([sys.executable, "-m", "server", "demo", "--host", "0.0.0.0"],
                             cwd=ROOT, env={**os.environ, "SHARELOG_HOME": str(home)},
                             capture_output=True, text=True, timeout=120, check=False)
    assert refused.returncode == 2 and "only on this computer" in refused.stderr
    assert not (home / "demo-store").exists()


CLIENT = ("import os, httpx; url = os.environ.get('SHARELOG_SERVER', ''); "
          "print('client sees', url or 'no store'); "
          "print('store answers' if url and httpx.get(url + '/v1/info').status_code == 200 "
          "else 'store silent')")


def test_demo_beside_runs_the_client_with_the_store_then_stops_it(home: Path) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if k != "SHARELOG_SERVER"}
    ran = subprocess.run([sys.executable, "-m", "server", "demo-beside", "--port", str(port),
                          "--", sys.executable, "-c", CLIENT],
                         cwd=ROOT, env={**env, "SHARELOG_HOME": str(home)},
                         capture_output=True, text=True, timeout=120, check=False)
    assert ran.returncode == 0, ran.stderr
    out = ran.stdout
    assert f"client sees {url}" in out and "store answers" in out
    assert out.index("user name sam") < out.index("client sees")  # details first
    assert "Demo store stopped." in out and not demo.answering(url)
    # With SHARELOG_SERVER set, no demo store starts and the client keeps its address.
    elsewhere = "https://store.example.org"
    ran = subprocess.run([sys.executable, "-m", "server", "demo-beside", "--port", str(port),
                          "--", sys.executable, "-c",
                          "import os; print('client sees', os.environ['SHARELOG_SERVER'])"],
                         cwd=ROOT, env={**env, "SHARELOG_HOME": str(home),
                                        "SHARELOG_SERVER": elsewhere},
                         capture_output=True, text=True, timeout=120, check=False)
    assert ran.returncode == 0 and f"client sees {elsewhere}" in ran.stdout
    assert "no demo store started" in ran.stdout and "user name" not in ran.stdout


def test_a_launcher_killed_outright_leaves_no_demo_store_behind(home: Path) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    waits_for_its_parent = ("import os, time\nparent = os.getppid()\n"
                            "while os.getppid() == parent: time.sleep(0.1)")
    env = {k: v for k, v in os.environ.items() if k != "SHARELOG_SERVER"}
    launcher = subprocess.Popen(
        [sys.executable, "-m", "server", "demo-beside", "--port", str(port), "--",
         sys.executable, "-c", waits_for_its_parent],
        cwd=ROOT, env={**env, "SHARELOG_HOME": str(home)}, stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while not demo.answering(url):
        assert launcher.poll() is None and time.monotonic() < deadline
        time.sleep(0.1)
    launcher.kill()  # SIGKILL: no chance to stop the store itself
    launcher.wait(10)
    deadline = time.monotonic() + 15
    while demo.answering(url):
        assert time.monotonic() < deadline, "the demo store outlived its launcher"
        time.sleep(0.1)
