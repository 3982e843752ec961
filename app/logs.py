"""Rotating logs that carry no record content: ids, counts and timings only."""

from __future__ import annotations

import logging
import logging.handlers
import os
from pathlib import Path

from app.files import private_dir
from app.paths import log_dir


def setup_logging(base: Path | None = None, level: int = logging.INFO) -> Path:
    directory = private_dir(log_dir(base))
    path = directory / "sharelog.log"
    handler = logging.handlers.RotatingFileHandler(
        path, maxBytes=1_000_000, backupCount=3, encoding="utf-8"
    )
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    root = logging.getLogger("sharelog")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False
    try:
        os.chmod(path, 0o600)
    except OSError:
        pass
    return path
