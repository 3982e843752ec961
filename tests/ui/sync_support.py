"""A real store process the sync window tests can stop and start again on the same port
(the network going away and coming back), with a seeded organisation (tests/server)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from app import session
from app.service import Sharelog
from app.sync import account
from server import demo
from server.database import make_engine, migrate
from server.pgcluster import free_port
from server.process import ROOT
from tests.conftest import PASSPHRASE
from tests.server.conftest import PASSWORD, Org, seed


class Store:
    """``python -m server`` on one loopback port; ``stop()`` and ``start()`` at will."""

    def __init__(self, home: Path) -> None:
        home.mkdir(parents=True, exist_ok=True)
        self.home = home
        self.url = f"sqlite:///{home / 'store.sqlite3'}"
        engine = make_engine(self.url)
        migrate(engine)
        engine.dispose()
        self.org: Org = seed(self.url)
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self) -> None:
        """Starts the process; ``answering()`` says when it serves (qtbot.waitUntil)."""
        self.starts += 1
        env = {**os.environ, "SHARELOG_HOME": str(self.home), "SHARELOG_DATABASE_URL": self.url}
        log = open(self.home / f"server-{self.starts}.log", "wb")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "server", "--host", "127.0.0.1", "--port", str(self.port)],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        log.close()

    def answering(self) -> bool:
        return demo.answering(self.base_url)

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
            self.proc = None


def signed_in_vault(home: Path, store: Store, who: str = "pat") -> None:
    """A vault in ``home`` signed in as ``who``, locked (the window unlocks it)."""
    service: Sharelog = session.create_vault(who.title(), PASSPHRASE, base=home)
    try:
        account.sign_in(service, store.base_url, store.org.login(who), PASSWORD)
    finally:
        service.lock()
