"""Settings, each declared once with its type, default and description.

They hold preferences only, never record content, and live in a JSON file
beside the vault (written atomically, owner-only).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from app.files import atomic_write
from app.paths import settings_path


@dataclass(frozen=True)
class Setting:
    name: str
    type: type
    default: Any
    description: str
    minimum: int | None = None
    maximum: int | None = None

    def in_range(self, value: int) -> bool:
        low = self.minimum if self.minimum is not None else value
        high = self.maximum if self.maximum is not None else value
        return low <= value <= high


SETTINGS: tuple[Setting, ...] = (
    Setting("idle_lock_minutes", int, 5, "Lock the vault after this many idle minutes.", 1, 240),
    Setting("followup_working_days", int, 5,
            "Working days after a share before its follow-up is due.", 1, 60),
    Setting("theme", str, "system", "Colour scheme: system, light or dark."),
    Setting("extra_holidays", list, [], "Extra non-working days (ISO dates) for due dates."),
    Setting("failed_unlocks", int, 0, "Wrong passphrases since the last unlock (for the delay).",
            0, 1_000_000),
    Setting("last_failed_unlock", float, 0.0,
            "When the last wrong passphrase was given (seconds since 1970; for the delay)."),
)
_BY_NAME = {s.name: s for s in SETTINGS}


@dataclass
class Settings:
    idle_lock_minutes: int = 5
    followup_working_days: int = 5
    theme: str = "system"
    extra_holidays: list[str] | None = None
    failed_unlocks: int = 0
    last_failed_unlock: float = 0.0

    @classmethod
    def load(cls, path: Path | None = None) -> Settings:
        path = path or settings_path()
        raw: dict[str, Any] = {}
        if path.exists():
            try:
                loaded = json.loads(path.read_text("utf-8"))
                raw = loaded if isinstance(loaded, dict) else {}
            except (OSError, ValueError):
                raw = {}
        values: dict[str, Any] = {}
        for spec in SETTINGS:
            value = raw.get(spec.name, spec.default)
            values[spec.name] = _coerce(spec, value)
        return cls(**values)

    def save(self, path: Path | None = None) -> None:
        path = path or settings_path()
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        atomic_write(path, json.dumps(data, indent=2, sort_keys=True).encode("utf-8"))


def _coerce(spec: Setting, value: Any) -> Any:
    if spec.type is list:
        return list(value) if isinstance(value, list) else list(spec.default)
    if spec.type is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if not isinstance(value, spec.type) or isinstance(value, bool) != (spec.type is bool):
        return spec.default
    if isinstance(value, int) and not spec.in_range(value):
        return spec.default
    if spec.name == "theme" and value not in ("system", "light", "dark"):
        return spec.default
    return value


def describe(name: str) -> Setting:
    return _BY_NAME[name]
