"""A store as a child process (``python -m server``) on a free loopback port: for tests,
benchmarks and, later, the demo store ``make run`` starts beside the client."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

from server.pgcluster import free_port

ROOT = Path(__file__).resolve().parents[1]


class StoreProcess:
    """``python -m server`` as a child process on a free loopback port."""

    def __init__(self, url: str, home: Path, *, workers: int = 1) -> None:
        self.url = url
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "SHARELOG_HOME": str(home)}
        if url:
            env["SHARELOG_DATABASE_URL"] = url
        else:  # the default: a SQLite file under SHARELOG_HOME
            env.pop("SHARELOG_DATABASE_URL", None)
        self.log = open(home / f"server-{self.port}.log", "w")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "server", "--host", "127.0.0.1", "--port", str(self.port),
             "--workers", str(workers)],
            cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT)
        self._wait()

    def _wait(self) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the store exited with {self.proc.returncode}: "
                                   f"{Path(self.log.name).read_text()[-2000:]}")
            try:
                if httpx.get(f"{self.base_url}/v1/info", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.05)
        raise RuntimeError("the store did not start within 60 s")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)
        self.log.close()
