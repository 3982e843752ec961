"""A throwaway PostgreSQL cluster from the installed server binaries, for tests and
benchmarks. Never a system cluster: its own data folder, its own port, trust auth on
loopback only, gone when stopped.

PostgreSQL refuses to run as root, and tests and CI run as root: then the cluster runs
as the ``postgres`` user (Debian's package creates it), else as ``nobody``, through
``runuser``. Anything that stops a cluster starting raises ``ClusterUnavailable`` with
the reason: callers fail loudly, never skip.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path


class ClusterUnavailable(RuntimeError):
    pass


def find_bindir() -> Path:
    override = os.environ.get("SHARELOG_PG_BINDIR")
    candidates = [override] if override else sorted(
        glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2]),
        reverse=True)
    for folder in candidates:
        if folder and (Path(folder) / "initdb").exists() and (Path(folder) / "pg_ctl").exists():
            return Path(folder)
    on_path = shutil.which("initdb")
    if on_path:
        return Path(on_path).parent
    raise ClusterUnavailable(
        "PostgreSQL's server binaries (initdb, pg_ctl) are not installed: run "
        "scripts/system-deps.sh as root (it installs Debian's 'postgresql' package).")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# Tests throw the cluster away: they need no durability and run faster without it.
FAST_SETTINGS = "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
# Benchmarks measure what production pays: every commit flushed to disk before it is
# acknowledged (PostgreSQL's defaults, spelt out so nobody reads them as missing).
DURABLE_SETTINGS = "-c fsync=on -c synchronous_commit=on -c full_page_writes=on"


class Cluster:
    """``durable``: PostgreSQL's own durability (benchmarks); else the fast test settings."""

    def __init__(self, *, durable: bool = False, settings: str = "") -> None:
        self.durable = durable
        self.settings = settings
        self.bindir = find_bindir()
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="sharelog-pg-"))
        self.data = self.root / "data"
        self.user = self._run_as()
        self._started = False

    @staticmethod
    def _run_as() -> str | None:
        if os.geteuid() != 0:
            return None
        for name in ("postgres", "nobody"):
            try:
                pwd.getpwnam(name)
            except KeyError:
                continue
            return name
        raise ClusterUnavailable("Running as root with neither a 'postgres' nor a 'nobody' "
                                 "user to run PostgreSQL as.")

    def _cmd(self, *args: str) -> list[str]:
        return ["runuser", "-u", self.user, "--", *args] if self.user else list(args)

    def _exec(self, *args: str, timeout: float = 120) -> None:
        result = subprocess.run(self._cmd(*args), capture_output=True, text=True, check=False,
                                timeout=timeout, cwd=self.root)
        if result.returncode != 0:
            raise ClusterUnavailable(f"{Path(args[0]).name} failed: "
                                     f"{(result.stderr or result.stdout).strip()[-800:]}")

    def start(self) -> Cluster:
        if self.user:
            entry = pwd.getpwnam(self.user)
            os.chown(self.root, entry.pw_uid, entry.pw_gid)
        os.chmod(self.root, 0o700)
        self._exec(str(self.bindir / "initdb"), "-D", str(self.data), "-U", "postgres",
                   "--auth=trust", "--encoding=UTF8", "--locale=C", "--no-sync")
        options = (f"-c listen_addresses=127.0.0.1 -c port={self.port} "
                   f"-c unix_socket_directories={self.root} "
                   f"{DURABLE_SETTINGS if self.durable else FAST_SETTINGS} "
                   f"-c max_connections=300 -c shared_buffers=128MB {self.settings}").strip()
        self._exec(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-l",
                   str(self.root / "server.log"), "-o", options, "-w", "-t", "60", "start")
        self._started = True
        self._wait()
        return self

    def _wait(self) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return
            except OSError:
                time.sleep(0.1)
        raise ClusterUnavailable("PostgreSQL started but does not accept connections.")

    def postmaster_pid(self) -> int:
        """The parent of every backend, the WAL writer and the rest (to read their CPU)."""
        return int((self.data / "postmaster.pid").read_text().split()[0])

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def plain_url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str, template: str | None = None) -> str:
        import psycopg

        with psycopg.connect(self.plain_url(), autocommit=True) as conn:
            suffix = f" TEMPLATE {template}" if template else ""
            conn.execute(f'CREATE DATABASE "{name}"{suffix}')
        return self.url(name)

    def stop(self) -> None:
        if self._started:
            subprocess.run(self._cmd(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m",
                                     "immediate", "-w", "stop"),
                           capture_output=True, timeout=60, cwd=self.root, check=False)
            self._started = False
        shutil.rmtree(self.root, ignore_errors=True)


def process_tree(root: int) -> list[int]:
    """``root`` and every process descended from it (Linux /proc)."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(stat.parent.name)] = int(fields[1])
    found, frontier = [root], [root]
    while frontier:
        frontier = [pid for pid, ppid in parents.items() if ppid in frontier]
        found += frontier
    return found


def cpu_seconds(root: int) -> float:
    """User + system CPU that ``root`` and its descendants have used so far: those alive
    now, and (through ``root``'s children's times) those that ended."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in process_tree(root):
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
        if pid == root:
            total += int(fields[13]) + int(fields[14])
    return total / tick
