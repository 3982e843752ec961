"""Signing a vault in to the team's store, and out again. No Qt.

``sign_in`` enrols this device with the store (its id, its Ed25519 public key and the
vault's local ids, so records made before signing in stay this person's), keeps the
device token inside the vault with the store's address, and learns the team's names.
It is two steps, so the UI can run the network one off the vault's worker:
``enrol_device`` (network only; reads nothing from the vault file) and ``join`` (vault
only). ``sign_out`` forgets the token, and refuses while the store has not confirmed
every change (``UnsyncedChanges``), unless a backup is written first.

Every failure is a ``SignInError`` whose text is Sharelog's own, safe to show.
"""

from __future__ import annotations

import logging
import math
import os
import socket
import sys
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import platformdirs

from app.service import Sharelog
from app.sync import transport
from app.sync.local import REFUSED_BY_STORE, AlreadyBound
from app.sync.transport import Enrolment, Me, StoreClient
from app.unit import ChangeSet, Identity
from db import store
from db.vault import Connection

log = logging.getLogger("sharelog.sync")

PRESET_FILENAME = "sharelog.toml"  # [store] address = "https://…"
STORE_OFFER_KEY = "store_offer"  # vault meta: the first-run offer was answered
DECLINED = "declined"


# -- errors ---------------------------------------------------------------------------------
class SignInError(Exception):
    """Signing in or out did not happen; ``str()`` is safe to show and says what to do."""


class BadStoreAddress(SignInError):
    pass


class WrongPassword(SignInError):
    def __init__(self) -> None:
        super().__init__("That user name and password do not match. Check them and try "
                         "again.")


class TooManyAttempts(SignInError):
    def __init__(self, retry_after: int) -> None:
        self.retry_after = retry_after
        minutes = max(1, math.ceil(retry_after / 60))
        unit = "minute" if minutes == 1 else "minutes"
        super().__init__(f"Too many failed sign-in attempts for this user name. Try again in "
                         f"{minutes} {unit}.")


class StoreUnreachable(SignInError):
    def __init__(self) -> None:
        super().__init__("The team's store cannot be reached. Check the address and this "
                         "computer's connection, then try again.")


class AlreadyJoined(SignInError):
    def __init__(self) -> None:
        super().__init__("This vault already belongs to another account: a vault joins one "
                         "account, once. Sign in with the account it joined, or ask your "
                         "administrator.")


class DeviceRevoked(SignInError):
    def __init__(self) -> None:
        super().__init__("This computer's access to the team's store was revoked: ask your "
                         "administrator.")


class NotAllowed(SignInError):
    pass


class IncompatibleStore(SignInError):
    pass


class StoreFailed(SignInError):
    def __init__(self) -> None:
        super().__init__("The team's store could not sign you in just now. Try again later; "
                         "if it goes on, tell your administrator.")


class UnsyncedChanges(SignInError):
    """Signing out would leave changes the store has not confirmed."""

    def __init__(self, count: int) -> None:
        self.count = count
        what = "1 change has" if count == 1 else f"{count:,} changes have"
        super().__init__(f"{what} not reached the team's store yet. Sign out once they are "
                         "synced, or back up the vault first.")


def _translate(exc: transport.SyncError) -> SignInError:
    """The transport's error as Sharelog says it at sign-in."""
    if isinstance(exc, transport.InsecureStoreAddress):
        return BadStoreAddress(str(exc))
    if isinstance(exc, transport.BadCredentials):
        return WrongPassword()
    if isinstance(exc, transport.RateLimited):
        return TooManyAttempts(exc.retry_after)
    if isinstance(exc, transport.NetworkUnreachable):
        return StoreUnreachable()
    if isinstance(exc, transport.DeviceRevoked):
        return DeviceRevoked()
    if isinstance(exc, transport.ClientTooOld):
        return IncompatibleStore("This Sharelog is too old for the team's store: update "
                                 "Sharelog.")
    if isinstance(exc, transport.StoreTooOld):
        return IncompatibleStore("The team's store is older than this Sharelog: ask your "
                                 "administrator to update it.")
    if isinstance(exc, transport.EnrolmentRefused | transport.Forbidden):
        # The transport keeps the store's words, not its code: vault_already_bound and
        # device_taken both name "another account" (or the vault's "local id").
        text = str(exc)
        if "another account" in text or "local id" in text:
            return AlreadyJoined()
        return NotAllowed("The team's store does not let this account sign in on a device"
                          " (administrators use the admin tool): ask your administrator.")
    return StoreFailed()


# -- signing in ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Joined:
    """What the store said at sign-in, before the vault keeps it (``join``)."""

    store_url: str
    enrolment: Enrolment
    me: Me


def device_label() -> str:
    """How the administrator's device list names this computer (never a person's record)."""
    return (socket.gethostname() or "Sharelog device")[:200]


