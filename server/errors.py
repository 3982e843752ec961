"""The store's refusals: a stable code a client acts on, an HTTP status, a safe message."""

from __future__ import annotations


class StoreError(Exception):
    """Raised anywhere in the store; the API turns it into ``{"error": {...}}``."""

    def __init__(self, status: int, code: str, message: str, *, event_id: str | None = None,
                 index: int | None = None, acknowledgeable: bool = False,
                 retry_after: int | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.event_id = event_id
        self.index = index
        self.acknowledgeable = acknowledgeable
        self.retry_after = retry_after

    def body(self) -> dict[str, object]:
        return {"error": {
            "code": self.code, "message": self.message, "event_id": self.event_id,
            "index": self.index, "acknowledgeable": self.acknowledgeable,
            "retry_after": self.retry_after,
        }}


def unauthorised(message: str = "Sign in again: this device's token is not valid.") -> StoreError:
    return StoreError(401, "token_invalid", message)


def forbidden(code: str, message: str) -> StoreError:
    return StoreError(403, code, message)
