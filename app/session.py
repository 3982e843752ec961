"""Opening and creating a user's vault, with a growing delay after wrong passphrases.

``base`` is the folder that holds one vault and its files (``app.vaults``: one folder per
person under the data folder's ``vaults/``); ``create_vault_for`` makes a new person's
folder and vault there. Each vault has its own wait after wrong passphrases.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import os
import time
from collections.abc import Callable
from pathlib import Path

from app import vaults
from app.files import private_dir
from app.paths import backup_dir, data_dir, settings_path, vault_path
from app.service import Sharelog
from app.settings import Settings
from app.tip import tip_path
from db import keycheck
from db.claim import VaultClaim
from db.passphrase import Strength as Strength  # noqa: PLC0414
from db.passphrase import judge as judge_passphrase  # noqa: F401 - for ui/
from db.vault import CREATING, OPENING, Vault, VaultExists, VaultFiles, inspect, present
from db.vault import PassphraseChangeInterrupted as PassphraseChangeInterrupted  # noqa: PLC0414
from db.vault import VaultCorrupted as VaultCorrupted  # noqa: PLC0414
from db.vault import VaultDamaged as VaultDamaged  # noqa: PLC0414

# What the UI needs from the vault layer, offered here: ui/ never imports db/ itself.
from db.vault import VaultError as VaultError  # noqa: PLC0414
from db.vault import VaultLocked as VaultLocked  # noqa: PLC0414
from db.vault import VaultMissing as VaultMissing  # noqa: PLC0414
from db.vault import WeakPassphrase as WeakPassphrase  # noqa: PLC0414
from db.vault import WrongPassphrase as WrongPassphrase  # noqa: PLC0414
from db.vault import check_passphrase_strength as check_passphrase_strength  # noqa: PLC0414
from db.vault import passphrase_strength_score as passphrase_strength_score  # noqa: PLC0414
from db.vault_errors import RESTORE as RESTORE  # noqa: PLC0414
from db.vault_errors import SET_ASIDE as SET_ASIDE  # noqa: PLC0414
from db.vault_errors import vault_errors

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
    """Whether something is where the vault goes (even a file Sharelog cannot open).

    A 0-byte file with nothing beside it is not a vault: creating one replaces it.
    """
    return present(vault_path(base or data_dir()))


def vault_problem(base: Path | None = None) -> VaultError | None:
    """What is wrong with the vault file that no passphrase can change (None: ask for one)."""
    try:
        inspect(vault_path(base or data_dir()))
    except VaultMissing:
        return None
    except VaultError as exc:
        return exc
    return None


def set_aside_vault(base: Path | None = None, *,
                    now: Callable[[], dt.datetime] = dt.datetime.now) -> str:
    """Rename a vault Sharelog cannot open out of the way, keeping every byte of it.

    The vault file (or folder), its journals, key check and chain tip move to
    ``vault.sharelog.damaged-<date>-<time>`` beside it; nothing is deleted. Only on
    the person's say-so (the vault screen asks). Returns the new file name.
    """
    base = base or data_dir()
    path = vault_path(base)
    files = VaultFiles(path)
    stamp = now().strftime("%Y-%m-%d-%H%M%S")
    aside = path.with_name(f"{path.name}.damaged-{stamp}")
    claim = VaultClaim(path).acquire()  # not while another process has it open
    try:
        with vault_errors(OPENING, base):
            moves = [(path, aside), (files.wal, Path(f"{aside}-wal")),
                     (files.journal, Path(f"{aside}-journal")),
                     (keycheck.path_for(path), keycheck.path_for(aside)),
                     (tip_path(path), tip_path(aside))]
            for source, target in moves:
                if source.exists() or source.is_symlink():
                    os.rename(source, target)
            files.shm.unlink(missing_ok=True)  # only an index of the WAL, rebuilt from it
    finally:
        claim.release()
    log.info("vault set aside")
    return aside.name


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
    """A new vault with its owner's identity, made whole beside its place and moved there.

    A full disk or a crash leaves nothing half-made; anything already at the vault's
    place is refused (``VaultExists``), never replaced.
    """
    with vault_errors(CREATING, base):
        base = private_dir(base or data_dir())
    if vault_exists(base):
        raise VaultExists()
    vault = Vault.create(
        vault_path(base), passphrase, user_inputs=[display_name],
        setup=lambda new: Sharelog.initialise(new, display_name, team_id=team_id))
    log.info("vault created")
    try:
        service = _service(vault, Settings.load(settings_path(base)))
    except BaseException:
        vault.lock()
        raise
    vaults.record_use(base, service.identity.display_name)
    return service


def create_vault_for(display_name: str, passphrase: str, *, base: Path | None = None,
                     team_id: str | None = None) -> Sharelog:
    """A vault for one more person on this computer, in a new folder of its own under the
    data folder ``base`` (``app.vaults``); nothing is left behind when it cannot be made.
    The vault's folder is ``service.vault.path.parent``."""
    with vault_errors(CREATING, base):
        folder = vaults.new_folder(base)
    try:
        return create_vault(display_name, passphrase, base=folder, team_id=team_id)
    except BaseException:
        vaults.drop_empty_folder(folder)
        raise


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
    except PassphraseChangeInterrupted:
        raise  # the right passphrase for a change that went the other way: not a guess
    except WrongPassphrase:
        # Only a wrong passphrase counts: damage, a full disk or a vault in use do not.
        settings.failed_unlocks += 1
        settings.last_failed_unlock = clock()
        _save_quietly(settings, base)
        log.info("unlock refused (%d in a row)", settings.failed_unlocks)
        raise
    if settings.failed_unlocks:
        settings.failed_unlocks = 0
        settings.last_failed_unlock = 0.0
        _save_quietly(settings, base)
    log.info("vault unlocked")
    try:
        service = _service(vault, settings)
        service.check_chain_tip()  # changes made here that the vault lacks (app.tip)
    except BaseException:
        vault.lock()
        raise
    # The list of vaults learns the name of one adopted from an earlier Sharelog here.
    vaults.record_use(base, service.identity.display_name)
    return service


def _save_quietly(settings: Settings, base: Path) -> None:
    """The wait after wrong passphrases is kept when the disk allows; a full disk must not
    turn an unlock into an error about settings."""
    try:
        settings.save(settings_path(base))
    except OSError as exc:
        log.warning("settings not saved (%s)", type(exc).__name__)


def failed_unlocks(base: Path | None = None) -> int:
    return Settings.load(settings_path(base or data_dir())).failed_unlocks
