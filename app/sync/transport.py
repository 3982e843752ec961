"""A small typed client for the team's store (docs/sync-protocol.md). No Qt.

Every failure is one of the ``SyncError`` types below, each naming what a person (or
the sync engine) does next; their texts are safe to show and never hold record content.
"""

from __future__ import annotations

import base64
import ipaddress
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx

from app.envelope import SignedEvent, from_wire, to_wire

PROTOCOL_VERSION = 1
MIN_STORE_PROTOCOL = 1
DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=10.0)


class SyncError(Exception):
    """Base of every transport failure; ``str()`` is safe to show."""

    action = "Try again later."


class InsecureStoreAddress(SyncError):
    action = "Ask your administrator for the store's https:// address."


class NetworkUnreachable(SyncError):
    action = "Sharelog will sync when the connection comes back."


class AuthExpired(SyncError):
    action = "Sign in again."


class BadCredentials(SyncError):
    action = "Check your username and password."


class DeviceRevoked(SyncError):
    action = "This computer's access was revoked: ask your administrator."


class Forbidden(SyncError):
    action = "Ask your manager or administrator."


class ClientTooOld(SyncError):
    action = "Update Sharelog."


class StoreTooOld(SyncError):
    action = "Ask your administrator to update the team's store."


class RateLimited(SyncError):
    action = "Wait, then try again."

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after

    def __reduce__(self) -> tuple[Any, ...]:  # raised in a pull's verifying process too
        return (type(self), (str(self), self.retry_after))


class EnrolmentRefused(SyncError):
    action = "Ask your administrator."


class EventRejected(SyncError):
    """The store refused one event of a push (nothing of the batch was stored)."""

    action = "The change is kept on this device in quarantine."

    def __init__(self, message: str, *, code: str, event_id: str | None, index: int | None,
                 acknowledgeable: bool, status: int) -> None:
        super().__init__(message)
        self.code = code
        self.event_id = event_id
        self.index = index
        self.acknowledgeable = acknowledgeable
        self.status = status


class StoreError(SyncError):
    """The store failed or answered something outside the protocol (5xx, bad JSON)."""


@dataclass(frozen=True)
class StoreInfo:
    server_version: str
    protocol: int
    min_client: int
    envelope_versions: tuple[int, ...]
    max_batch_events: int
    max_request_bytes: int
    max_payload_bytes: int
    max_pull_limit: int


@dataclass(frozen=True)
class ChainTip:
    device_id: str
    user_id: str
    device_seq: int
    hash: bytes | None
    signature: bytes | None
    revoked: bool


@dataclass(frozen=True)
class TeamDevice:
    """A device of the team and the key its events verify with (``GET /v1/devices``)."""

    device_id: str
    user_id: str
    public_key: bytes
    revoked: bool
    revoked_at: str | None


@dataclass(frozen=True)
class Enrolment:
    device_token: str
    user_id: str
    display_name: str
    role: str
    team_id: str
    team_name: str
    organisation: str
    bound_local_user_id: str | None
    tip: ChainTip


@dataclass(frozen=True)
class PushOutcome:
    event_id: str
    seq: int | None
    status: str  # "stored" | "refused"
    reason: str | None


@dataclass(frozen=True)
class PushResult:
    results: list[PushOutcome]
    tip: ChainTip


@dataclass(frozen=True)
class PulledEvent:
    seq: int
    author_user_id: str
    event: SignedEvent


@dataclass(frozen=True)
class PullPage:
    events: list[PulledEvent]
    next_since: int
    has_more: bool


@dataclass(frozen=True)
class RangeDigest:
    since: int
    upto: int
    count: int
    digest: bytes
    team_last_seq: int


@dataclass(frozen=True)
class Me:
    user_id: str
    display_name: str
    role: str
    team_id: str
    device_id: str
    members: dict[str, tuple[str, str]]  # user id -> (display name, role)
    aliases: dict[str, str]


def check_address(base_url: str) -> str:
    """The store's address, refusing plain http:// anywhere but this machine."""
    parts = urlsplit(base_url.strip())
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise InsecureStoreAddress("The store's address must start with https://.")
    if parts.scheme == "http" and not _loopback(parts.hostname):
        raise InsecureStoreAddress(
            "Sharelog only talks to a store over https:// (plain http:// is allowed only "
            "on this computer).")
    return base_url.strip().rstrip("/")


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _b64(value: str | None) -> bytes | None:
    return base64.b64decode(value) if value is not None else None


