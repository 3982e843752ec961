"""The HTTP API (FastAPI). Stateless: everything lives in the database, so any number of
these processes can serve the same devices."""


import base64
import logging
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Annotated, Any, Literal

from fastapi import Depends, FastAPI, Header, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Connection, Engine
from sqlalchemy.exc import IntegrityError
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.envelope import (
    MAX_PAYLOAD_BYTES,
    SUPPORTED_SCHEMA_VERSIONS,
    EnvelopeError,
    SignedEvent,
    b64,
    to_wire,
)
from server import accounts, sync
from server.database import reading, writing
from server.errors import StoreError
from server.models import (
    ChainTipOut,
    DeviceOut,
    DevicesResponse,
    DigestResponse,
    EnrolRequest,
    EnrolResponse,
    ErrorResponse,
    InfoResponse,
    Member,
    MeResponse,
    PullResponse,
    PushRequest,
    PushResponse,
    TipsResponse,
)

log = logging.getLogger("sharelog.store")

SERVER_VERSION = "0.1.0"
PROTOCOL_VERSION = 1
MIN_CLIENT_PROTOCOL = 1
MAX_REQUEST_BYTES = 16 * 1024 * 1024
MAX_SEQ = 2**62
SERVER_POOL_SIZE = 40  # anyio's default thread limit, which FastAPI's sync endpoints share

ASGIApp = Callable[[MutableMapping[str, Any], Callable[[], Awaitable[Any]],
                    Callable[[MutableMapping[str, Any]], Awaitable[None]]], Awaitable[None]]

_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorResponse} for code in (400, 401, 403, 409, 413, 422, 426, 429)}


