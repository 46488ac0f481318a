"""Webhook subscriptions and events: an event is a message row per subscriber, enqueued in the
transaction of the change that caused it."""

from __future__ import annotations

import base64
import json
import secrets
import uuid
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from leadgate.config import Settings
from leadgate.errors import InvalidRequest, NotFound
from leadgate.kit.repository import TenantScope
from leadgate.webhooks import repository, urls
from leadgate.webhooks.models import WebhookMessage, WebhookSubscription
from leadgate.webhooks.schemas import SubscriptionCreate, SubscriptionCreated, SubscriptionOut


def to_out(sub: WebhookSubscription) -> SubscriptionOut:
    """The API view of a subscription (never its secret)."""
    return SubscriptionOut(
        id=sub.id,
        url=sub.url,
        events=sub.events,
        active=sub.ended_at is None,
        end_reason=sub.end_reason,
    )


def subscribe(
    scope: TenantScope, publisher_id: int, body: SubscriptionCreate, settings: Settings
) -> SubscriptionCreated:
    """A new subscription; its URL must lie under an instance URL or an allowed prefix.

    The URL is stored normalised (as it is checked and requested: see `urls.normalised`)."""
    url = urls.normalised(body.url)
    if url is None:
        raise InvalidRequest(
            "The webhook URL is not one that can be called: an http(s) URL without spaces, "
            "control characters, credentials or dot segments.",
            code="webhook_url_not_allowed",
            errors=[{"loc": ["body", "url"], "msg": "not a callable URL", "type": "url_parsing"}],
        )
    if not urls.allowed(url, settings.instance_url, settings.webhook_allow):
        raise InvalidRequest(
            "Webhook URLs must lie under a leadgate instance URL of this deployment "
            f"({settings.instance_url}) or under a prefix in LEADGATE_WEBHOOK_ALLOW.",
            code="webhook_url_not_allowed",
        )
    secret = "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()
    sub = WebhookSubscription(
        publisher_id=publisher_id, url=url, events=sorted(set(body.events)), secret=secret
    )
    scope.add(sub)
    scope.session.flush()
    return SubscriptionCreated(id=sub.id, secret=secret)


def of_publisher(scope: TenantScope, publisher_id: int) -> Sequence[WebhookSubscription]:
    """The publisher's subscriptions, active and ended."""
    return repository.of_publisher(scope, publisher_id)


def unsubscribe(scope: TenantScope, publisher_id: int, sub_id: int) -> None:
    """End a subscription of this publisher now."""
    sub = repository.one_of_publisher(scope, publisher_id, sub_id)
    if sub is None:
        raise NotFound(f"No webhook {sub_id} for this key.", code="webhook_not_found")
    scope.session.delete(sub)
    scope.session.flush()


def _body(event_type: str, data: dict[str, Any], at: datetime) -> str:
    return json.dumps(
        {"type": event_type, "timestamp": at.isoformat(), "data": data}, separators=(",", ":")
    )


def emit_each(
    scope: TenantScope, event_type: str, events: Sequence[tuple[int, dict[str, Any]]]
) -> int:
    """`emit` for many events at once, each (publisher id, data): one statement writes every
    message and enqueues its sending, in the caller's transaction; returns how many."""
    if not events:
        return 0
    from leadgate.webhooks.tasks import deliver_webhook
    from leadgate.worker.enqueue import enqueue_once_sql

    at = datetime.now(UTC)
    rows = [
        {"ord": n, "publisher_id": publisher_id, "body": _body(event_type, data, at)}
        for n, (publisher_id, data) in enumerate(events)
    ]
    sql = (
        repository.EMIT_EACH
        + ", "
        + enqueue_once_sql(
            deliver_webhook,
            "SELECT NULL::text AS queueing_lock, NULL::text AS lock,"
            " jsonb_build_object('message_id', id) AS args FROM messages",
        )
    )
    params = {"events": json.dumps(rows), "type": event_type, "instance_id": scope.instance_id}
    queued = scope.session.connection().exec_driver_sql(sql, params).scalar_one()
    return int(queued)


def emit(
    scope: TenantScope, publisher_ids: Iterable[int], event_type: str, data: dict[str, Any]
) -> list[int]:
    """Queue `event_type` for every active subscription of these publishers that wants it."""
    ids = set(publisher_ids)
    if not ids:
        return []
    subs = repository.active_of(scope, ids)
    from leadgate.webhooks.tasks import deliver_webhook
    from leadgate.worker.enqueue import enqueue

    body = _body(event_type, data, datetime.now(UTC))
    message_ids = []
    for sub in subs:
        if event_type not in sub.events:
            continue
        message = WebhookMessage(
            subscription_id=sub.id, msg_id=f"msg_{uuid.uuid4().hex}", type=event_type, body=body
        )
        scope.add(message)
        scope.session.flush()
        enqueue(scope.session, deliver_webhook, message_id=message.id)
        message_ids.append(message.id)
    return message_ids
