"""Events from a client instance: verified (Standard Webhooks), parsed, then recorded once.

A correctly signed body is still checked for its shape (CONTRACT.md, Events): an object with a
`type` and a `data` object, whose members have the types the contract gives them. Anything else
(not JSON, an array, `data` not an object, nested past the parser's limit, an id that is a
string) is refused with 422 invalid_event, never acted on.
"""

from __future__ import annotations

import logging
from typing import Annotated, Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from leadgate.errors import InvalidRequest, Unauthorized
from leadgate.kit.params import MAX_ID
from leadgate.peer.models import InboundEvent

log = logging.getLogger(__name__)

# What a missing instance, a missing mirror and a missing delivery connection all answer (410):
# the endpoint takes no credentials, so it must not tell strangers which instances exist.
NOTHING_HERE = "Nothing here receives these events (any more)."

Ident = Annotated[int, Field(strict=True, ge=1, le=MAX_ID)]
Version = Annotated[int, Field(strict=True, ge=0, le=MAX_ID)]


class SignedEvent(BaseModel):
    """The body of every event: `{"type": ..., "timestamp": ..., "data": {...}}`."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(min_length=1, max_length=64)
    timestamp: Any = None
    data: dict[str, Any] = Field(default_factory=dict)


class JobEventData(BaseModel):
    """`data` of `job.updated` (versions announced) and `job.deleted`."""

    model_config = ConfigDict(extra="allow")

    campaign_id: Ident | None = None
    job_id: Ident | None = None
    version: Version | None = None
    list_version: Version | None = None


class LeadStatusData(BaseModel):
    """`data` of `lead.status_changed`."""

    model_config = ConfigDict(extra="allow")

    lead_id: Ident
    status: Literal["pending", "valid", "caution", "invalid", "test"]
    reason: str | None = Field(default=None, max_length=2000)
    user: str | None = Field(default=None, max_length=200)


D = TypeVar("D", bound=BaseModel)


def verify(secret: str, body: bytes, headers: dict[str, str], source: str) -> SignedEvent:
    """The event, or Unauthorized for a bad signature or a timestamp 5+ min off, or
    InvalidRequest (invalid_event) for a body that is not an event."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _invalid("The event body is not UTF-8 text.") from exc
    try:
        Webhook(secret).verify(text, headers, json_parse=False)
    except (WebhookVerificationError, ValueError) as exc:  # ValueError: a garbled header
        log.warning("refused an event for %s: %s", source, exc)
        raise Unauthorized(f"The event's signature does not verify: {exc}") from exc
    try:
        return SignedEvent.model_validate_json(text)
    except ValidationError as exc:
        raise _invalid("The event is not an object {type, timestamp, data}", exc) from exc


def data_of(event: SignedEvent, model: type[D]) -> D:
    """The event's `data` as the contract shapes it for its type, or 422 invalid_event."""
    try:
        return model.model_validate(event.data)
    except ValidationError as exc:
        raise _invalid(
            f"The data of the {event.type} event is not as expected", exc, "data"
        ) from exc


def _invalid(what: str, exc: ValidationError | None = None, *prefix: str) -> InvalidRequest:
    if exc is None:
        return InvalidRequest(what, code="invalid_event")
    errors = [
        {"loc": [*prefix, *map(str, e["loc"])], "msg": e["msg"], "type": e["type"]}
        for e in exc.errors()[:5]
    ]
    detail = "; ".join(f"{'.'.join(e['loc']) or 'body'}: {e['msg']}" for e in errors)
    return InvalidRequest(f"{what}: {detail}.", code="invalid_event", errors=errors)


def record_once(
    session: Session,
    instance_id: int,
    source: str,
    headers: dict[str, str],
    event: SignedEvent,
) -> bool:
    """Record the event before acting on it; False when this webhook-id was seen before."""
    try:
        with session.begin_nested():
            session.add(
                InboundEvent(
                    instance_id=instance_id,
                    source=source,
                    event_id=headers.get("webhook-id") or "",
                    type=event.type,
                    payload=event.model_dump(mode="json"),
                )
            )
            session.flush()
    except IntegrityError:
        return False
    return True