class BodyLimit:
    """Refuses a request body over ``MAX_REQUEST_BYTES`` with 413 before it is all read."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: MutableMapping[str, Any],
                       receive: Callable[[], Awaitable[Any]],
                       send: Callable[[MutableMapping[str, Any]], Awaitable[None]]) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > MAX_REQUEST_BYTES:
            await _too_large(scope, receive, send)
            return
        seen = 0

        async def limited() -> Any:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > MAX_REQUEST_BYTES:
                raise StoreError(413, "request_too_large", _TOO_LARGE)
            return message

        await self.app(scope, limited, send)


_TOO_LARGE = f"A request may hold at most {MAX_REQUEST_BYTES} bytes: push fewer events."


async def _too_large(scope: MutableMapping[str, Any], receive: Callable[[], Awaitable[Any]],
                     send: Callable[[MutableMapping[str, Any]], Awaitable[None]]) -> None:
    response = JSONResponse(StoreError(413, "request_too_large", _TOO_LARGE).body(),
                            status_code=413)
    await response(scope, receive, send)


def create_app(engine: Engine) -> FastAPI:
    app = FastAPI(title="Sharelog store", version=SERVER_VERSION,
                  description="The team's shared store: see docs/sync-protocol.md.")
    app.add_middleware(BodyLimit)
    bearer = HTTPBearer(auto_error=False, description="The device token from POST /v1/enrol")

    @app.exception_handler(StoreError)
    async def store_error(_request: Request, exc: StoreError) -> JSONResponse:
        headers = {"Retry-After": str(exc.retry_after)} if exc.retry_after else None
        return JSONResponse(exc.body(), status_code=exc.status, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def bad_request(_request: Request, exc: RequestValidationError) -> JSONResponse:
        where = ".".join(str(p) for p in exc.errors()[0].get("loc", ())) if exc.errors() else ""
        error = StoreError(422, "bad_request", f"The request is malformed ({where[:120]}).")
        return JSONResponse(error.body(), status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "bad_request")
        error = StoreError(exc.status_code, code, str(exc.detail)[:200])
        return JSONResponse(error.body(), status_code=exc.status_code)

    # The dependencies are coroutines: they only read headers, and a plain function would
    # be run on the thread pool, a hand-off to a thread and back per dependency per request.
    async def protocol(sharelog_protocol: Annotated[int | None, Header(
            alias="Sharelog-Protocol", ge=0, le=10_000,
            description="The protocol version the client speaks (1 when absent)")] = None,
                 ) -> int:
        version = PROTOCOL_VERSION if sharelog_protocol is None else sharelog_protocol
        if version < MIN_CLIENT_PROTOCOL:
            raise StoreError(426, "client_too_old", "This Sharelog is too old for the team's "
                             "store: update Sharelog.")
        if version > PROTOCOL_VERSION:
            raise StoreError(400, "store_too_old", "The team's store is older than this "
                             "Sharelog: the store must be updated.")
        return version

    async def token(credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
              _version: Annotated[int, Depends(protocol)]) -> str | None:
        """The device token; checked inside each endpoint's own transaction."""
        return credentials.credentials if credentials else None

    Token = Annotated[str | None, Depends(token)]
    Scope = Annotated[Literal["own", "team"] | None, Query(
        description="own: the user's records and those they hold a follow-up on; team: "
        "every record of the team (managers only). Default: team for a manager.")]
    TeamId = Annotated[str | None, Query(max_length=64, description="If given, must be the "
                                         "device's own team.")]

    def check_team(conn: Connection, ctx: accounts.DeviceContext, team_id: str | None) -> None:
        if team_id is not None and team_id != ctx.team_id and team_id not in (
                accounts.local_teams(conn, ctx.team_id, ctx.user_id)):
            raise StoreError(403, "another_team", "A device sees only its own team.")

    @app.get("/v1/info", response_model=InfoResponse, responses=_ERRORS)
    def info() -> InfoResponse:
        """What this store speaks; needs no token. Clients read it before anything else."""
        return InfoResponse.model_validate({
            "service": "sharelog-store", "server_version": SERVER_VERSION,
            "protocol": {"current": PROTOCOL_VERSION, "min_client": MIN_CLIENT_PROTOCOL,
                         "envelope_versions": list(SUPPORTED_SCHEMA_VERSIONS)},
            "limits": {"max_batch_events": sync.MAX_BATCH_EVENTS,
                       "max_request_bytes": MAX_REQUEST_BYTES,
                       "max_payload_bytes": MAX_PAYLOAD_BYTES,
                       "max_pull_limit": sync.MAX_PULL_LIMIT}})

    @app.post("/v1/enrol", response_model=EnrolResponse, responses=_ERRORS)
    def enrol(body: EnrolRequest, request: Request,
              _version: Annotated[int, Depends(protocol)]) -> EnrolResponse:
        """Sign in once and register this device's key; answers a device token."""
        address = request.client.host if request.client else "unknown"
        username = accounts.normalise_username(body.username)
        try:
            public_key = base64.b64decode(body.public_key, validate=True)
        except ValueError as exc:
            raise StoreError(422, "bad_public_key", "The public key is not base64.") from exc
        with writing(engine) as conn:
            accounts.check_rate(conn, username, address)
            attempt = accounts.record_failure(conn, username, address)
            candidate = accounts.find_account(conn, username)
        account = accounts.check_password(candidate, body.password)  # no lock held
        if account is None:
            with writing(engine) as conn:
                accounts.audit(conn, accounts.s.NO_TEAM, "sign_in", outcome="bad_credentials")
            raise StoreError(401, "bad_credentials", "That username and password do not match.")
        with writing(engine) as conn:
            accounts.forget_attempt(conn, attempt)
            accounts.clear_failures(conn, username)
            accounts.audit(conn, account.team_id, "sign_in", user_id=account.user_id,
                           device_id=body.device_id)
        try:
            with writing(engine) as conn:
                result = accounts.enrol(conn, account=account, device_id=body.device_id,
                                        public_key=public_key, label=body.device_label,
                                        local_user_id=body.local_user_id,
                                        local_team_id=body.local_team_id)
        except StoreError as exc:
            with writing(engine) as conn:
                accounts.audit(conn, account.team_id, "enrol", user_id=account.user_id,
                               device_id=body.device_id, outcome=exc.code)
            raise
        return EnrolResponse(
            device_token=result.token, user_id=account.user_id,
            display_name=account.display_name, role=account.role, team_id=account.team_id,
            team_name=result.team_name, organisation=result.organisation,
            bound_local_user_id=result.bound_local_user_id,
            tip=ChainTipOut(device_id=body.device_id, user_id=account.user_id,
                            device_seq=result.tip_seq, hash=_b64(result.tip_hash),
                            signature=_b64(result.tip_signature), revoked=False))

    @app.get("/v1/me", response_model=MeResponse, responses=_ERRORS)
    def me(device_token: Token, team_id: TeamId = None) -> MeResponse:
        """The device's account, its team's members and the team's bound local ids."""
        with reading(engine) as conn:
            ctx = accounts.authenticate(conn, device_token)
            check_team(conn, ctx, team_id)
            members = accounts.team_members(conn, ctx.team_id)
            bound = accounts.aliases(conn, ctx.team_id)
        name, role = next((n, r) for u, n, r in members if u == ctx.user_id)
        return MeResponse(user_id=ctx.user_id, display_name=name, role=role,
                          team_id=ctx.team_id, device_id=ctx.device_id,
                          members=[Member(user_id=u, display_name=n, role=r)
                                   for u, n, r in members if r != accounts.Role.ADMIN],
                          aliases=bound)

    @app.post("/v1/push", response_model=PushResponse, responses=_ERRORS)
    def push(body: PushRequest, device_token: Token) -> JSONResponse:
        """Store a batch of this device's events, all or nothing, idempotent by event id."""
        ctx: accounts.DeviceContext | None = None
        try:
            with writing(engine) as conn:
                # The token is checked first, then the batch's size, then its envelopes:
                # the batch is read before, so its checks' reads go with the token's.
                too_large = len(body.events) > sync.MAX_BATCH_EVENTS
                batch: list[SignedEvent] = []
                malformed: EnvelopeError | None = None
                if not too_large:
                    try:
                        batch = [ev.signed() for ev in body.events]
                    except EnvelopeError as exc:
                        malformed = exc
                ctx, read = sync.open_push(conn, device_token, batch)
                if too_large:
                    raise StoreError(413, "batch_too_large", f"A push may carry at most "
                                     f"{sync.MAX_BATCH_EVENTS} events: send fewer.")
                if malformed is not None:
                    raise StoreError(422, malformed.code, malformed.message) from malformed
                try:
                    results, tip = sync.push(conn, ctx, batch,
                                             set(body.acknowledged_refusals), read)
                except IntegrityError as exc:  # a concurrent push took the same ids first
                    raise StoreError(409, "concurrent_change", "Another device stored the "
                                     "same ids at the same moment: push again.") from exc
        except StoreError as exc:
            if ctx is not None:  # the refusal is audited; the batch was rolled back
                with writing(engine) as conn:
                    accounts.audit(conn, ctx.team_id, "push", user_id=ctx.user_id,
                                   device_id=ctx.device_id, count=0, outcome=exc.code)
            raise
        return JSONResponse({
            "results": [{"event_id": r.event_id, "seq": r.seq, "status": r.status,
                         "reason": r.reason} for r in results],
            "tip": _tip(tip)})

    @app.get("/v1/pull", response_model=PullResponse, responses=_ERRORS)
    def pull(device_token: Token, since: Annotated[int, Query(ge=0, le=MAX_SEQ)] = 0,
             limit: Annotated[int, Query(ge=1, le=sync.MAX_PULL_LIMIT)] = 500,
             scope: Scope = None, team_id: TeamId = None) -> JSONResponse:
        """Events this device may see after the cursor ``since``, oldest first."""
        # The read and its audit row in one transaction (on SQLite a write one from the
        # start: a read that turns into a write can fail against a concurrent push).
        with writing(engine) as conn:
            ctx = accounts.authenticate(conn, device_token, counter=True)
            check_team(conn, ctx, team_id)
            events, upto, more = sync.pull(conn, ctx, since, limit, sync.team_scope(ctx, scope))
            accounts.audit(conn, ctx.team_id, "pull", user_id=ctx.user_id,
                           device_id=ctx.device_id, count=len(events), commit=True)
        return JSONResponse({
            "events": [{"seq": p.seq, "author_user_id": p.author_user_id,
                        "event": to_wire(p.event)} for p in events],
            "next_since": upto, "has_more": more})

    @app.get("/v1/tips", response_model=TipsResponse, responses=_ERRORS)
    def tips(device_token: Token, scope: Scope = None, team_id: TeamId = None) -> TipsResponse:
        """The store's tip of each chain of the user's devices (a manager: of the team's)."""
        with reading(engine) as conn:
            ctx = accounts.authenticate(conn, device_token)
            check_team(conn, ctx, team_id)
            found = sync.tips(conn, ctx, sync.team_scope(ctx, scope))
        return TipsResponse(tips=[ChainTipOut(**_tip(t)) for t in found])

    @app.get("/v1/devices", response_model=DevicesResponse, responses=_ERRORS)
    def devices(device_token: Token, team_id: TeamId = None) -> DevicesResponse:
        """The team's devices and their public keys, to verify pulled events with."""
        with reading(engine) as conn:
            ctx = accounts.authenticate(conn, device_token)
            check_team(conn, ctx, team_id)
            found = accounts.team_devices(conn, ctx.team_id)
        return DevicesResponse(devices=[DeviceOut(
            device_id=d.device_id, user_id=d.user_id, public_key=b64(d.public_key),
            revoked=d.revoked_at is not None, revoked_at=d.revoked_at) for d in found])

    @app.get("/v1/digest", response_model=DigestResponse, responses=_ERRORS)
    def digest(device_token: Token, since: Annotated[int, Query(ge=0, le=MAX_SEQ)] = 0,
               upto: Annotated[int | None, Query(ge=0, le=MAX_SEQ)] = None,
               scope: Scope = None, team_id: TeamId = None) -> DigestResponse:
        """Count and hash of the events this device may see with ``since < seq <= upto``."""
        with reading(engine) as conn:
            ctx = accounts.authenticate(conn, device_token)
            check_team(conn, ctx, team_id)
            whole_team = sync.team_scope(ctx, scope)
            if upto is not None and upto < since:
                raise StoreError(422, "bad_range", "upto must not be below since.")
            end, count, value, last = sync.digest(conn, ctx, since, upto, whole_team)
        return DigestResponse(since=since, upto=end, count=count, digest=b64(value),
                              team_last_seq=last)

    return app


def _b64(value: bytes | None) -> str | None:
    return b64(value) if value is not None else None


def _tip(tip: sync.ChainTip) -> dict[str, Any]:
    return {"device_id": tip.device_id, "user_id": tip.user_id, "device_seq": tip.device_seq,
            "hash": _b64(tip.hash), "signature": _b64(tip.signature), "revoked": tip.revoked}


def application() -> FastAPI:
    """uvicorn's factory (``server.api:application``): the database from the environment."""
    from server.database import make_engine

    # A connection for each thread FastAPI may run endpoints on (anyio's default limit), kept
    # open: no request waits for one, and none is opened and closed under load. (With 10
    # and an overflow of 20, every request past the tenth opened a connection and closed it
    # on return; opening costs PostgreSQL a new process: with 50 devices at once that was
    # half of PostgreSQL's CPU, docs/performance.md.)
    return create_app(make_engine(pool_size=SERVER_POOL_SIZE, max_overflow=0))
