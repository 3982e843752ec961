"""One Sharelog per vault: a second launch brings the running one forward, opens nothing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.vault_support import ROOT, seed


def _log(home: Path) -> str:
    path = home / "logs" / "sharelog.log"
    return path.read_text("utf-8") if path.exists() else ""


def _wait_for(predicate, timeout: float = 60.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)  # polling another process's log: no Qt event loop to wait on here


def test_a_second_launch_brings_the_running_window_forward(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    seed(home, 2)
    env = {**os.environ, "SHARELOG_HOME": str(home), "QT_QPA_PLATFORM": "offscreen",
           "PYTHONPATH": str(ROOT)}
    first = subprocess.Popen([sys.executable, "main.py"], cwd=ROOT, env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        _wait_for(lambda: "starting Sharelog" in _log(home) or first.poll() is not None)
        assert first.poll() is None, first.stderr.read() if first.stderr else ""
        started = time.monotonic()
        second = subprocess.run([sys.executable, "main.py"], cwd=ROOT, env=env,
                                capture_output=True, text=True, timeout=60, check=False)
        assert second.returncode == 0, second.stderr[-2000:]
        assert time.monotonic() - started < 30
        _wait_for(lambda: "the running window comes forward" in _log(home))
        assert "already running for this vault" in _log(home)
        assert _log(home).count("starting Sharelog") == 1  # the second never started a window
        assert first.poll() is None  # the first goes on
    finally:
        first.send_signal(signal.SIGTERM)
        try:
            first.wait(timeout=30)
        except subprocess.TimeoutExpired:
            first.kill()
            first.wait(timeout=30)