def _tip(data: dict[str, Any]) -> ChainTip:
    return ChainTip(data["device_id"], data["user_id"], int(data["device_seq"]),
                    _b64(data["hash"]), _b64(data["signature"]), bool(data["revoked"]))


@dataclass(frozen=True)
class ClientSettings:
    """What another process needs to open the same client (``app.sync.ahead``)."""

    base_url: str
    token: str | None
    timeout: httpx.Timeout | float


class StoreClient:
    """One store, one device. ``token`` is the device token kept in the vault."""

    def __init__(self, base_url: str, token: str | None = None, *,
                 timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
                 transport: httpx.BaseTransport | None = None) -> None:
        self.base_url = check_address(base_url)
        self.token = token
        self._timeout = timeout
        self._portable = transport is None
        self._http = httpx.Client(base_url=self.base_url, timeout=timeout, transport=transport,
                                  headers={"Sharelog-Protocol": str(PROTOCOL_VERSION)})

    def close(self) -> None:
        self._http.close()

    def settings(self) -> ClientSettings | None:
        """This client, for another process; None when it cannot be opened there (one on
        a transport of its own)."""
        if not self._portable:
            return None
        return ClientSettings(self.base_url, self.token, self._timeout)

    def __enter__(self) -> StoreClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # -- calls ----------------------------------------------------------------------------
    def info(self) -> StoreInfo:
        """What the store speaks; raises ``StoreTooOld`` / ``ClientTooOld`` when we can't talk."""
        data = self._call("GET", "/v1/info", auth=False)
        proto = data["protocol"]
        info = StoreInfo(data["server_version"], int(proto["current"]), int(proto["min_client"]),
                         tuple(proto["envelope_versions"]), **data["limits"])
        if info.protocol < MIN_STORE_PROTOCOL:
            raise StoreTooOld("The team's store is older than this Sharelog.")
        if info.min_client > PROTOCOL_VERSION:
            raise ClientTooOld("This Sharelog is too old for the team's store.")
        return info

    def enrol(self, *, username: str, password: str, device_id: str, public_key: bytes,
              device_label: str = "", local_user_id: str | None = None,
              local_team_id: str | None = None) -> Enrolment:
        """Sign in and register this device's key. Keeps the new token on this client."""
        data = self._call("POST", "/v1/enrol", auth=False, json={
            "username": username, "password": password, "device_id": device_id,
            "public_key": base64.b64encode(public_key).decode("ascii"),
            "device_label": device_label, "local_user_id": local_user_id,
            "local_team_id": local_team_id})
        self.token = data["device_token"]
        return Enrolment(data["device_token"], data["user_id"], data["display_name"],
                         data["role"], data["team_id"], data["team_name"],
                         data["organisation"], data["bound_local_user_id"],
                         _tip(data["tip"]))

    def me(self) -> Me:
        data = self._call("GET", "/v1/me")
        return Me(data["user_id"], data["display_name"], data["role"], data["team_id"],
                  data["device_id"],
                  {m["user_id"]: (m["display_name"], m["role"]) for m in data["members"]},
                  dict(data["aliases"]))

    def push(self, events: list[SignedEvent],
             acknowledged_refusals: list[str] | tuple[str, ...] = ()) -> PushResult:
        """Push events of this device in chain order; raises ``EventRejected`` on a refusal."""
        data = self._call("POST", "/v1/push", json={
            "events": [to_wire(e) for e in events],
            "acknowledged_refusals": list(acknowledged_refusals)})
        return PushResult([PushOutcome(r["event_id"], r["seq"], r["status"], r["reason"])
                           for r in data["results"]], _tip(data["tip"]))

    def pull(self, since: int, limit: int = 500, *, scope: str | None = None) -> PullPage:
        params: dict[str, Any] = {"since": since, "limit": limit}
        if scope:
            params["scope"] = scope
        data = self._call("GET", "/v1/pull", params=params)
        return PullPage([PulledEvent(int(item["seq"]), item["author_user_id"],
                                     from_wire(item["event"])) for item in data["events"]],
                        int(data["next_since"]), bool(data["has_more"]))

    def tips(self, *, scope: str | None = None) -> list[ChainTip]:
        data = self._call("GET", "/v1/tips", params={"scope": scope} if scope else None)
        return [_tip(t) for t in data["tips"]]

    def devices(self) -> list[TeamDevice]:
        """The team's devices with their Ed25519 public keys, revoked ones too (the events
        the store accepted from them stay valid): what pulled events are verified with."""
        data = self._call("GET", "/v1/devices")
        try:
            found = [TeamDevice(d["device_id"], d["user_id"],
                                base64.b64decode(d["public_key"], validate=True),
                                bool(d["revoked"]), d["revoked_at"]) for d in data["devices"]]
        except (KeyError, TypeError, ValueError) as exc:
            raise StoreError("The team's store answered outside the protocol.") from exc
        if any(len(d.public_key) != 32 for d in found):
            raise StoreError("The team's store sent a device key that is not Ed25519.")
        return found

    def digest(self, since: int, upto: int | None = None, *,
               scope: str | None = None) -> RangeDigest:
        params: dict[str, Any] = {"since": since}
        if upto is not None:
            params["upto"] = upto
        if scope:
            params["scope"] = scope
        data = self._call("GET", "/v1/digest", params=params)
        return RangeDigest(int(data["since"]), int(data["upto"]), int(data["count"]),
                           base64.b64decode(data["digest"]), int(data["team_last_seq"]))

    # -- plumbing ---------------------------------------------------------------------------
    def _call(self, method: str, path: str, *, auth: bool = True,
              json: Any = None, params: Any = None) -> Any:
        headers = {}
        if auth:
            if not self.token:
                raise AuthExpired("Sign in to the team's store first.")
            headers["Authorization"] = f"Bearer {self.token}"
        try:
            response = self._http.request(method, path, json=json, params=params,
                                          headers=headers)
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.NetworkError) as exc:
            raise NetworkUnreachable("The team's store cannot be reached.") from exc
        except httpx.TimeoutException as exc:
            raise NetworkUnreachable("The team's store did not answer in time.") from exc
        except httpx.TransportError as exc:  # cut mid-request: safe to retry (idempotent)
            raise NetworkUnreachable("The connection to the team's store was cut.") from exc
        except httpx.HTTPError as exc:
            raise StoreError("The connection to the team's store failed.") from exc
        try:
            data = response.json()
        except ValueError as exc:
            raise StoreError(f"The team's store answered {response.status_code} "
                             "without a readable body.") from exc
        if response.status_code == 200:
            return data
        raise _error(response.status_code, data)




