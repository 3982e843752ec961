"""Opening and creating a user's vault, with a growing delay after wrong passphrases."""

from __future__ import annotations

import datetime as dt
import logging
import math
import time
from collections.abc import Callable
from pathlib import Path

from app.paths import backup_dir, data_dir, ensure_data_dir, settings_path, vault_path
from app.service import Sharelog
from app.settings import Settings
from db.vault import Vault, VaultExists

# What the UI needs from the vault layer, offered here: ui/ never imports db/ itself.
from db.vault import VaultError as VaultError  # noqa: PLC0414
from db.vault import VaultLocked as VaultLocked  # noqa: PLC0414
from db.vault import WeakPassphrase as WeakPassphrase  # noqa: PLC0414
from db.vault import WrongPassphrase as WrongPassphrase  # noqa: PLC0414
from db.vault import check_passphrase_strength as check_passphrase_strength  # noqa: PLC0414
from db.vault import passphrase_strength_score as passphrase_strength_score  # noqa: PLC0414

log = logging.getLogger("sharelog.session")

# Wrong passphrases: no delay for the first two, then 1, 2, 4, 8… seconds, at most 30.
MAX_DELAY_SECONDS = 30.0


def unlock_delay(failures: int) -> float:
    if failures < 3:
        return 0.0
    return float(min(MAX_DELAY_SECONDS, 2 ** (failures - 3)))


class TooSoon(Exception):
    """Another attempt came before the delay after wrong passphrases had passed.

    The passphrase was not tried, so this attempt does not count as a failure.
    """

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        whole = max(1, math.ceil(seconds))
        super().__init__(
            f"Too many wrong passphrases. You can try again in {whole} s.")


def seconds_to_wait(settings: Settings, now: float) -> float:
    """How long until the next attempt is allowed (0 when it is allowed now).

    A clock that moved backwards since the last failure restarts the full delay.
    """
    delay = unlock_delay(settings.failed_unlocks)
    if not delay:
        return 0.0
    elapsed = now - settings.last_failed_unlock
    if elapsed < 0:
        return delay
    return max(0.0, delay - elapsed)


def wait_before_unlock(base: Path | None = None, *,
                       clock: Callable[[], float] = time.time) -> float:
    return seconds_to_wait(Settings.load(settings_path(base or data_dir())), clock())


def vault_exists(base: Path | None = None) -> bool:
    path = vault_path(base or data_dir())
    return path.exists() and path.stat().st_size > 0


def _service(vault: Vault, settings: Settings) -> Sharelog:
    holidays = []
    for value in settings.extra_holidays or []:
        try:
            holidays.append(dt.date.fromisoformat(value))
        except (TypeError, ValueError):
            continue
    return Sharelog(vault, followup_working_days=settings.followup_working_days,
                    extra_holidays=holidays)


def create_vault(display_name: str, passphrase: str, *, base: Path | None = None,
                 team_id: str | None = None) -> Sharelog:
    base = base or ensure_data_dir()
    base.mkdir(parents=True, exist_ok=True)
    path = vault_path(base)
    if vault_exists(base):
        raise VaultExists()
    vault = Vault.create(path, passphrase)
    try:
        Sharelog.initialise(vault, display_name, team_id=team_id)
    except BaseException:
        vault.lock()
        path.unlink(missing_ok=True)
        raise
    log.info("vault created")
    return _service(vault, Settings.load(settings_path(base)))


def unlock(passphrase: str, *, base: Path | None = None,
           clock: Callable[[], float] = time.time) -> Sharelog:
    """Open the vault. After wrong passphrases each new attempt must wait a growing delay.

    The count and the time of the last failure are kept in settings, so neither quitting
    nor another front end resets the delay; an early attempt raises ``TooSoon`` without
    trying the passphrase.
    """
    base = base or data_dir()
    settings = Settings.load(settings_path(base))
    wait = seconds_to_wait(settings, clock())
    if wait > 0:
        raise TooSoon(wait)
    try:
        vault = Vault.open(vault_path(base), passphrase, backup_dir=backup_dir(base))
    except WrongPassphrase:
        settings.failed_unlocks += 1
        settings.last_failed_unlock = clock()
        settings.save(settings_path(base))
        log.info("unlock refused (%d in a row)", settings.failed_unlocks)
        raise
    if settings.failed_unlocks:
        settings.failed_unlocks = 0
        settings.last_failed_unlock = 0.0
        settings.save(settings_path(base))
    log.info("vault unlocked")
    try:
        service = _service(vault, settings)
        service.check_chain_tip()  # changes made here that the vault lacks (app.tip)
    except BaseException:
        vault.lock()
        raise
    return service


def failed_unlocks(base: Path | None = None) -> int:
    return Settings.load(settings_path(base or data_dir())).failed_unlocks
