"""The protocol's JSON bodies (pydantic), as served in /openapi.json."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from app.envelope import SignedEvent, unb64


def _plain_text(value: str) -> str:
    # PostgreSQL text cannot hold NUL, and a lone surrogate is not UTF-8: refuse both here
    # so bad input is a 422, never a failure deeper in.
    if "\x00" in value:
        raise ValueError("text may not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError("text must be valid Unicode") from exc
    return value


Text = Annotated[str, AfterValidator(_plain_text)]
Id = Annotated[str, Field(max_length=64), AfterValidator(_plain_text)]
Base64 = Annotated[str, Field(max_length=2_000_000, pattern=r"^[A-Za-z0-9+/]*={0,2}$")]


class Request(BaseModel):
    # Fields a newer client adds are ignored, not refused: an addition that an older store
    # may ignore keeps the protocol version (docs/sync-protocol.md, versioning).
    model_config = ConfigDict(extra="ignore")


class ErrorDetail(BaseModel):
    code: str = Field(description="Stable code a client acts on (docs/sync-protocol.md).")
    message: str = Field(description="Safe text for a person; never record content.")
    event_id: str | None = None
    index: int | None = Field(None, description="Position of the refused event in the batch.")
    acknowledgeable: bool = Field(False, description="The device may push the batch again "
                                  "naming this event in acknowledged_refusals.")
    retry_after: int | None = Field(None, description="Seconds to wait (rate limits).")


class ErrorResponse(BaseModel):
    error: ErrorDetail


class ProtocolInfo(BaseModel):
    current: int
    min_client: int
    envelope_versions: list[int]


class Limits(BaseModel):
    max_batch_events: int
    max_request_bytes: int
    max_payload_bytes: int
    max_pull_limit: int


class InfoResponse(BaseModel):
    service: Literal["sharelog-store"]
    server_version: str
    protocol: ProtocolInfo
    limits: Limits


class EnrolRequest(Request):
    username: Annotated[str, Field(min_length=1, max_length=200), AfterValidator(_plain_text)]
    password: Annotated[str, Field(min_length=1, max_length=1024), AfterValidator(_plain_text)]
    device_id: Annotated[str, Field(min_length=1, max_length=64), AfterValidator(_plain_text)]
    public_key: Annotated[Base64, Field(description="The device's Ed25519 public key, 32 bytes")]
    device_label: Annotated[str, Field(max_length=200), AfterValidator(_plain_text)] = ""
    local_user_id: Id | None = Field(None, description="The vault's local user id, made when "
                                     "it was created; bound to the account once.")
    local_team_id: Id | None = None


class Member(BaseModel):
    user_id: str
    display_name: str
    role: str


class ChainTipOut(BaseModel):
    device_id: str
    user_id: str
    device_seq: int = Field(description="Position of the last event of the chain the store "
                            "holds (stored or refused); 0 before the first.")
    hash: str | None
    signature: str | None
    revoked: bool


class EnrolResponse(BaseModel):
    device_token: str
    user_id: str
    display_name: str
    role: str
    team_id: str
    team_name: str
    organisation: str
    bound_local_user_id: str | None
    tip: ChainTipOut


class MeResponse(BaseModel):
    user_id: str
    display_name: str
    role: str
    team_id: str
    device_id: str
    members: list[Member]
    aliases: dict[str, str] = Field(description="Bound local user ids to account ids.")


class WireEvent(Request):
    event_id: Id
    entity: Id
    kind: Id
    record_id: Id
    entity_id: Id
    team_id: Id
    author_id: Id
    device_id: Id
    device_seq: int = Field(ge=1, le=2**62)
    hlc: Annotated[str, Field(max_length=96), AfterValidator(_plain_text)]
    parents: Annotated[list[Id], Field(max_length=64)]
    schema_version: int = Field(ge=0, le=1000)
    owner_id: Id = ""
    assignee_id: Id = ""
    payload: Base64
    prev_hash: Annotated[Base64, Field(max_length=100)]
    hash: Annotated[Base64, Field(max_length=100)]
    signature: Annotated[Base64, Field(max_length=200)]

    def signed(self) -> SignedEvent:
        return SignedEvent(
            event_id=self.event_id, entity=self.entity, kind=self.kind,
            record_id=self.record_id, entity_id=self.entity_id, team_id=self.team_id,
            author_id=self.author_id, device_id=self.device_id, device_seq=self.device_seq,
            hlc=self.hlc, parents=tuple(self.parents), schema_version=self.schema_version,
            owner_id=self.owner_id, assignee_id=self.assignee_id,
            payload=unb64(self.payload, "payload"), prev_hash=unb64(self.prev_hash, "prev_hash"),
            hash=unb64(self.hash, "hash"), signature=unb64(self.signature, "signature"))


class PushRequest(Request):
    events: list[WireEvent]
    acknowledged_refusals: Annotated[list[Id], Field(max_length=10_000)] = Field(
        default_factory=list, description="Ids of events this device holds in quarantine "
        "after an acknowledgeable refusal: the store records them as refused so the chain "
        "goes on.")


class PushItem(BaseModel):
    event_id: str
    seq: int | None
    status: Literal["stored", "refused"]
    reason: str | None


class PushResponse(BaseModel):
    results: list[PushItem]
    tip: ChainTipOut


class PulledItem(BaseModel):
    seq: int
    author_user_id: str = Field(description="Who the store attributes the event to.")
    event: WireEvent


class PullResponse(BaseModel):
    events: list[PulledItem]
    next_since: int = Field(description="The cursor for the next pull.")
    has_more: bool


class TipsResponse(BaseModel):
    tips: list[ChainTipOut]


class DeviceOut(BaseModel):
    device_id: str
    user_id: str = Field(description="The account the device belongs to.")
    public_key: str = Field(description="base64 of the device's 32-byte Ed25519 public key: "
                            "every event the device signed verifies with it.")
    revoked: bool
    revoked_at: str | None = Field(description="When an administrator revoked it (UTC, ISO "
                                   "8601); the events the store accepted before stay valid.")


class DevicesResponse(BaseModel):
    devices: list[DeviceOut]


class DigestResponse(BaseModel):
    since: int
    upto: int
    count: int
    digest: str = Field(description="base64 SHA-256, see app.envelope.range_digest")
    team_last_seq: int
