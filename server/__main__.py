"""``python -m server``: run the store, migrate it, or administer it.

    python -m server [--host 127.0.0.1] [--port 8443] [--workers 1]
    python -m server migrate
    python -m server admin create-organisation NAME
    python -m server admin create-team --organisation ORG NAME
    python -m server admin create-user --team TEAM --username U --display-name N --role R
    python -m server admin reset-password USERNAME
    python -m server admin devices [--team TEAM]
    python -m server admin revoke-device DEVICE_ID
    python -m server admin audit [--team TEAM] [--limit N]
    python -m server demo [--port 8471]          the demo store (server/demo.py)
    python -m server demo-beside -- COMMAND …    COMMAND beside the demo store (make run)

Data: SHARELOG_DATABASE_URL (PostgreSQL), else a SQLite file under SHARELOG_HOME or the
platform's data directory. Passwords are read from SHARELOG_ADMIN_PASSWORD when set
(scripts), else asked for without echo.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from collections.abc import Callable

from server import accounts, demo
from server.database import make_engine, migrate, writing


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m server", description="Sharelog's store")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8443)
    parser.add_argument("--workers", type=int, default=1)
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("serve", help="run the store (the default)")
    sub.add_parser("migrate", help="bring the database to the newest schema and stop")
    admin = sub.add_parser("admin", help="accounts, devices and the audit log")
    _admin_commands(admin.add_subparsers(dest="action", required=True))
    demo_parser = sub.add_parser("demo", help="a demo store on loopback with a demo team")
    demo_parser.add_argument("--host", default="127.0.0.1")
    demo_parser.add_argument("--port", type=int, default=demo.DEFAULT_PORT)
    demo_parser.add_argument("--exit-with-parent", action="store_true",
                             help="stop when the process that started it is gone")
    beside = sub.add_parser("demo-beside", help="run a command beside the demo store")
    beside.add_argument("--port", type=int, default=demo.DEFAULT_PORT)
    beside.add_argument("run", nargs=argparse.REMAINDER, help="-- COMMAND ARGS…")
    args = parser.parse_args(argv)
    if args.command in ("demo", "demo-beside"):
        try:
            if args.command == "demo":
                demo.serve(args.host, args.port, exit_with_parent=args.exit_with_parent)
                return 0
            command = args.run[1:] if args.run[:1] == ["--"] else args.run
            return demo.run_beside(command, args.port)
        except demo.DemoError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
    engine = make_engine(pool_size=2)
    migrate(engine)
    if args.command == "migrate":
        print("The store's schema is up to date.")
        return 0
    if args.command == "admin":
        try:
            return int(args.run(args, engine) or 0)
        except accounts.AdminError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
    engine.dispose()
    import uvicorn

    # "auto": uvloop and httptools (dependencies), the event loop and HTTP parsing in C
    # rather than asyncio's selector loop and h11 in Python; with 50 devices at once the
    # loop thread took a third of the store's CPU. Keep-alive outlasts a client's pause
    # between a push and its pull (uvicorn's 5 s default closed connections a client was
    # about to reuse).
    uvicorn.run("server.api:application", factory=True, host=args.host, port=args.port,
                workers=args.workers, log_level="warning", access_log=False,
                timeout_keep_alive=75, loop="auto", http="auto")
    return 0


def _password(prompt: str) -> str:
    return os.environ.get("SHARELOG_ADMIN_PASSWORD") or getpass.getpass(prompt)


def _admin_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    def command(name: str, run: Callable[..., object], *args: tuple[str, dict[str, object]],
                ) -> None:
        p = sub.add_parser(name)
        for flag, options in args:
            p.add_argument(flag, **options)  # type: ignore[arg-type]
        p.set_defaults(run=run)

    def create_org(a: argparse.Namespace, engine: object) -> None:
        with writing(engine) as conn:  # type: ignore[arg-type]
            print(accounts.create_organisation(conn, a.name))

    def create_team(a: argparse.Namespace, engine: object) -> None:
        with writing(engine) as conn:  # type: ignore[arg-type]
            print(accounts.create_team(conn, a.organisation, a.name))

    def create_user(a: argparse.Namespace, engine: object) -> None:
        password = _password("Password for the new user: ")
        with writing(engine) as conn:  # type: ignore[arg-type]
            print(accounts.create_user(conn, a.team, a.username, a.display_name, a.role,
                                       password))

    def reset(a: argparse.Namespace, engine: object) -> None:
        password = _password("New password: ")
        with writing(engine) as conn:  # type: ignore[arg-type]
            accounts.reset_password(conn, a.username, password)
        print("Password reset.")

    def devices(a: argparse.Namespace, engine: object) -> None:
        with writing(engine) as conn:  # type: ignore[arg-type]
            rows = accounts.list_devices(conn, a.team)
            accounts.audit(conn, accounts.s.NO_TEAM, "admin.list_devices", count=len(rows))
        for d in rows:
            state = f"revoked {d.revoked_at}" if d.revoked_at else "active"
            print(f"{d.device_id}  {d.username}  {d.label or '-'}  enrolled {d.enrolled_at}  "
                  f"last seen {d.last_seen_at or '-'}  events {d.tip_seq}  {state}")

    def revoke(a: argparse.Namespace, engine: object) -> None:
        with writing(engine) as conn:  # type: ignore[arg-type]
            accounts.revoke_device(conn, a.device_id)
        print("Device revoked: it can no longer sync.")

    def audit(a: argparse.Namespace, engine: object) -> None:
        with writing(engine) as conn:  # type: ignore[arg-type]
            rows = accounts.read_audit(conn, a.team, a.limit)
            accounts.audit(conn, accounts.s.NO_TEAM, "admin.read_audit", count=len(rows))
        for r in rows:
            print(f"{r.at}  {r.action}  user {r.user_id or '-'}  device {r.device_id or '-'}  "
                  f"events {r.event_count}  {r.outcome}")

    command("create-organisation", create_org, ("name", {}))
    command("create-team", create_team, ("--organisation", {"required": True}), ("name", {}))
    command("create-user", create_user, ("--team", {"required": True}),
            ("--username", {"required": True}), ("--display-name", {"required": True}),
            ("--role", {"required": True, "choices": [r.value for r in accounts.Role]}))
    command("reset-password", reset, ("username", {}))
    command("devices", devices, ("--team", {"default": None}))
    command("revoke-device", revoke, ("device_id", {}))
    command("audit", audit, ("--team", {"default": None}), ("--limit", {"type": int,
                                                                        "default": 100}))


if __name__ == "__main__":
    sys.exit(main())