def enrol_device(identity: Identity, public_key: bytes, store_url: str, username: str,
                 password: str, *, client_factory: Callable[[str], StoreClient] = StoreClient,
                 ) -> Joined:
    """The network half: ask the store, enrol, read the team. Touches no vault file."""
    if not username.strip() or not password:
        raise WrongPassword()
    try:
        url = transport.check_address(store_url)
        with client_factory(url) as client:
            client.info()
            enrolment = client.enrol(
                username=username.strip(), password=password, device_id=identity.device_id,
                public_key=public_key, device_label=device_label(),
                local_user_id=identity.local_user_id, local_team_id=identity.local_team_id)
            me = client.me()
    except transport.SyncError as exc:
        log.info("sign-in refused: %s", type(exc).__name__)
        raise _translate(exc) from exc
    return Joined(url, enrolment, me)


def join(service: Sharelog, joined: Joined) -> Me:
    """The vault half: keep the token and the address, and the team's names."""
    e = joined.enrolment
    try:
        service.sync.record_binding(account_user_id=e.user_id, account_team_id=e.team_id,
                                    display_name=e.display_name, store_url=joined.store_url,
                                    device_token=e.device_token, role=joined.me.role)
    except AlreadyBound as exc:
        raise AlreadyJoined() from exc
    members = joined.me.members
    service.sync.learn_people({uid: name for uid, (name, _role) in members.items()},
                              joined.me.aliases,
                              roles={uid: role for uid, (_name, role) in members.items()})
    log.info("signed in to the team's store")
    return joined.me


def sign_in(service: Sharelog, store_url: str, username: str, password: str) -> Me:
    """Enrol this device and keep the account in the vault (both halves, in order)."""
    joined = enrol_device(service.identity, service.device_public_key, store_url, username,
                          password)
    return join(service, joined)


def signed_in(service: Sharelog) -> bool:
    """Bound to an account and holding a device token: the engine has what it needs."""
    binding = service.sync.binding()
    return binding is not None and bool(binding.device_token) and bool(binding.store_url)


def store_address(service: Sharelog) -> str | None:
    binding = service.sync.binding()
    return binding.store_url if binding is not None else None


# -- signing out -----------------------------------------------------------------------------
def unsynced(service: Sharelog) -> int:
    """This device's changes the store has not confirmed: those waiting to be pushed and
    those it refused (kept here in quarantine), each counted once."""
    def count(conn: Connection) -> int:
        refused_in_outbox = len(store.outbox_refused(conn))
        return (store.outbox_count(conn) + store.quarantine_count(conn, (REFUSED_BY_STORE,))
                - refused_in_outbox)
    return service.unit.read(count)


def sign_out(service: Sharelog, *, backup_to: Path | None = None) -> ChangeSet:
    """Forget the device token: this vault stops syncing and keeps every record. With
    changes the store has not confirmed, refuses (``UnsyncedChanges``) unless
    ``backup_to`` names where an encrypted backup is written first. The vault stays bound
    to its account (signing in again takes the same account)."""
    waiting = unsynced(service)
    if waiting and backup_to is None:
        raise UnsyncedChanges(waiting)
    if waiting and backup_to is not None:
        service.backup_to(backup_to)
    with service.unit.write() as w:
        store.sync_state_set(w.conn, device_token=None)
        w.note(ChangeSet(sync=True))
    log.info("signed out of the team's store")
    return w.changes


# -- the first-run offer ---------------------------------------------------------------------
def offer_store(service: Sharelog) -> bool:
    """Whether to offer signing in: not bound, and not answered "without a store" yet."""
    if service.sync.binding() is not None:
        return False
    return service.unit.read(lambda c: store.meta_get(c, STORE_OFFER_KEY)) != DECLINED


def use_without_store(service: Sharelog) -> None:
    """"Use without a store for now": not offered again (Sync > Sign in… stays)."""
    with service.unit.write() as w:
        store.meta_set(w.conn, STORE_OFFER_KEY, DECLINED)


# -- the administrator's preset --------------------------------------------------------------
def preset_places() -> list[Path]:
    """Where an administrator's ``sharelog.toml`` may be: beside the executable (an
    installed build), then the system's config directory."""
    return [Path(sys.executable).parent / PRESET_FILENAME,
            Path(platformdirs.site_config_dir("Sharelog", "Sharelog")) / PRESET_FILENAME]


def preset_store_url(environ: Mapping[str, str] | None = None,
                     places: Sequence[Path] | None = None) -> str | None:
    """``SHARELOG_SERVER``, else ``[store] address`` from the first preset file found."""
    env = os.environ if environ is None else environ
    if env.get("SHARELOG_SERVER", "").strip():
        return env["SHARELOG_SERVER"].strip()
    for path in preset_places() if places is None else places:
        try:
            data = tomllib.loads(path.read_text("utf-8"))
        except FileNotFoundError:
            continue
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            log.warning("the preset file could not be read: %s", type(exc).__name__)
            continue
        section = data.get("store")
        address = section.get("address") if isinstance(section, dict) else None
        if isinstance(address, str) and address.strip():
            return address.strip()
    return None


__all__ = [
    "AlreadyJoined", "BadStoreAddress", "DeviceRevoked", "IncompatibleStore", "Joined",
    "NotAllowed", "SignInError", "StoreFailed", "StoreUnreachable", "TooManyAttempts",
    "UnsyncedChanges", "WrongPassword", "enrol_device", "join", "offer_store",
    "preset_store_url", "sign_in", "sign_out", "signed_in", "store_address", "unsynced",
    "use_without_store",
]
