"""Queries on webhook subscriptions and their messages.

The sending task crosses instances on purpose: it reloads its message by id with a bare session
(`lock_message_any_instance`); everything else takes a `TenantScope`.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from leadgate.kit.repository import TenantScope
from leadgate.webhooks.models import WebhookMessage, WebhookSubscription

# One message per (event, active subscription of its publisher that wants the type), for a
# whole batch of events of one instance: the messages' ids go to `MESSAGES` (a CTE) for the
# caller to enqueue in the same statement.
EMIT_EACH = """
WITH ev AS (
    SELECT e.* FROM jsonb_to_recordset(%(events)s::jsonb)
         AS e(ord int, publisher_id bigint, body text)
), messages AS (
    INSERT INTO webhook_messages (instance_id, subscription_id, msg_id, type, body, state, attempts)
    SELECT s.instance_id, s.id, 'msg_' || replace(gen_random_uuid()::text, '-', ''),
           %(type)s, ev.body, 'pending', 0
    FROM ev
    JOIN webhook_subscriptions s
      ON s.instance_id = %(instance_id)s AND s.publisher_id = ev.publisher_id
     AND s.ended_at IS NULL AND s.events ? %(type)s
    ORDER BY ev.ord, s.id
    RETURNING id
)
"""


def of_publisher(scope: TenantScope, publisher_id: int) -> Sequence[WebhookSubscription]:
    """The publisher's subscriptions, active and ended, oldest first."""
    return scope.session.scalars(
        scope.select(WebhookSubscription)
        .where(WebhookSubscription.publisher_id == publisher_id)
        .order_by(WebhookSubscription.id)
    ).all()


def one_of_publisher(
    scope: TenantScope, publisher_id: int, sub_id: int
) -> WebhookSubscription | None:
    """The publisher's subscription with this id, if any."""
    return scope.session.scalars(
        scope.select(WebhookSubscription).where(
            WebhookSubscription.id == sub_id, WebhookSubscription.publisher_id == publisher_id
        )
    ).one_or_none()


def active_of(scope: TenantScope, publisher_ids: Collection[int]) -> Sequence[WebhookSubscription]:
    """The active subscriptions of these publishers."""
    return scope.session.scalars(
        scope.select(WebhookSubscription).where(
            WebhookSubscription.publisher_id.in_(publisher_ids),
            WebhookSubscription.ended_at.is_(None),
        )
    ).all()


def subscription(scope: TenantScope, sub_id: int) -> WebhookSubscription | None:
    """A subscription of this instance, if it still exists."""
    sub = scope.session.get(WebhookSubscription, sub_id)
    return sub if sub is not None and sub.instance_id == scope.instance_id else None


def lock_message_any_instance(session: Session, message_id: int) -> WebhookMessage | None:
    """Cross-instance (the sending task reloads its message by id): the message, locked."""
    return session.scalars(
        select(WebhookMessage).where(WebhookMessage.id == message_id).with_for_update()
    ).one_or_none()


def subscriptions_any_instance(session: Session) -> Sequence[WebhookSubscription]:
    """Cross-instance (re-sealing every stored secret): every subscription."""
    return session.scalars(select(WebhookSubscription)).all()
