"""Where Sharelog keeps its files. ``SHARELOG_HOME`` relocates everything."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

VAULT_FILENAME = "vault.sharelog"


def data_dir() -> Path:
    override = os.environ.get("SHARELOG_HOME")
    base = Path(override) if override else Path(platformdirs.user_data_dir("Sharelog", "Sharelog"))
    return base


def ensure_data_dir() -> Path:
    base = data_dir()
    base.mkdir(parents=True, exist_ok=True)
    try:
        os.chmod(base, 0o700)
    except OSError:
        pass
    return base


def vault_path(base: Path | None = None) -> Path:
    return (base or data_dir()) / VAULT_FILENAME


def settings_path(base: Path | None = None) -> Path:
    return (base or data_dir()) / "settings.json"


def log_dir(base: Path | None = None) -> Path:
    return (base or data_dir()) / "logs"


def backup_dir(base: Path | None = None) -> Path:
    return (base or data_dir()) / "backups"