def _error(status: int, data: Any) -> SyncError:
    error = data.get("error") if isinstance(data, dict) else None
    if not isinstance(error, dict):
        return StoreError(f"The team's store failed ({status}).")
    code, message = str(error.get("code", "")), str(error.get("message", ""))
    if status >= 500:
        return StoreError(f"The team's store failed ({status}).")
    if code == "device_revoked":
        return DeviceRevoked(message)
    if status == 401:
        return BadCredentials(message) if code == "bad_credentials" else AuthExpired(message)
    if status == 429:
        return RateLimited(message, int(error.get("retry_after") or 60))
    if status == 426 or code == "client_too_old":
        return ClientTooOld(message)
    if code in ("store_too_old", "unknown_entity"):
        return StoreTooOld(message)
    if code in ("vault_already_bound", "device_taken", "device_key_mismatch",
                "admin_cannot_enrol"):
        return EnrolmentRefused(message)
    if error.get("event_id") is not None or code in ("batch_too_large", "request_too_large"):
        return EventRejected(message, code=code, event_id=error.get("event_id"),
                             index=error.get("index"),
                             acknowledgeable=bool(error.get("acknowledgeable")), status=status)
    if status == 403:
        return Forbidden(message)
    return StoreError(message or f"The team's store refused the request ({status}).")


__all__ = [
    "AuthExpired", "BadCredentials", "ChainTip", "ClientTooOld", "DeviceRevoked", "Enrolment",
    "EnrolmentRefused", "EventRejected", "Forbidden", "InsecureStoreAddress", "Me",
    "NetworkUnreachable", "PullPage", "PulledEvent", "PushOutcome", "PushResult", "RangeDigest",
    "RateLimited", "StoreClient", "StoreError", "StoreInfo", "StoreTooOld", "SyncError",
    "TeamDevice", "check_address",
]
