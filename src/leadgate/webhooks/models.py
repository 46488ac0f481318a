"""Webhook subscriptions of publishers, the messages sent to them, and every attempt."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from leadgate.db import Base
from leadgate.kit.models import created_at, instance_fk, pk
from leadgate.kit.sealing import SealedText


class WebhookSubscription(Base):
    __tablename__ = "webhook_subscriptions"

    id: Mapped[int] = pk()
    instance_id: Mapped[int] = instance_fk()
    publisher_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("publishers.id", ondelete="CASCADE"), index=True, nullable=False
    )
    url: Mapped[str] = mapped_column(String(2000), nullable=False)
    events: Mapped[list[str]] = mapped_column(JSONB, nullable=False)
    # Kept readable: every message is signed with it (Standard Webhooks HMAC).
    # Sealed at rest (kit.sealing): we must read it back to sign or verify.
    secret: Mapped[str] = mapped_column(SealedText(), nullable=False)
    created_at: Mapped[datetime] = created_at()
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    end_reason: Mapped[str | None] = mapped_column(String(200))


class WebhookMessage(Base):
    """One event for one subscription; `body` is fixed at creation so retries send the same."""

    __tablename__ = "webhook_messages"
    __table_args__ = (Index("ix_webhook_messages_subscription", "subscription_id", "id"),)

    id: Mapped[int] = pk()
    instance_id: Mapped[int] = instance_fk()
    subscription_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("webhook_subscriptions.id", ondelete="CASCADE"), nullable=False
    )
    msg_id: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    type: Mapped[str] = mapped_column(String(64), nullable=False)
    body: Mapped[str] = mapped_column(Text, nullable=False)
    state: Mapped[str] = mapped_column(String(16), nullable=False, default="pending")
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = created_at()
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class WebhookAttempt(Base):
    __tablename__ = "webhook_attempts"

    id: Mapped[int] = pk()
    message_id: Mapped[int] = mapped_column(
        BigInteger,
        ForeignKey("webhook_messages.id", ondelete="CASCADE"),
        index=True,
        nullable=False,
    )
    at: Mapped[datetime] = created_at()
    status_code: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    duration_ms: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    detail: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False, default=dict)
