"""The demo store: the whole loop on one computer, for a newcomer's ``make run``.

``python -m server demo`` runs a store on loopback with its own SQLite file in the user
data directory (``<SHARELOG_HOME or the platform's>/demo-store/``), seeded once with a
demo organisation, a team of two practitioners and a manager, whose sign-in details it
prints. A second start finds them and keeps them. The accounts and passwords are public
(they are in the README): the demo store listens on loopback only, and never holds real
records.

``python -m server demo-beside -- COMMAND …`` is what ``make run`` calls: it starts the demo
store in the background (or uses one already answering at its address), waits until it
answers, prints the sign-in details, runs COMMAND (the desktop client) with
``SHARELOG_SERVER`` naming the demo store, and stops the store when COMMAND exits. With
``SHARELOG_SERVER`` already set, no demo store starts: COMMAND runs as it is.
"""

from __future__ import annotations

import ipaddress
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
from sqlalchemy import Engine, select

from app.files import private_dir
from server import accounts
from server import schema as s
from server.database import SQLITE_FILENAME, data_root, make_engine, migrate, writing

DEMO_DIRNAME = "demo-store"
DEFAULT_PORT = 8471
ORGANISATION = "Demo Borough Council"
TEAM = "Demo Family Support Team"
START_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class DemoUser:
    username: str
    password: str
    display_name: str
    role: str


# Fictional people; public passwords, for the demo store only.
DEMO_USERS = (
    DemoUser("sam", "sam-demo-password", "Sam Carter", "practitioner"),
    DemoUser("alex", "alex-demo-password", "Alex Morgan", "practitioner"),
    DemoUser("morgan", "morgan-demo-password", "Morgan Reyes", "manager"),
)


class DemoError(Exception):
    """The demo store cannot do what was asked; the text is safe to print."""


def demo_dir() -> Path:
    return data_root() / DEMO_DIRNAME


def demo_url(port: int = DEFAULT_PORT) -> str:
    return f"http://127.0.0.1:{port}"


def demo_engine() -> Engine:
    """The demo's own SQLite file, whatever ``SHARELOG_DATABASE_URL`` says: the demo never
    touches a real store's database."""
    folder = private_dir(demo_dir())
    return make_engine(f"sqlite:///{folder / SQLITE_FILENAME}", pool_size=2)


def seed(engine: Engine) -> bool:
    """The demo organisation, team and users, once; True when they were made now."""
    with writing(engine) as conn:
        if conn.execute(select(s.organisations.c.org_id).where(
                s.organisations.c.name == ORGANISATION)).first() is not None:
            return False
        accounts.create_organisation(conn, ORGANISATION)
        team_id = accounts.create_team(conn, ORGANISATION, TEAM)
        for user in DEMO_USERS:
            accounts.create_user(conn, team_id, user.username, user.display_name, user.role,
                                 user.password)
    return True


def sign_in_details(url: str) -> str:
    name = max(len(u.username) for u in DEMO_USERS)
    word = max(len(u.password) for u in DEMO_USERS)
    lines = [
        f"Sharelog demo store at {url}",
        "DEMO ONLY: these accounts and passwords are public. Record no real person here.",
        f"{ORGANISATION}, {TEAM}:",
        *(f"  {u.role:<12}  user name {u.username:<{name}}  password {u.password:<{word}}"
          f"  ({u.display_name})" for u in DEMO_USERS),
    ]
    return "\n".join(lines)


def _check_loopback(host: str) -> None:
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise DemoError("The demo store's passwords are public: it listens only on this "
                        "computer (127.0.0.1).")


def serve(host: str = "127.0.0.1", port: int = DEFAULT_PORT, *,
          exit_with_parent: bool = False) -> None:
    """Migrate, seed once, print the sign-in details, serve until stopped."""
    _check_loopback(host)
    engine = demo_engine()
    migrate(engine)
    made = seed(engine)
    print(sign_in_details(f"http://{host}:{port}"), flush=True)
    print("Demo team created." if made else "Demo team found: kept as it was.", flush=True)
    if exit_with_parent:
        _exit_with_parent()
    import uvicorn

    from server.api import create_app

    uvicorn.run(create_app(engine), host=host, port=port, log_level="warning",
                access_log=False, timeout_keep_alive=75)


def _exit_with_parent() -> None:
    """Stop (gracefully, as on Ctrl+C) when the process that started us is gone, so a
    launcher killed outright leaves no store behind."""
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, daemon=True, name="demo-parent-watch").start()


def answering(url: str) -> bool:
    try:
        response = httpx.get(f"{url}/v1/info", timeout=2)
        return response.status_code == 200 and response.json().get("service") == (
            "sharelog-store")
    except (httpx.HTTPError, ValueError):
        return False


def start_in_background(port: int = DEFAULT_PORT) -> subprocess.Popen[bytes]:
    """``python -m server demo`` as a child, its output in the demo folder's log; returns
    once it answers. Raises ``DemoError`` (with the log's last lines) when it cannot."""
    folder = private_dir(demo_dir())
    log_path = folder / "demo-store.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "server", "demo", "--port", str(port),
             "--exit-with-parent"],
            cwd=Path(__file__).resolve().parents[1], stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = log_path.read_text(errors="replace")[-1500:]
            raise DemoError(f"The demo store stopped at start (exit {proc.returncode}); "
                            f"its log, {log_path}:\n{tail}")
        if answering(demo_url(port)):
            return proc
        time.sleep(0.1)
    stop(proc)
    raise DemoError(f"The demo store did not answer within {START_TIMEOUT_S:.0f} s; its log: "
                    f"{log_path}")


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


def run_beside(command: list[str], port: int = DEFAULT_PORT) -> int:
    """Run ``command`` (the client) beside the demo store; its exit code."""
    if not command:
        raise DemoError("Name the command to run beside the demo store (after --).")
    if os.environ.get("SHARELOG_SERVER"):
        print(f"SHARELOG_SERVER is set ({os.environ['SHARELOG_SERVER']}): no demo store "
              "started.", flush=True)
        return subprocess.call(command)
    url = demo_url(port)
    proc = None
    if answering(url):
        print(f"A Sharelog store already answers at {url}: using it (it keeps running "
              "after the client).", flush=True)
    else:
        try:
            proc = start_in_background(port)
        except DemoError as exc:
            print(f"warning: {exc}\nStarting the client without the demo store.",
                  file=sys.stderr, flush=True)
            return subprocess.call(command)
    print(sign_in_details(url), flush=True)
    try:
        return subprocess.call(command, env={**os.environ, "SHARELOG_SERVER": url})
    except KeyboardInterrupt:
        return 130
    finally:
        if proc is not None:
            stop(proc)
            print("Demo store stopped.", flush=True)
