"""Sending webhook messages: signed, retried with backoff and jitter, ended by a 410."""

from __future__ import annotations

import functools
import time
from datetime import UTC, datetime

import httpx
from standardwebhooks import Webhook

from leadgate.config import Settings, get_settings
from leadgate.kit import metrics
from leadgate.kit.http import tls_context
from leadgate.kit.outbound import Action, Kind, Outcome, Policy, next_step, parse_retry_after
from leadgate.kit.repository import TenantScope
from leadgate.webhooks import repository
from leadgate.webhooks.models import WebhookAttempt
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


@functools.cache
def _client() -> httpx.Client:
    """One kept-alive client per worker process for every webhook message (thread-safe)."""
    return httpx.Client(verify=tls_context(), follow_redirects=False)


def webhook_policy(settings: Settings) -> Policy:
    """Standard Webhooks: any answer but a 2xx is tried again; a 410 ends the subscription."""
    return Policy(
        settings.webhook_max_attempts,
        settings.webhook_retry_base_s,
        settings.webhook_retry_cap_s,
        gone_on_410=True,
    )


@queue.task(name="leadgate.deliver_webhook", queue="webhooks")
def deliver_webhook(message_id: int) -> str:
    """Send one message once; a retry is a new job scheduled in the same transaction."""
    settings = get_settings()
    with unit_of_work() as session:
        message = repository.lock_message_any_instance(session, message_id)
        if message is None or message.state != "pending":
            return "nothing to do"
        sub = repository.subscription(
            TenantScope(session, message.instance_id), message.subscription_id
        )
        if sub is None or sub.ended_at is not None:
            message.state = "cancelled"
            message.finished_at = datetime.now(UTC)
            return "subscription ended"
        now = datetime.now(UTC)
        started = time.monotonic()
        status: int | None = None
        error: str | None = None
        retry_after: float | None = None
        callable_url = True
        try:
            response = _client().post(
                sub.url,
                content=message.body.encode(),
                headers=signed_headers(sub.secret, message.msg_id, message.body, now),
                timeout=settings.outbound_timeout_s,
            )
            status = response.status_code
            retry_after = parse_retry_after(response.headers.get("retry-after"), datetime.now(UTC))
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"
        except httpx.InvalidURL as exc:  # stored before URLs were checked as httpx sends them
            error, callable_url = f"the URL cannot be called: {exc}", False
        message.attempts += 1
        session.add(
            WebhookAttempt(
                message_id=message.id,
                status_code=status,
                error=error,
                duration_ms=int((time.monotonic() - started) * 1000),
            )
        )
        policy = webhook_policy(settings)
        outcome = (
            Outcome.of(policy, status, error, retry_after)
            if callable_url
            else Outcome(Kind.PERMANENT, None, error)  # it will never be callable: dead now
        )
        step = next_step(policy, message.attempts, outcome)
        metrics.WEBHOOK_ATTEMPTS.labels(step.action.name.lower()).inc()
        if step.action is Action.DONE:
            message.state = "delivered"
            message.finished_at = now
            return "delivered"
        if step.action is Action.GONE:
            sub.ended_at = now
            sub.end_reason = "the receiver answered 410 Gone"
            message.state = "cancelled"
            message.finished_at = now
            return "subscription ended by 410"
        message.last_error = outcome.reason
        if step.action is Action.DEAD:
            message.state = "dead"
            message.finished_at = now
            return "dead"
        enqueue(
            session,
            deliver_webhook,
            message_id=message.id,
            schedule_in={"seconds": step.schedule_s},
        )
        return f"retry in {step.wait_s:.1f}s"
