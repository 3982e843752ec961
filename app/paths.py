"""Where Sharelog keeps its files. ``SHARELOG_HOME`` relocates everything."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

from app.files import private_dir

VAULT_FILENAME = "vault.sharelog"


def data_dir() -> Path:
    override = os.environ.get("SHARELOG_HOME")
    base = Path(override) if override else Path(platformdirs.user_data_dir("Sharelog", "Sharelog"))
    return base


def ensure_data_dir() -> Path:
    return private_dir(data_dir())


def vault_path(base: Path | None = None) -> Path:
    return (base or data_dir()) / VAULT_FILENAME


def settings_path(base: Path | None = None) -> Path:
    return (base or data_dir()) / "settings.json"


def log_dir(base: Path | None = None) -> Path:
    return (base or data_dir()) / "logs"


def backup_dir(base: Path | None = None) -> Path:
    return (base or data_dir()) / "backups"


def qt_settings_dir(base: Path | None = None) -> Path:
    """Where Qt keeps what it remembers for itself (the file dialog's folders)."""
    return (base or data_dir()) / "qt"
