"""Sending webhook messages: signed, retried with backoff and jitter, ended by a 410."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import httpx
from sqlalchemy import select
from standardwebhooks import Webhook

from leadgate.config import get_settings
from leadgate.kit.backoff import delay
from leadgate.webhooks.models import WebhookAttempt, WebhookMessage, WebhookSubscription
from leadgate.worker.app import queue
from leadgate.worker.db import unit_of_work
from leadgate.worker.enqueue import enqueue


def signed_headers(secret: str, msg_id: str, body: str, at: datetime) -> dict[str, str]:
    """Standard Webhooks headers for a body sent at `at`."""
    return {
        "content-type": "application/json",
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": Webhook(secret).sign(msg_id, at, body),
    }


@queue.task(name="leadgate.deliver_webhook", queue="webhooks")
def deliver_webhook(message_id: int) -> str:
    """Send one message once; a retry is a new job scheduled in the same transaction."""
    settings = get_settings()
    with unit_of_work() as session:
        message = session.scalars(
            select(WebhookMessage).where(WebhookMessage.id == message_id).with_for_update()
        ).one_or_none()
        if message is None or message.state != "pending":
            return "nothing to do"
        sub = session.get(WebhookSubscription, message.subscription_id)
        if sub is None or sub.ended_at is not None:
            message.state = "cancelled"
            message.finished_at = datetime.now(UTC)
            return "subscription ended"
        now = datetime.now(UTC)
        started = time.monotonic()
        status: int | None = None
        error: str | None = None
        retry_after: float | None = None
        try:
            response = httpx.post(
                sub.url,
                content=message.body.encode(),
                headers=signed_headers(sub.secret, message.msg_id, message.body, now),
                timeout=settings.outbound_timeout_s,
            )
            status = response.status_code
            if "retry-after" in response.headers:
                try:
                    retry_after = float(response.headers["retry-after"])
                except ValueError:
                    retry_after = None
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"
        message.attempts += 1
        session.add(
            WebhookAttempt(
                message_id=message.id,
                status_code=status,
                error=error,
                duration_ms=int((time.monotonic() - started) * 1000),
            )
        )
        if status is not None and 200 <= status < 300:
            message.state = "delivered"
            message.finished_at = now
            return "delivered"
        if status == 410:
            sub.ended_at = now
            sub.end_reason = "the receiver answered 410 Gone"
            message.state = "cancelled"
            message.finished_at = now
            return "subscription ended by 410"
        message.last_error = error or f"HTTP {status}"
        if message.attempts >= settings.webhook_max_attempts:
            message.state = "dead"
            message.finished_at = now
            return "dead"
        wait = delay(
            message.attempts,
            base=settings.webhook_retry_base_s,
            cap=settings.webhook_retry_cap_s,
            retry_after=retry_after,
        )
        enqueue(
            session,
            deliver_webhook,
            message_id=message.id,
            schedule_in={"seconds": max(1, round(wait))},
        )
        return f"retry in {wait:.1f}s"
