"""The exception tree of leadgate.

Every error a user can cause is a `LeadgateError` carrying an HTTP status and a stable `code`
(the codes are part of the v1 contract). Edges render them: the API as RFC 9457 problem+json,
the CLI as a red line, the UI as a message beside the form.

    LeadgateError
      InvalidRequest        422 invalid_request (and subclasses with their own code)
        UnknownFields       422 unknown_fields
      Unauthorized          401 unauthorized
      NotFound              404 not_found (subclasses: campaign_not_found, job_gone, ...)
      Conflict              409 conflict (subclasses: list_in_use, idempotency_conflict, ...)
      Forbidden             403 forbidden (campaign_paused)
      TooLarge              413 too_large
      UnsupportedMediaType  415 unsupported_media_type
      RateLimited           429 rate_limited
"""

from __future__ import annotations

from typing import Any, ClassVar


class LeadgateError(Exception):
    """Base of every error a caller can cause; carries status, code and extra members."""

    status: ClassVar[int] = 400
    code: ClassVar[str] = "bad_request"
    title: ClassVar[str] = "Bad Request"

    def __init__(self, detail: str, *, code: str | None = None, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        if code is not None:
            self.code = code  # type: ignore[misc]
        self.extra = extra


class InvalidRequest(LeadgateError):
    status = 422
    code = "invalid_request"
    title = "Unprocessable Content"


class UnknownFields(InvalidRequest):
    code = "unknown_fields"


class Unauthorized(LeadgateError):
    status = 401
    code = "unauthorized"
    title = "Unauthorized"


class Forbidden(LeadgateError):
    status = 403
    code = "forbidden"
    title = "Forbidden"


class NotFound(LeadgateError):
    status = 404
    code = "not_found"
    title = "Not Found"


class Conflict(LeadgateError):
    status = 409
    code = "conflict"
    title = "Conflict"


class TooLarge(LeadgateError):
    status = 413
    code = "too_large"
    title = "Content Too Large"


class UnsupportedMediaType(LeadgateError):
    status = 415
    code = "unsupported_media_type"
    title = "Unsupported Media Type"


class RateLimited(LeadgateError):
    status = 429
    code = "rate_limited"
    title = "Too Many Requests"

    def __init__(self, detail: str, *, retry_after: int) -> None:
        super().__init__(detail)
        self.retry_after = retry_after


class BadGateway(LeadgateError):
    status = 502
    code = "bad_gateway"
    title = "Bad Gateway"


class OutcomeUnknown(LeadgateError):
    """The database connection broke while a write was in flight: it may or may not be stored."""

    status = 503
    code = "outcome_unknown"
    title = "Service Unavailable"
