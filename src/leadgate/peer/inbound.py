"""Events from a client instance: verified (Standard Webhooks), then recorded once."""

from __future__ import annotations

import json
import logging
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from leadgate.errors import Unauthorized
from leadgate.peer.models import InboundEvent

log = logging.getLogger(__name__)


def verify(secret: str, body: bytes, headers: dict[str, str], source: str) -> dict[str, Any]:
    """The event's payload, or Unauthorized for a bad signature or a timestamp 5+ min off."""
    try:
        payload: dict[str, Any] = Webhook(secret).verify(body, headers)
    except WebhookVerificationError as exc:
        log.warning("refused an event for %s: %s", source, exc)
        raise Unauthorized(f"The event's signature does not verify: {exc}") from exc
    return payload


def record_once(
    session: Session,
    instance_id: int,
    source: str,
    headers: dict[str, str],
    payload: dict[str, Any],
    body: bytes,
) -> bool:
    """Record the event before acting on it; False when this webhook-id was seen before."""
    try:
        with session.begin_nested():
            session.add(
                InboundEvent(
                    instance_id=instance_id,
                    source=source,
                    event_id=headers.get("webhook-id") or "",
                    type=str(payload.get("type")),
                    payload=json.loads(body),
                )
            )
            session.flush()
    except IntegrityError:
        return False
    return True
